"""Element-wise activations: ReLU, LeakyReLU, Sigmoid, Tanh."""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.layers.base import Layer, check_float


class ReLU(Layer):
    type_name = "ReLU"
    category = "activation"
    description = "max(0, x): keeps positive evidence, zeroes the rest."


class LeakyReLU(Layer):
    type_name = "LeakyReLU"
    category = "activation"
    description = "x if x > 0 else alpha * x: like ReLU but units cannot die."

    def __init__(self, alpha: float = 0.01):
        self.alpha = check_float(self.type_name, "alpha", alpha, 0.0, 1.0, low_open=False, high_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def summary(self) -> str:
        return f"alpha {self.alpha:g}"


class Sigmoid(Layer):
    type_name = "Sigmoid"
    category = "activation"
    description = "1 / (1 + e^-x): squashes to (0, 1)."


class Tanh(Layer):
    type_name = "Tanh"
    category = "activation"
    description = "tanh(x): squashes to (-1, 1), centred on zero."
