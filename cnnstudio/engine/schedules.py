"""Learning-rate schedules: constant, step decay, cosine (with optional linear warmup).

``lr_at(step)`` takes the global step (0-based, one per batch). Numbers that depend on
the run (steps per epoch, total steps) are filled in by the Trainer through ``bind``.
``scaled(f)`` is the same schedule with every rate times ``f`` (its shape kept), and
``rescaled_at(schedule, step, lr)`` the one that gives ``lr`` at ``step`` and goes on from
there as before, scaled: a learning rate changed by hand mid-run keeps the cosine going.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from cnnstudio.engine.optimizers import check_lr


@dataclass(frozen=True)
class ConstantSchedule:
    """The same learning rate at every step."""

    lr: float = 0.01

    name = "constant"

    def __post_init__(self) -> None:
        check_lr(self.lr)

    def lr_at(self, step: int) -> float:
        return float(self.lr)

    def bind(self, steps_per_epoch: int, total_steps: int) -> "ConstantSchedule":
        return self

    def scaled(self, factor: float) -> "ConstantSchedule":
        return replace(self, lr=self.lr * factor)

    def get_config(self) -> dict[str, Any]:
        return {"type": self.name, **asdict(self)}


@dataclass(frozen=True)
class StepSchedule:
    """lr * gamma ** (number of completed periods); a period is ``step_size`` epochs or steps.

    ``unit`` is "epoch" or "step"; epochs need ``steps_per_epoch`` (the Trainer binds it).
    """

    lr: float = 0.01
    step_size: int = 10
    gamma: float = 0.1
    unit: str = "epoch"
    steps_per_epoch: int | None = None

    name = "step"

    def __post_init__(self) -> None:
        check_lr(self.lr)
        if int(self.step_size) < 1:
            raise ValueError(f"step schedule: step_size must be a whole number >= 1, got {self.step_size!r}")
        if not 0 < float(self.gamma) <= 1:
            raise ValueError(f"step schedule: gamma must be in (0, 1], got {self.gamma!r}")
        if self.unit not in ("epoch", "step"):
            raise ValueError(f"step schedule: unit must be 'epoch' or 'step', got {self.unit!r}")

    def lr_at(self, step: int) -> float:
        period = self.step_size
        if self.unit == "epoch":
            if not self.steps_per_epoch:
                raise ValueError("step schedule: counting in epochs needs steps_per_epoch; "
                                 "let the Trainer bind it or use unit='step'")
            period *= self.steps_per_epoch
        return float(self.lr * self.gamma ** (step // period))

    def bind(self, steps_per_epoch: int, total_steps: int) -> "StepSchedule":
        return self if self.steps_per_epoch else replace(self, steps_per_epoch=int(steps_per_epoch))

    def scaled(self, factor: float) -> "StepSchedule":
        return replace(self, lr=self.lr * factor)

    def get_config(self) -> dict[str, Any]:
        return {"type": self.name, **asdict(self)}


@dataclass(frozen=True)
class CosineSchedule:
    """Linear warmup from lr/warmup_steps to lr, then a half cosine from lr down to ``min_lr``
    at ``total_steps`` (the Trainer binds epochs x steps per epoch); ``min_lr`` after that."""

    lr: float = 0.01
    min_lr: float = 0.0
    warmup_steps: int = 0
    total_steps: int | None = None

    name = "cosine"

    def __post_init__(self) -> None:
        check_lr(self.lr)
        if not 0 <= float(self.min_lr) <= float(self.lr):
            raise ValueError(f"cosine schedule: min_lr must be between 0 and lr ({self.lr}), got {self.min_lr!r}")
        if int(self.warmup_steps) < 0:
            raise ValueError(f"cosine schedule: warmup_steps must be >= 0, got {self.warmup_steps!r}")

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return float(self.lr * (step + 1) / self.warmup_steps)
        if not self.total_steps:
            raise ValueError("cosine schedule: needs total_steps; let the Trainer bind it")
        span = max(self.total_steps - self.warmup_steps, 1)
        t = min((step - self.warmup_steps) / span, 1.0)
        return float(self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * t)))

    def bind(self, steps_per_epoch: int, total_steps: int) -> "CosineSchedule":
        return self if self.total_steps else replace(self, total_steps=int(total_steps))

    def scaled(self, factor: float) -> "CosineSchedule":
        """Warmup and cosine are linear in (lr, min_lr): scaling both scales every step's rate."""
        return replace(self, lr=self.lr * factor, min_lr=self.min_lr * factor)

    def get_config(self) -> dict[str, Any]:
        return {"type": self.name, **asdict(self)}


Schedule = ConstantSchedule | StepSchedule | CosineSchedule
SCHEDULES: dict[str, type[ConstantSchedule] | type[StepSchedule] | type[CosineSchedule]] = {"constant": ConstantSchedule, "step": StepSchedule, "cosine": CosineSchedule}


def rescaled_at(schedule: Schedule, step: int, lr: float) -> Schedule | None:
    """``schedule`` scaled so that it gives ``lr`` at global ``step`` and keeps its shape after
    it (a cosine at 0.004 of its 0.01 peak, set to 0.002, goes on as a cosine of peak 0.005).
    ``schedule`` must be bound (the Trainer's). None when it gives 0 at ``step`` (the end of a
    cosine to 0): no factor reaches ``lr`` from there, so the caller holds ``lr`` constant.
    """
    check_lr(lr)
    now = schedule.lr_at(step)
    if not now > 0:
        return None
    return schedule.scaled(float(lr) / now)


def schedule_from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from ``get_config()``."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in SCHEDULES:
        raise ValueError(f"schedule: unknown type {kind!r}; choose one of {', '.join(SCHEDULES)}")
    try:
        schedule: ConstantSchedule | StepSchedule | CosineSchedule = SCHEDULES[kind](**config)
        return schedule
    except TypeError as exc:
        raise ValueError(f"schedule {kind!r}: bad settings {config!r} ({exc})") from exc
