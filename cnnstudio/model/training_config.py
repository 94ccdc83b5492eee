"""TrainingConfig: how to train (data, optimizer, schedule, augmentation, seed, backend).

Plain data with a dict round-trip. Every field is checked when it is set (at
construction and on assignment), quoting the bad value; ``validate()`` also checks
the fields that depend on each other. The defaults are tuned for MNIST-like data
(LeNet-5 reaches 97% in 10 epochs on the bundled sample): keep them here only.
Adam, lr 2e-3 with cosine decay, batch 32, no augmentation: lenet5 on the sample's fixed
split ended at 97.6-98.4% validation accuracy over seeds 0-9 (docs/benchmarks.md).
"""

from __future__ import annotations

import difflib
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

from cnnstudio.model.errors import ModelError


class TrainingConfigError(ModelError, ValueError):
    """A training setting has an impossible value. ``field`` and ``value`` say which."""

    def __init__(self, field: str, value: Any, requirement: str, message: str | None = None):
        self.field, self.value, self.requirement = field, value, requirement
        super().__init__(message or f"training config: {field} must be {requirement}, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One training setting declared once: its rule, and how the training form shows it.

    ``kind``: "float" (``low`` < or <= value <= ``high``), "int" (``low`` <= value <= ``high``),
    "choice" (one of ``choices``; ``choice_labels`` are what people read), "bool", "text".
    The form's widgets take their ranges, labels and tooltips from here.
    """

    name: str
    kind: str
    label: str
    help: str
    low: float = 0.0
    high: float = 0.0
    low_open: bool = False
    choices: tuple[str, ...] = ()
    choice_labels: tuple[str, ...] = ()
    decimals: int = 3
    step: float = 1.0

    def check(self, v: Any) -> Any:
        """``v`` normalised, or TrainingConfigError quoting it."""
        name = self.name
        if self.kind == "float":
            req = f"a number {'>' if self.low_open else '>='} {self.low:g} and <= {self.high:g}"
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v != v:
                raise TrainingConfigError(name, v, req)
            f = float(v)
            if (f <= self.low if self.low_open else f < self.low) or f > self.high:
                raise TrainingConfigError(name, v, req)
            return f
        if self.kind == "int":
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not self.low <= int(v) <= self.high:
                raise TrainingConfigError(name, v, f"a whole number from {int(self.low)} to {int(self.high)}")
            return int(v)
        if self.kind == "choice":
            if v not in self.choices:
                raise TrainingConfigError(name, v, "one of " + ", ".join(repr(o) for o in self.choices))
            return v
        if self.kind == "bool":
            if not isinstance(v, bool):
                raise TrainingConfigError(name, v, "true or false")
            return v
        if not isinstance(v, str) or not v.strip():
            raise TrainingConfigError(name, v, "a non-empty string (\"sample\" or a path)")
        return v

    def widget_range(self) -> tuple[float, float]:
        """Closed (minimum, maximum) for a spin box (an open low end moves in by one step of ``decimals``)."""
        low = self.low + 10.0 ** -self.decimals if self.low_open else self.low
        return low, self.high


#: the worker counts offered (strings, as choices are); "auto" is one per core
WORKER_CHOICES = ("auto", "1", "2", "3", "4", "6", "8", "12", "16")


def _settings(*items: Setting) -> dict[str, Setting]:
    return {item.name: item for item in items}


#: every training setting, in the form's order
SETTINGS: dict[str, Setting] = _settings(
    Setting("dataset", "text", "Dataset", "The bundled sample, a standard dataset's name, or a path."),
    Setting("val_fraction", "float", "Validation split",
            "Fraction held out for validation when a dataset comes unsplit (files, folders). "
            "The sample and the standard datasets have fixed splits.", 0.0, 0.9, decimals=2, step=0.05),
    Setting("epochs", "int", "Epochs", "How many times training goes through the whole training set.", 1, 10_000),
    Setting("batch_size", "int", "Batch size", "Images per training step; the gradient is their average.",
            1, 65_536),
    Setting("optimizer", "choice", "Optimizer", "How each step turns gradients into weight changes.",
            choices=("sgd", "adam"), choice_labels=("SGD with momentum", "Adam")),
    Setting("lr", "float", "Learning rate",
            "Size of each step. Can be changed while training runs: it takes effect at the next batch.",
            0.0, 10.0, low_open=True, decimals=6, step=1e-4),
    Setting("momentum", "float", "Momentum", "SGD only: how much of the previous step carries into the next.",
            0.0, 0.999, decimals=3, step=0.01),
    Setting("nesterov", "bool", "Nesterov", "SGD only: look ahead along the momentum before taking the gradient."),
    Setting("weight_decay", "float", "Weight decay", "Pulls weights towards zero a little on every step.",
            0.0, 1.0, decimals=6, step=1e-4),
    Setting("schedule", "choice", "Schedule", "How the learning rate changes over the run.",
            choices=("constant", "step", "cosine"), choice_labels=("constant", "step", "cosine")),
    Setting("step_size", "int", "Step size (epochs)", "Step schedule: epochs between learning-rate drops.",
            1, 10_000),
    Setting("gamma", "float", "Step factor", "Step schedule: the learning rate is multiplied by this at each drop.",
            0.0, 1.0, low_open=True, decimals=3, step=0.05),
    Setting("min_lr", "float", "Final learning rate", "Cosine schedule: the rate at the end of the run.",
            0.0, 10.0, decimals=6, step=1e-4),
    Setting("augment", "bool", "Augment: random shift, small rotation, noise",
            "Can be switched while training runs: it takes effect at the next batch."),
    Setting("shift", "float", "Shift (pixels)", "Largest random translation.", 0.0, 16.0, decimals=1, step=0.5),
    Setting("rotation", "float", "Rotation (degrees)", "Largest random turn.", 0.0, 180.0, decimals=1, step=1.0),
    Setting("scale", "float", "Zoom", "Largest random zoom, as a fraction (0.1 = up to 10%).", 0.0, 0.5,
            decimals=2, step=0.05),
    Setting("noise", "float", "Noise", "Standard deviation of Gaussian noise on [0, 1] pixels.", 0.0, 1.0,
            decimals=2, step=0.01),
    Setting("flip", "bool", "Flip", "Random left-right flips (off for digits: a mirrored 7 is no digit)."),
    Setting("seed", "int", "Seed", "Same seed, same data order, same starting weights: the run repeats.",
            0, 2**32 - 1),
    Setting("backend", "choice", "Backend", "Where the maths runs.", choices=("numpy", "cupy"),
            choice_labels=("NumPy (CPU)", "CuPy (NVIDIA GPU)")),
    Setting("init", "choice", "Initialiser", "How starting weights are drawn.", choices=("he", "glorot")),
    Setting("workers", "choice", "Workers",
            "How many processes share each training step (auto: one per core); it runs in a process of its "
            "own, so the window stays responsive. Networks with BatchNorm or branches split over threads.",
            choices=WORKER_CHOICES, choice_labels=("auto (one per core)",) + WORKER_CHOICES[1:]),
)


@dataclass
class TrainingConfig:
    """Training settings. Units: ``step_size`` in epochs; ``shift`` in pixels (largest random
    translation); ``rotation`` in degrees (largest random turn); ``scale`` as a fraction
    (0.1 = zoom by up to +-10%); ``noise`` as the std of Gaussian noise on [0, 1] pixels;
    ``flip``: random left-right flips (off for digits, whose mirror images are not digits)."""

    dataset: str = "sample"
    val_fraction: float = 0.1
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "cosine"
    step_size: int = 5
    gamma: float = 0.1
    min_lr: float = 0.0
    augment: bool = False
    shift: float = 2.0
    rotation: float = 10.0
    scale: float = 0.1
    noise: float = 0.0
    flip: bool = False
    seed: int = 0
    backend: str = "numpy"
    init: str = "he"
    workers: str = "auto"   # processes per training step: "auto" (one per core) or a count

    def __setattr__(self, name: str, value: Any) -> None:
        setting = SETTINGS.get(name)
        super().__setattr__(name, setting.check(value) if setting else value)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TrainingConfig":
        """Check the settings that depend on each other; returns self."""
        for f in fields(self):  # catches values set around __setattr__ (object.__setattr__)
            SETTINGS[f.name].check(getattr(self, f.name))
        if self.optimizer == "sgd" and self.nesterov and self.momentum == 0:
            raise TrainingConfigError("nesterov", True, "false when momentum is 0 (Nesterov needs momentum)")
        if self.schedule == "cosine" and self.min_lr > self.lr:
            raise TrainingConfigError("min_lr", self.min_lr, f"at most lr ({self.lr:g})")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self.validate())

    @classmethod
    def from_dict(cls, data: Any) -> "TrainingConfig":
        """Missing keys take the defaults; unknown keys and bad values are refused."""
        if not isinstance(data, dict):
            raise TrainingConfigError("training", data, "a JSON object of settings")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                near = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise TrainingConfigError(str(key), data[key], "a known setting",
                                          f"training config: unknown setting {key!r}{hint} "
                                          f"Known settings: {', '.join(known)}")
        return cls(**data)

    def optimizer_config(self) -> dict[str, Any]:
        """Keyword arguments for the engine optimizer named by ``optimizer``."""
        if self.optimizer == "sgd":
            return {"momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.weight_decay}
        return {"weight_decay": self.weight_decay}

    def schedule_config(self) -> dict[str, Any]:
        """``engine.schedules.schedule_from_config`` input for ``schedule``."""
        if self.schedule == "step":
            return {"type": "step", "lr": self.lr, "step_size": self.step_size, "gamma": self.gamma, "unit": "epoch"}
        if self.schedule == "cosine":
            return {"type": "cosine", "lr": self.lr, "min_lr": self.min_lr}
        return {"type": "constant", "lr": self.lr}
