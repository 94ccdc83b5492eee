"""Plain helpers for a training run in the app (no widgets): setup through the
project session, the run history as plain JSON data, and the network edits that
health fixes make through document commands.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

from cnnstudio.engine import health


# ---- setup (delegates to project.session, shared with the CLI) ---------------------------
def prepare_data(config: Any, spec: Any, datasets: tuple[Any, Any] | None = None) -> tuple[Any, Any]:
    """(train, val) Datasets fitted to the network's input (resized; a grayscale/colour
    mismatch raises the data layer's explained error).

    ``datasets`` given: that (train, val) pair; otherwise ``config.dataset`` ("sample", a
    standard name or a path), split with ``config.val_fraction`` unless it comes split.
    """
    from cnnstudio.project import session
    source = datasets if datasets is not None else getattr(config, "dataset", "sample")
    return session.prepare_data(source, spec, val_fraction=float(getattr(config, "val_fraction", 0.1)),
                                seed=int(getattr(config, "seed", 0)))


def make_trainer(spec: Any, train: Any, val: Any, config: Any, weights: dict | None = None,
                 optimizer_state: dict | None = None) -> Any:
    """The engine Trainer for this run (check_trainable first: a mismatch raises its explained error)."""
    from cnnstudio.project import session
    maker = getattr(session, "make_trainer", None)
    if maker is None:
        return _fallback_trainer(spec, train, val, config, weights)
    run = maker(spec, train, val, config, weights=weights, optimizer_state=optimizer_state)
    return getattr(run, "trainer", run)  # session wraps the engine Trainer in a TrainingRun


def _fallback_trainer(spec: Any, train: Any, val: Any, config: Any, weights: dict | None) -> Any:
    # Only until project.session.make_trainer lands: the same steps, without augmentation/schedules.
    from cnnstudio.data import to_float_nchw
    from cnnstudio.engine.layers import LAYER_TYPES
    from cnnstudio.engine.network import Network
    from cnnstudio.engine.optimizers import SGD, Adam
    from cnnstudio.engine.trainer import Trainer
    from cnnstudio.model import check_trainable
    check_trainable(spec, train.num_classes, train.image_shape).raise_if_problem()
    h, w, c = _input_hwc(spec)
    net = Network([LAYER_TYPES[l.type].from_config(l.config) for l in spec.layers], (c, h, w),
                  seed=int(getattr(config, "seed", 0)))
    if weights:
        net.set_weights(weights)
    wd = float(getattr(config, "weight_decay", 0.0))
    opt = (Adam(weight_decay=wd) if getattr(config, "optimizer", "adam") == "adam"
           else SGD(momentum=float(getattr(config, "momentum", 0.9)), weight_decay=wd))
    return Trainer(net, opt, to_float_nchw(train.x), train.y, to_float_nchw(val.x), val.y,
                   batch_size=int(config.batch_size), epochs=int(config.epochs), lr=float(config.lr),
                   seed=int(getattr(config, "seed", 0)))


def _input_hwc(spec: Any) -> tuple[int, int, int]:
    inp = spec.input
    return int(inp.height), int(inp.width), int(inp.channels)


@dataclasses.dataclass
class LocalConfig:
    """Stand-in with TrainingConfig's fields, used only while cnnstudio.model has no TrainingConfig."""

    dataset: str = "sample"
    val_fraction: float = 0.1
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    augment: bool = False
    seed: int = 0
    backend: str = "numpy"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def make_config(**fields: Any) -> Any:
    """A TrainingConfig from the panel's fields (unknown fields for this build are dropped)."""
    try:
        from cnnstudio.model import TrainingConfig
    except ImportError:
        TrainingConfig = LocalConfig
    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    return TrainingConfig(**{k: v for k, v in fields.items() if k in names})


