"""Random augmentation of float image batches (NumPy only): shift, rotation,
scale, gaussian noise, optional horizontal flip.

The geometric part is one random affine map per sample applied by inverse
mapping: every output pixel asks where it comes from in the input and takes a
bilinear blend of the four neighbours (zero outside the image, the background
of MNIST-like data). It is vectorised over the whole batch.
"""

from __future__ import annotations

import numbers

import numpy as np

_FIELDS = ("shift", "rotation", "scale", "noise", "flip")
_CHUNK = 16


def _check(name: str, value, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"Augmenter: {name} must be a number, got {value!r}")
    if value < low or (high is not None and not value < high):   # NaN is refused above
        bound = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"Augmenter: {name} must be {bound}, got {value!r}")
    return float(value)


class Augmenter:
    """Batch transform ``fn(x, rng) -> x`` for the trainer's ``batch_transform`` hook.

    shift: max translation in pixels (uniform in [-shift, shift] per axis);
    rotation: max angle in degrees (uniform in [-rotation, rotation]);
    scale: max relative zoom (factor uniform in [1 - scale, 1 + scale]);
    noise: standard deviation of additive gaussian noise (images are in [0, 1]);
    flip: flip half of the samples horizontally (photos, not digits).
    """

    def __init__(self, shift: float = 2, rotation: float = 10, scale: float = 0.1,
                 noise: float = 0.05, flip: bool = False):
        self.shift = _check("shift", shift, 0)
        self.rotation = _check("rotation", rotation, 0, 180.0001)
        self.scale = _check("scale", scale, 0, 1)
        self.noise = _check("noise", noise, 0)
        if not isinstance(flip, bool):
            raise ValueError(f"Augmenter: flip must be true or false, got {flip!r}")
        self.flip = flip

    def get_config(self) -> dict:
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_config(cls, config: dict) -> "Augmenter":
        unknown = set(config) - set(_FIELDS)
        if unknown:
            raise ValueError(f"Augmenter: unknown setting(s) {sorted(unknown)}; known: {list(_FIELDS)}")
        return cls(**config)

    def __repr__(self) -> str:
        return "Augmenter(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"

    def preview(self, x: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
        """n augmented variants of x (see :func:`preview`): float (n, C, H, W)."""
        return preview(self, x, n, seed)

    @property
    def is_geometric(self) -> bool:
        return bool(self.shift or self.rotation or self.scale)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x: float (N, C, H, W) in [0, 1] -> augmented copy, same shape and dtype."""
        if x.ndim != 4:
            raise ValueError(f"Augmenter expects a batch (N, C, H, W), got shape {x.shape}")
        n = x.shape[0]
        out = self._warp(x, rng) if self.is_geometric else x.copy()
        if self.flip:
            flip = rng.random(n) < 0.5
            out[flip] = out[flip, :, :, ::-1]
        if self.noise:
            out += rng.standard_normal(out.shape, dtype=np.float32).astype(out.dtype, copy=False) * out.dtype.type(self.noise)
            np.clip(out, 0.0, 1.0, out=out)
        return out

    def _warp(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, c, h, w = x.shape
        theta = np.deg2rad(rng.uniform(-self.rotation, self.rotation, n))
        s = rng.uniform(1 - self.scale, 1 + self.scale, n)
        t = rng.uniform(-self.shift, self.shift, (n, 2))  # (dy, dx)
        # Inverse map: src = centre + R(-theta) (dst - centre - t) / s.
        cos, sin = np.cos(theta) / s, np.sin(theta) / s
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        gy = np.arange(h, dtype=np.float32)[None, :, None] - cy - t[:, 0, None, None].astype(np.float32)
        gx = np.arange(w, dtype=np.float32)[None, None, :] - cx - t[:, 1, None, None].astype(np.float32)
        cos = cos.astype(np.float32)[:, None, None]
        sin = sin.astype(np.float32)[:, None, None]
        sy = cy + cos * gy - sin * gx      # (n, h, w)
        sx = cx + sin * gy + cos * gx
        # Chunks of 16 samples keep the gather's temporaries in cache: measured 3-4x faster
        # than one pass over a batch of 64 (see benchmarks/bench_augment.py).
        out = np.empty_like(x)
        for i in range(0, n, _CHUNK):
            out[i:i + _CHUNK] = _bilinear(x[i:i + _CHUNK], sy[i:i + _CHUNK], sx[i:i + _CHUNK])
        return out


def _bilinear(x: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """Sample x: (N, C, H, W) at float coords sy, sx: (N, H, W); zero outside.

    A zero border (1 before, 2 after) makes every clipped corner index valid, so the
    four corners are four flat ``np.take`` gathers with no bounds masks.
    """
    n, c, h, w = x.shape
    hp, wp = h + 3, w + 3
    padded = np.zeros((n, c, hp, wp), dtype=x.dtype)
    padded[:, :, 1:h + 1, 1:w + 1] = x
    sy = np.clip(sy, -1, h)
    sx = np.clip(sx, -1, w)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = (sy - y0).astype(x.dtype), (sx - x0).astype(x.dtype)
    base = (y0.astype(np.intp) + 1) * wp + (x0.astype(np.intp) + 1)          # (n, h, w)
    base = base.reshape(n, 1, h * w) + (np.arange(n * c, dtype=np.intp) * (hp * wp)).reshape(n, c, 1)
    flat = padded.reshape(-1)
    fy, fx = fy.reshape(n, 1, h * w), fx.reshape(n, 1, h * w)
    top = np.take(flat, base) * (1 - fx) + np.take(flat, base + 1) * fx
    bot = np.take(flat, base + wp) * (1 - fx) + np.take(flat, base + wp + 1) * fx
    return (top * (1 - fy) + bot * fy).reshape(n, c, h, w)


def preview(augmenter: Augmenter, x: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
    """n augmented variants for a live preview.

    x: one image (C, H, W) -> n variants of it; or a batch (N, C, H, W) -> the first n
    images (cycled), each augmented. Returns float (n, C, H, W); same seed, same result.
    """
    batch = x[None] if x.ndim == 3 else x
    picks = batch[np.arange(n) % batch.shape[0]]
    return augmenter(picks.astype(np.float32, copy=False), np.random.default_rng(seed))
