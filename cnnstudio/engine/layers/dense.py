"""Flatten, Dense and Dropout."""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.layers.base import Layer, Shape, require_flat
from cnnstudio.engine.layers.schema import Hyper


class Flatten(Layer):
    """(C, H, W) -> (C*H*W,), in C, H, W order per sample (PyTorch's order)."""

    type_name = "Flatten"
    category = "reshape"
    description = "Unrolls the feature maps into one long vector for the dense layers."
    receptive_rule = "flatten"
    keeps_linearity = True

    def hints(self, input_shape: Shape) -> list[str]:
        return ["the input is already flat, so this layer does nothing"] if len(input_shape) == 1 else []

    def output_shape(self, input_shape: Shape) -> Shape:
        n = 1
        for s in input_shape:
            n *= int(s)
        return (n,)

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> (N, C*H*W); a flat (N, F) input passes through."""
        if x.ndim == 2:
            return x
        c, n, h, w = x.shape
        # One copy: each sample's features must be contiguous in C, H, W order.
        return self.xp.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(n, c * h * w)

    def backward(self, dy: Any) -> Any:
        """dy: (N, C*H*W) -> (C, N, H, W), contiguous so the next GEMM needs no copy."""
        if not self.need_input_grad:
            return None
        if len(self.input_shape) == 1:
            return dy
        c, h, w = self.input_shape
        n = dy.shape[0]
        return self.xp.ascontiguousarray(dy.reshape(n, c, h, w).transpose(1, 0, 2, 3))


class Dense(Layer):
    """Fully connected: y = x W + b, W of shape (in_features, units)."""

    type_name = "Dense"
    category = "dense"
    description = "Every input connects to every unit (fully connected)."

    hyperparameters = (
        Hyper("units", "int", 10, "Units", "How many outputs; the last Dense layer needs one per class.",
              low=1, high=1_000_000),
        Hyper("use_bias", "bool", True, "Bias", "Add one learned number per unit."),
    )
    receptive_rule = "connect_all"
    affine = True
    units: int
    use_bias: bool

    def output_shape(self, input_shape: Shape) -> Shape:
        require_flat(self.type_name, input_shape)
        return (self.units,)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """W: (in_features, units); b: (units,)."""
        f = require_flat(self.type_name, input_shape)
        shapes: dict[str, Shape] = {"W": (f, self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def multiply_adds(self, input_shape: Shape) -> int:
        return require_flat(self.type_name, input_shape) * self.units

    def summary(self) -> str:
        return f"{self.units} units"

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (N, F) -> (N, units)."""
        y = x @ self.params["W"]
        if self.use_bias:
            y += self.params["b"]
        if training:
            self._x = x
        return y

    def backward(self, dy: Any) -> Any:
        """dy: (N, units) -> dx: (N, F); grads W = x^T dy, b = sum over the batch."""
        xp = self.xp
        xp.matmul(self._x.T, dy, out=self.grads["W"])
        if self.use_bias:
            dy.sum(axis=0, out=self.grads["b"])
        if not self.need_input_grad:
            return None
        return dy @ self.params["W"].T


class Dropout(Layer):
    """During training zeroes each value with probability ``rate`` and scales the rest by 1/(1-rate)."""

    type_name = "Dropout"
    category = "regularization"
    description = "Randomly silences units while training so the network cannot rely on any one."

    #: Pre-drawn uniform numbers for the next training forward (see engine.replicas), else None.
    uniform: Any = None

    hyperparameters = (
        Hyper("rate", "float", 0.5, "Rate", "Share of values set to zero on each training step.",
              low=0.0, high=1.0, high_open=True, step=0.05, decimals=2),
    )
    keeps_linearity = True
    rate: float

    def summary(self) -> str:
        return f"rate {self.rate:g}"

    def forward(self, x: Any, training: bool = False) -> Any:
        """Inverted dropout: the identity when not training, so inference needs no rescale."""
        if not training or self.rate == 0.0:
            return x
        # Draw on the host Generator so a seed gives the same masks on every backend.
        # ``uniform`` (x-shaped, host) is set by engine.replicas: the draws of the whole
        # batch made once, so a share of it gets the numbers a serial step would draw.
        u = self.uniform if self.uniform is not None else self.rng.random(x.shape, dtype=self.dtype)
        keep = u >= self.rate
        scale = keep.astype(self.dtype)
        scale *= self.dtype.type(1.0 / (1.0 - self.rate))
        self._scale = self.xp.asarray(scale)
        return x * self._scale

    def backward(self, dy: Any) -> Any:
        if self.rate == 0.0:
            return dy
        return self.xp.multiply(dy, self._scale, out=dy)