def resumable_optimizer_state(state: Any, config: Any) -> bool:
    """True when the project's saved optimizer state can go on under ``config`` (the same optimizer
    kind; another kind's slots would not fit, so it starts fresh)."""
    saved = getattr(state, "optimizer_state", None)
    before = getattr(state, "training_config", None)
    return bool(saved) and before is not None and \
        getattr(before, "optimizer", None) == getattr(config, "optimizer", None)


def steps_per_epoch(trainer: Any, train: Any, config: Any) -> int:
    n = getattr(trainer, "steps_per_epoch", None)
    if isinstance(n, int) and n > 0:
        return n
    return max(1, math.ceil(len(train.y) / int(getattr(config, "batch_size", 64))))


def planned_steps(trainer: Any, train: Any, config: Any) -> int:
    epochs = int(getattr(trainer, "epochs", None) or getattr(config, "epochs", 1))
    return epochs * steps_per_epoch(trainer, train, config)


def current_lr(trainer: Any, config: Any) -> float:
    lr = getattr(trainer, "lr", None)
    if isinstance(lr, (int, float)):
        return float(lr)
    return float(getattr(config, "lr", 1e-3))


def make_augmenter(config: Any, params: dict | None = None) -> Any:
    """A batch transform fn(x_nchw, rng) -> x from the data layer's Augmenter."""
    from cnnstudio.data import Augmenter
    if params:
        return Augmenter(**params)
    # The config's shift/rotation/scale/noise/flip, where this config has them.
    names = ("shift", "rotation", "scale", "noise", "flip")
    return Augmenter(**{n: getattr(config, n) for n in names if hasattr(config, n)})


# ---- config values ---------------------------------------------------------------------------
def with_field(config: Any, name: str, value: Any) -> Any:
    """A copy of ``config`` with one field changed (TrainingConfig is a dataclass)."""
    if config is None:
        return None
    if dataclasses.is_dataclass(config):
        return dataclasses.replace(config, **{name: value})
    new = copy.copy(config)
    setattr(new, name, value)
    return new


def with_epochs(config: Any, epochs: int) -> Any:
    return with_field(config, "epochs", epochs)


def config_dict(config: Any) -> dict:
    if config is None:
        return {}
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    return dict(vars(config))


# ---- history (plain JSON data, the project's format) ------------------------------------------
def new_history(config: Any = None, train: Any = None, val: Any = None) -> dict:
    """{epochs: [...], lr_changes: [{epoch, step, lr}], hyperparameters: {...}, dataset: {...}}."""
    return {"epochs": [], "lr_changes": [], "hyperparameters": config_dict(config),
            "dataset": describe_dataset(train, val) if train is not None else None}


def describe_dataset(train: Any, val: Any) -> dict:
    return {"name": getattr(train, "name", "?"), "source": getattr(train, "source", ""),
            "num_train": int(len(train.y)), "num_val": int(len(val.y)) if val is not None else 0,
            "image_shape": [int(s) for s in train.x.shape[1:]],
            "classes": [str(c) for c in getattr(train, "class_names", [])]}


def store_history(state: Any, history: dict, config: Any) -> None:
    """Put the run's history (and its config) where the project file saves it."""
    # hyperparameters stay those the run started with; lr_changes say what changed since.
    record = {**history, "epochs": [_json_epoch(e) for e in history["epochs"]],
              "lr_changes": list(history["lr_changes"])}
    setter = getattr(state, "set_history", None)
    if setter is not None:
        setter(record, config)
        return
    state.history = record
    state.training_config = config
    project = getattr(state, "project", None)
    if project is not None:
        if hasattr(project, "history"):
            project.history = record
        if hasattr(project, "training_config") and config is not None:
            project.training_config = config


def _json_epoch(e: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.items()}


def saved_history(state: Any) -> dict | None:
    """The history of the open project, if it has one with epochs."""
    for holder in (state, getattr(state, "project", None)):
        h = getattr(holder, "history", None)
        if isinstance(h, dict) and h.get("epochs"):
            return h
    return None


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
