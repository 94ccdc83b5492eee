"""Hand-set filters: the classic image-processing kernels, and writing one into a network's weights.

``preset(name, kh, kw)`` gives a (kh, kw) float32 kernel; Sobel, sharpen and Laplacian are
3x3 only (a ValueError says so); identity and box blur fit any size. Kernels are applied as the
engine applies them: cross-correlation, so Sobel x [-1 0 1; -2 0 2; -1 0 1] is large where
the image gets brighter to the right.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

_FIXED = {
    "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def _identity(kh: int, kw: int) -> np.ndarray:
    k = np.zeros((kh, kw), np.float32)
    k[kh // 2, kw // 2] = 1
    return k


def _box(kh: int, kw: int) -> np.ndarray:
    return np.full((kh, kw), 1.0 / (kh * kw), np.float32)


_SIZED: dict[str, Callable[[int, int], np.ndarray]] = {"Identity": _identity, "Box blur": _box}
PRESETS: tuple[str, ...] = ("Identity", "Box blur", "Sharpen", "Sobel x", "Sobel y", "Laplacian")


def preset(name: str, kh: int, kw: int) -> np.ndarray:
    """The preset kernel ``name`` of size (kh, kw), float32."""
    if name in _SIZED:
        return _SIZED[name](kh, kw)
    if name not in _FIXED:
        raise ValueError(f"filter preset {name!r} does not exist; the presets are: {', '.join(PRESETS)}")
    if (kh, kw) != (3, 3):
        raise ValueError(f"the {name} preset is 3x3; this layer's kernel is {kh}x{kw} (use Identity or Box blur, "
                         "or type the weights in)")
    return np.asarray(_FIXED[name], np.float32)


def with_filter(weights: dict[str, np.ndarray], index: int, filter_: int, channel: int,
                kernel: np.ndarray) -> dict[str, np.ndarray]:
    """A copy of ``weights`` with filter ``filter_``'s kernel on input ``channel`` of layer ``index``
    set to ``kernel`` (kh, kw); the other arrays are shared, not copied."""
    key = f"{index}.W"
    if key not in weights or np.ndim(weights[key]) != 4:
        raise ValueError(f"layer {index + 1} has no convolution kernels (no 4-D weight {key!r})")
    w = np.array(weights[key], copy=True)
    f, c, kh, kw = w.shape
    k = np.asarray(kernel, dtype=w.dtype)
    if not (0 <= filter_ < f and 0 <= channel < c):
        raise ValueError(f"layer {index + 1}: filter {filter_} / channel {channel} outside its {f} filters x {c} channels")
    if k.shape != (kh, kw):
        raise ValueError(f"layer {index + 1}: a kernel of {kh}x{kw} is needed, got {k.shape[0]}x{k.shape[1]}")
    w[filter_, channel] = k
    return {**weights, key: w}
