"""Growable NumPy buffers the plots read from (no Qt).

Appending amortises to O(1) by doubling the capacity, so a 100k-point run never
reallocates per point, and ``view()`` hands pyqtgraph a slice without copying.
"""

from __future__ import annotations

import numpy as np


class Series:
    """x/y float64 arrays that grow by doubling. ``x``, ``y``: views of the filled part, shape (n,)."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(max(1, capacity), dtype=np.float64)
        self._y = np.empty(max(1, capacity), dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._grow(2 * len(self._x))
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1

    def extend(self, xs, ys) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        need = self.n + len(xs)
        if need > len(self._x):
            self._grow(max(need, 2 * len(self._x)))
        self._x[self.n:need] = xs
        self._y[self.n:need] = ys
        self.n = need

    def _grow(self, capacity: int) -> None:
        for name in ("_x", "_y"):
            new = np.empty(capacity, dtype=np.float64)
            new[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, new)

    def clear(self) -> None:
        self.n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def __len__(self) -> int:
        return self.n


class EMA:
    """Exponential moving average with bias correction (Adam-style), so early points are not pulled to 0."""

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha
        self.value = 0.0
        self.count = 0

    def update(self, v: float) -> float:
        if not np.isfinite(v):  # a NaN would poison every later point; show the raw value only
            return v
        self.count += 1
        self.value = (1 - self.alpha) * self.value + self.alpha * v
        return self.value / (1 - (1 - self.alpha) ** self.count)

    def reset(self) -> None:
        self.value = 0.0
        self.count = 0
