"""The layer base class and hyperparameter validation helpers.

A layer is one class that says everything about itself: validated
hyperparameters, output shape, parameter count, forward and backward, and a
JSON-safe config (``get_config`` / ``from_config``), in the spirit of Keras 3's
``get_config`` and teenygrad's paired forward/backward.

Shapes here are per sample, without the batch axis: ``(C, H, W)`` for images
and ``(F,)`` for flat vectors.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

from cnnstudio.engine.errors import LayerConfigError, ShapeError

Shape = tuple[int, ...]


def check_int(layer_type: str, field: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise LayerConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LayerConfigError(layer_type, field, value, "a whole number")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise LayerConfigError(layer_type, field, value, bound)
    return value


def check_pair(layer_type: str, field: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """Accept an int or a pair of ints (height, width); return a tuple of two ints."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise LayerConfigError(layer_type, field, value, "one number or a pair (height, width)")
        return (check_int(layer_type, field, value[0], minimum), check_int(layer_type, field, value[1], minimum))
    v = check_int(layer_type, field, value, minimum)
    return (v, v)


def check_float(layer_type: str, field: str, value: Any, low: float, high: float,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float inside the interval or raise LayerConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LayerConfigError(layer_type, field, value, "a number")
    v = float(value)
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if too_low or too_high or v != v:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise LayerConfigError(layer_type, field, value, f"in {left}{low}, {high}{right}")
    return v


def check_bool(layer_type: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise LayerConfigError(layer_type, field, value, "true or false")
    return value


def require_spatial(layer_type: str, input_shape: Shape) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ShapeError(layer_type, "needs_spatial",
                         f"needs an image-shaped input (height x width x channels), got a flat vector of {input_shape[0]}",
                         input_shape=tuple(input_shape))
    c, h, w = (int(s) for s in input_shape)
    return c, h, w


def require_flat(layer_type: str, input_shape: Shape) -> int:
    if len(input_shape) != 1:
        raise ShapeError(layer_type, "needs_flat",
                         "needs a flat vector input, got an image-shaped input "
                         f"{input_shape[1]}x{input_shape[2]}x{input_shape[0]}",
                         input_shape=tuple(input_shape))
    return int(input_shape[0])


class Layer:
    """Base class. Subclasses set ``type_name`` and ``category`` and implement the hooks.

    Construction validates hyperparameters only; nothing is allocated until
    ``build`` is called with the input shape, so shape inference is instant.
    """

    type_name: ClassVar[str] = ""
    #: palette group: "conv", "activation", "pool", "reshape", "dense", "regularization",
    #: "normalization", "output"
    category: ClassVar[str] = ""
    #: short description shown in palettes and tooltips
    description: ClassVar[str] = ""

    # ---- description -------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-safe hyperparameters; ``type(self).from_config(cfg)`` rebuilds an equal layer."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample output shape; raises ShapeError when the input cannot be accepted."""
        return tuple(input_shape)

    def param_count(self, input_shape: Shape) -> int:
        """Number of trainable parameters for this input shape."""
        return 0

    def non_trainable_count(self, input_shape: Shape) -> int:
        """Number of non-trainable values stored with the weights (e.g. running statistics)."""
        return 0

    def multiply_adds(self, input_shape: Shape) -> int:
        """Approximate multiply-accumulate operations per sample (forward pass)."""
        return 0

    def summary(self) -> str:
        """Key hyperparameters in a few words, e.g. ``"8 @ 3x3, stride 1, same"``."""
        return ""

    # ---- runtime -----------------------------------------------------------
    #: The network sets this to False on its first layer: nobody reads that input
    #: gradient, and skipping it saves a GEMM and a col2im per step. ``backward``
    #: then returns None.
    need_input_grad: bool = True

    def build(self, input_shape: Shape, xp: Any, dtype: Any = np.float32,
              rng: np.random.Generator | None = None, init: str = "he") -> "Layer":
        """Allocate ``params``, ``grads`` (same keys, zeros) and ``state`` for ``input_shape``.

        ``input_shape`` is per sample: ``(C, H, W)`` or ``(F,)``. ``xp`` is the array
        module (numpy or cupy); ``rng`` a host NumPy Generator used for the initial
        weights and kept for Dropout masks; ``init`` is "he" or "glorot".
        Returns self so calls chain.
        """
        self.input_shape = tuple(int(s) for s in input_shape)
        self.out_shape = self.output_shape(self.input_shape)
        self.xp = xp
        self.dtype = np.dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.init = init
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self._bufs: dict[str, Any] = {}
        self._allocate()
        for name, value in self.params.items():
            self.grads[name] = xp.zeros_like(value)
        return self

    def _allocate(self) -> None:
        """Hook: fill ``self.params`` and ``self.state`` (grads are made by ``build``)."""

    def _buffer(self, name: str, shape: tuple[int, ...], zero: bool = False, dtype: Any = None) -> Any:
        """A work array kept between calls and reallocated only when ``shape`` changes.

        Reuse matters: fresh multi-megabyte arrays cost page faults on every step.
        ``zero`` fills a new buffer with zeros (for cells the caller never writes).
        """
        buf = self._bufs.get(name)
        dtype = self.dtype if dtype is None else dtype
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            make = self.xp.zeros if zero else self.xp.empty
            buf = self._bufs[name] = make(shape, dtype=dtype)
        return buf

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) for images (CNHW, the engine's layout) or (N, F) -> output.

        With ``training`` the output may be a buffer the layer reuses on its next
        training forward (copy it to keep it). Inference outputs are always fresh and
        inference writes no shared buffer nor any state read by backward, so several
        threads may run inference on one built layer at once.
        """
        raise NotImplementedError(f"{self.type_name} has no forward pass")

    def backward(self, dy: Any) -> Any:
        """dy: gradient of the loss w.r.t. the last forward output -> dx (same shape as x).

        Overwrites ``self.grads``. May overwrite ``dy`` in place (it is a temporary of
        the backward chain); pass a copy if you need it afterwards. The returned dx may
        be an internal buffer, valid until the next backward. Returns None when
        ``need_input_grad`` is False.
        """
        raise NotImplementedError(f"{self.type_name} has no backward pass")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
