"""Weight initialisers: He (Kaiming) normal and Glorot (Xavier) uniform.

Random numbers always come from a host NumPy ``Generator`` so that a seed gives
the same weights on every backend; the result is moved to ``xp`` afterwards.

Fans follow the framework convention:
- Dense ``W`` (in_features, units): fan_in = in_features, fan_out = units.
- Conv ``W`` (filters, C_in, kh, kw): fan_in = C_in*kh*kw, fan_out = filters*kh*kw.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

INITIALIZERS = ("he", "glorot")


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a Dense (in, out) or Conv (F, C, kh, kw) weight shape."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        f, c, kh, kw = shape
        return c * kh * kw, f * kh * kw
    raise ValueError(f"initializers: cannot compute fans for a weight of shape {shape}; "
                     "expected (in, out) for Dense or (filters, channels, kh, kw) for Conv2D")


def he_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """N(0, 2/fan_in): keeps the activation variance constant through ReLU layers."""
    fan_in, _ = fans(shape)
    return np.asarray(rng.standard_normal(shape) * np.sqrt(2.0 / fan_in))


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)): balances forward and backward variance."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


_BY_NAME: dict[str, Callable[[tuple[int, ...], np.random.Generator], np.ndarray]] = {
    "he": he_normal,
    "glorot": glorot_uniform,
}


def check_init(name: str) -> str:
    """Return ``name`` if it is a known initialiser, else raise ValueError listing the choices."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown weight initialiser {name!r}; choose one of {', '.join(INITIALIZERS)}")
    return name


def init_weight(name: str, shape: tuple[int, ...], rng: np.random.Generator,
                xp: Any = np, dtype: Any = np.float32) -> Any:
    """A new weight array of ``shape`` drawn by initialiser ``name`` ("he" or "glorot"), on ``xp``."""
    values = _BY_NAME[check_init(name)](tuple(int(s) for s in shape), rng)
    return xp.asarray(values.astype(dtype, copy=False))
