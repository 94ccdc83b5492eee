"""Per-layer training statistics: what the app's "network health" view shows.

Everything is reduced to Python floats on the device first, so only a few
numbers cross to the host, every ``stats_every`` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer at one training step.

    ``dead_fraction``: for ReLU layers, the fraction of units (channel x position, or feature)
    that output zero for every sample of the batch; None for other layers.
    Norms are over all trainable parameters of the layer; None for layers without any.
    ``update_ratio`` = ||update|| / ||weights before the update||.
    """

    index: int
    layer_type: str
    act_mean: float
    act_std: float
    dead_fraction: float | None = None
    weight_norm: float | None = None
    grad_norm: float | None = None
    update_ratio: float | None = None


def activation_stats(out: Any, internal_batch_axis: int) -> tuple[float, float, float]:
    """(mean, std, dead unit fraction) of one layer output.

    out: internal layout, (C, N, H, W) for images (batch axis 1) or (N, F) (batch axis 0).
    A unit is dead when its maximum over the batch is <= 0.
    """
    mean = float(out.mean())
    std = float(out.std())
    dead = float((out.max(axis=internal_batch_axis) <= 0).mean())
    return mean, std, dead


def norm(arrays: Iterable[Any]) -> float:
    """Euclidean norm of all the arrays taken together."""
    total = 0.0
    for a in arrays:
        total += float((a.astype("float64") ** 2).sum())
    return math.sqrt(total)


def update_ratio(before: list[Any], after: list[Any]) -> float:
    """||after - before|| / ||before||, or 0 when the weights are all zero."""
    w = norm(before)
    u = norm(a - b for a, b in zip(after, before))
    return u / w if w > 0 else 0.0
