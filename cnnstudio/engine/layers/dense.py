"""Flatten, Dense and Dropout."""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.layers.base import Layer, Shape, check_bool, check_float, check_int, require_flat


class Flatten(Layer):
    """(C, H, W) -> (C*H*W,), in C, H, W order per sample (PyTorch's order)."""

    type_name = "Flatten"
    category = "reshape"
    description = "Unrolls the feature maps into one long vector for the dense layers."

    def output_shape(self, input_shape: Shape) -> Shape:
        n = 1
        for s in input_shape:
            n *= int(s)
        return (n,)


class Dense(Layer):
    """Fully connected: y = x W + b, W of shape (in_features, units)."""

    type_name = "Dense"
    category = "dense"
    description = "Every input connects to every unit (fully connected)."

    def __init__(self, units: int = 10, use_bias: bool = True):
        self.units = check_int(self.type_name, "units", units, 1, 1_000_000)
        self.use_bias = check_bool(self.type_name, "use_bias", use_bias)

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "use_bias": self.use_bias}

    def output_shape(self, input_shape: Shape) -> Shape:
        require_flat(self.type_name, input_shape)
        return (self.units,)

    def param_count(self, input_shape: Shape) -> int:
        f = require_flat(self.type_name, input_shape)
        return f * self.units + (self.units if self.use_bias else 0)

    def multiply_adds(self, input_shape: Shape) -> int:
        return require_flat(self.type_name, input_shape) * self.units

    def summary(self) -> str:
        return f"{self.units} units"


class Dropout(Layer):
    """During training zeroes each value with probability ``rate`` and scales the rest by 1/(1-rate)."""

    type_name = "Dropout"
    category = "regularization"
    description = "Randomly silences units while training so the network cannot rely on any one."

    def __init__(self, rate: float = 0.5):
        self.rate = check_float(self.type_name, "rate", rate, 0.0, 1.0, high_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def summary(self) -> str:
        return f"rate {self.rate:g}"
