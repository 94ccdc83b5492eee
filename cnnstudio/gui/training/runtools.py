"""Plain helpers for a training run in the app (no widgets): setup through the
project session, settings values, and the network edits that health fixes make
through document commands.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnstudio.data import Augmenter, Dataset
from cnnstudio.engine import health
from cnnstudio.gui.state import AppState
from cnnstudio.model import NetworkSpec, TrainingConfig
from cnnstudio.project import session
from cnnstudio.project.run import RunHistory
from cnnstudio.project.workspace import DatasetPair, Weights


# ---- setup (delegates to project.session, shared with the CLI) ---------------------------
def prepare_data(config: TrainingConfig, spec: NetworkSpec,
                 datasets: DatasetPair | None = None) -> DatasetPair:
    """(train, val) Datasets fitted to the network's input (resized; a grayscale/colour
    mismatch raises the data layer's explained error).

    ``datasets`` given: that (train, val) pair; otherwise ``config.dataset`` ("sample", a
    standard name or a path), split with ``config.val_fraction`` unless it comes split.
    """
    source = datasets if datasets is not None else config.dataset
    return session.prepare_data(source, spec, val_fraction=config.val_fraction, seed=config.seed)


def prepare_run(spec: NetworkSpec, train: Dataset, val: Dataset, config: TrainingConfig,
                weights: Weights | None = None, optimizer_state: Weights | None = None) -> session.TrainingRun:
    """Network, optimizer and engine Trainer for this run (check_trainable first: a mismatch
    raises its explained error)."""
    return session.make_trainer(spec, train, val, config, weights=weights, optimizer_state=optimizer_state)


def make_config(**fields: Any) -> TrainingConfig:
    """A TrainingConfig from the panel's fields (bad values raise TrainingConfigError)."""
    return session.make_config(**fields)


def resumable_optimizer_state(state: AppState, config: TrainingConfig) -> bool:
    """True when the project's saved optimizer state can go on under ``config``: the weights'
    run used the same optimizer kind (another kind's slots would not fit, so it starts fresh)."""
    before = state.history.hyperparameters.get("optimizer")
    return bool(state.optimizer_state) and before == config.optimizer


def make_augmenter(config: TrainingConfig) -> Augmenter | None:
    """The batch transform fn(x_nchw, rng) -> x for the config's augmentation settings (None while
    ``augment`` is off)."""
    return session.make_augmenter(config)


# ---- config values ---------------------------------------------------------------------------
def with_field(config: TrainingConfig, name: str, value: Any) -> TrainingConfig:
    """A copy of ``config`` with one field changed (TrainingConfig is a dataclass; checked)."""
    return dataclasses.replace(config, **{name: value})


def with_fields(config: TrainingConfig, changes: dict[str, Any]) -> TrainingConfig:
    return dataclasses.replace(config, **changes)


def augmentation_of(config: TrainingConfig) -> dict[str, Any]:
    """The Augmenter's settings in a TrainingConfig (shift, rotation, scale, noise, flip)."""
    return {name: getattr(config, name) for name in Augmenter().get_config()}


def with_epochs(config: TrainingConfig, epochs: int) -> TrainingConfig:
    return with_field(config, "epochs", epochs)


def saved_history(state: AppState) -> RunHistory | None:
    """The history of the open project, if it has epochs."""
    return state.history if state.history.epochs else None


# ---- network edits behind the health fixes ------------------------------------------------
def edit_network(state: AppState, fix: health.Fix) -> str:
    """Insert Dropout / replace a ReLU through one undoable document command."""
    import cnnstudio.model as model
    index = int(fix.params["index"])
    spec = state.document.spec
    if fix.action == health.INSERT_DROPOUT:
        rate = float(fix.params.get("rate", 0.5))
        dropout = model.LayerSpec("Dropout", {"rate": rate})
        if spec.layers[index].inputs is None:
            state.document.execute(model.AddLayer(index, dropout))
        else:   # a graph: on the wire into that layer, so nothing is left dangling
            from cnnstudio.model.wire_commands import InsertOnWire
            state.document.execute(InsertOnWire(spec.sources(index)[0], index, dropout))
        return f"Inserted Dropout {rate:g} before layer {index + 2} Dense. Start training again to use it."
    if fix.action == health.REPLACE_WITH_LEAKY_RELU:
        layers = list(spec.layers)
        layers[index] = model.LayerSpec("LeakyReLU", {"alpha": 0.01}, layers[index].inputs)   # same wiring
        state.document.execute(model.ReplaceNetwork(model.NetworkSpec(spec.name, spec.input, layers)))
        return f"Layer {index + 1} is now a LeakyReLU. Start training again to use it."
    return f"Unknown fix {fix.action!r}"
