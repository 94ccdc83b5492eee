"""Plain helpers for a training run in the app (no widgets): setup through the
project session, the run history as plain JSON data, and the network edits that
health fixes make through document commands.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from cnnstudio.engine import health
from cnnstudio.project import session
from cnnstudio.project.run import RunHistory


# ---- setup (delegates to project.session, shared with the CLI) ---------------------------
def prepare_data(config: Any, spec: Any, datasets: tuple[Any, Any] | None = None) -> tuple[Any, Any]:
    """(train, val) Datasets fitted to the network's input (resized; a grayscale/colour
    mismatch raises the data layer's explained error).

    ``datasets`` given: that (train, val) pair; otherwise ``config.dataset`` ("sample", a
    standard name or a path), split with ``config.val_fraction`` unless it comes split.
    """
    source = datasets if datasets is not None else config.dataset
    return session.prepare_data(source, spec, val_fraction=config.val_fraction, seed=config.seed)


def make_trainer(spec: Any, train: Any, val: Any, config: Any, weights: dict | None = None,
                 optimizer_state: dict | None = None) -> Any:
    """The engine Trainer for this run (check_trainable first: a mismatch raises its explained error)."""
    return session.make_trainer(spec, train, val, config, weights=weights, optimizer_state=optimizer_state).trainer


def make_config(**fields: Any) -> Any:
    """A TrainingConfig from the panel's fields (bad values raise TrainingConfigError)."""
    return session.make_config(**fields)


def resumable_optimizer_state(state: Any, config: Any) -> bool:
    """True when the project's saved optimizer state can go on under ``config``: the weights'
    run used the same optimizer kind (another kind's slots would not fit, so it starts fresh)."""
    before = state.history.hyperparameters.get("optimizer")
    return bool(state.optimizer_state) and before == config.optimizer


def planned_steps(trainer: Any) -> int:
    """Batches the trainer will run in all (grows with ``add_epochs``)."""
    return trainer.epochs * trainer.steps_per_epoch


def make_augmenter(config: Any, params: dict | None = None) -> Any:
    """A batch transform fn(x_nchw, rng) -> x: the data layer's Augmenter with ``params`` (from the
    Dataset panel), else with the config's augmentation settings (None while ``augment`` is off)."""
    from cnnstudio.data import Augmenter
    return Augmenter(**params) if params else session.make_augmenter(config)


# ---- config values ---------------------------------------------------------------------------
def with_field(config: Any, name: str, value: Any) -> Any:
    """A copy of ``config`` with one field changed (TrainingConfig is a dataclass)."""
    return None if config is None else dataclasses.replace(config, **{name: value})


def with_epochs(config: Any, epochs: int) -> Any:
    return with_field(config, "epochs", epochs)


def config_dict(config: Any) -> dict:
    return {} if config is None else config.to_dict()


# ---- history (plain JSON data, the project's format) ------------------------------------------
def new_history(config: Any = None, train: Any = None, val: Any = None) -> dict:
    """{epochs: [...], lr_changes: [{epoch, step, lr}], hyperparameters: {...}, dataset: {...}}."""
    return {"epochs": [], "lr_changes": [], "hyperparameters": config_dict(config),
            "dataset": session.dataset_description(train, val) if train is not None else None}


def store_history(state: Any, history: dict, config: Any) -> None:
    """Put the run's history (and its config) where the project file saves it."""
    # hyperparameters stay those the run started with; lr_changes say what changed since.
    record = {**history, "epochs": [_json_epoch(e) for e in history["epochs"]],
              "lr_changes": list(history["lr_changes"])}
    state.set_history(RunHistory.from_dict(record), config)


def _json_epoch(e: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.items()}


def saved_history(state: Any) -> dict | None:
    """The history of the open project, if it has one with epochs."""
    return state.history.to_dict() if state.history.epochs else None


# ---- network edits behind the health fixes ------------------------------------------------
def edit_network(state: Any, fix: health.Fix) -> str:
    """Insert Dropout / replace a ReLU through one undoable document command."""
    import cnnstudio.model as model
    index = int(fix.params["index"])
    spec = state.document.spec
    if fix.action == health.INSERT_DROPOUT:
        rate = float(fix.params.get("rate", 0.5))
        state.document.execute(model.AddLayer(index, model.LayerSpec("Dropout", {"rate": rate})))
        return f"Inserted Dropout {rate:g} before layer {index + 2} Dense. Start training again to use it."
    if fix.action == health.REPLACE_WITH_LEAKY_RELU:
        layers = list(spec.layers)
        layers[index] = model.LayerSpec("LeakyReLU", {"alpha": 0.01})
        state.document.execute(model.ReplaceNetwork(model.NetworkSpec(spec.name, spec.input, layers)))
        return f"Layer {index + 1} is now a LeakyReLU. Start training again to use it."
    return f"Unknown fix {fix.action!r}"
