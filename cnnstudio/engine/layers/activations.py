"""Element-wise activations: ReLU, LeakyReLU, Sigmoid, Tanh.

Work on any layout (CNHW images or (N, F) vectors); the output has x's shape.
Each keeps only what its backward needs (a mask or its own output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.kernels import map_flat
from cnnstudio.engine.layers.base import Layer, Shape
from cnnstudio.engine.layers.explaining import elementwise
from cnnstudio.engine.layers.schema import Hyper


class ReLU(Layer):
    type_name = "ReLU"
    category = "activation"
    description = "max(0, x): keeps positive evidence, zeroes the rest."

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        return elementwise(x, y, at, "max(0, x)", lambda v: np.maximum(v, 0.0))

    # Large activations are split over the engine's threads (kernels.map_flat): each
    # thread writes its own contiguous piece, so results do not depend on the split.
    def forward(self, x: Any, training: bool = False) -> Any:
        xp = self.xp
        y = self._buffer("y", x.shape, dtype=x.dtype) if training else xp.empty(x.shape, dtype=x.dtype)
        if not training:
            map_flat(lambda a, out: xp.maximum(a, 0, out=out), x, y)
            return y
        mask = self._mask = self._buffer("mask", x.shape, dtype=xp.bool_)

        def relu(a: Any, out: Any, m: Any) -> None:
            xp.maximum(a, 0, out=out)
            xp.greater(out, 0, out=m)

        map_flat(relu, x, y, mask)
        return y

    def backward(self, dy: Any) -> Any:
        # Backward may overwrite dy (see Layer.backward): masking in place saves an
        # allocation the size of the activation on every step.
        map_flat(lambda d, m: self.xp.multiply(d, m, out=d), dy, self._mask)
        return dy

    # ---- export ----------------------------------------------------------------
    onnx_op = "Relu"
    onnx_substitute_for = ("Gelu", "Elu", "Selu", "Celu", "Softplus", "Mish", "HardSwish", "Clip", "ThresholdedRelu")

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.ReLU()"


class LeakyReLU(Layer):
    type_name = "LeakyReLU"
    category = "activation"
    description = "x if x > 0 else alpha * x: like ReLU but units cannot die."

    hyperparameters = (
        Hyper("alpha", "float", 0.01, "Alpha", "Slope for negative inputs (0 makes it a plain ReLU).",
              low=0.0, high=1.0, high_open=True, step=0.01, decimals=3),
    )
    alpha: float

    def summary(self) -> str:
        return f"alpha {self.alpha:g}"

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        return elementwise(x, y, at, f"x if x > 0 else {self.alpha:g} * x", lambda v: np.where(v > 0, v, self.alpha * v))

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = self.xp
        pos = x > 0
        if training:
            self._pos = pos
        return xp.where(pos, x, x * self.dtype.type(self.alpha))

    def backward(self, dy: Any) -> Any:
        return self.xp.where(self._pos, dy, dy * self.dtype.type(self.alpha))

    # ---- export ----------------------------------------------------------------
    onnx_op = "LeakyRelu"
    onnx_substitute_for = ("PRelu",)

    def onnx_attrs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    @classmethod
    def onnx_config(cls, attrs: dict[str, Any]) -> dict[str, Any]:
        return {"alpha": attrs.get("alpha", 0.01)}   # ONNX's default

    def torch_module(self, input_shape: Shape) -> str | None:
        return f"nn.LeakyReLU(negative_slope={self.alpha!r})"


class Sigmoid(Layer):
    type_name = "Sigmoid"
    category = "activation"
    description = "1 / (1 + e^-x): squashes to (0, 1)."

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        return elementwise(x, y, at, "1 / (1 + e^-x)", lambda v: 1.0 / (1.0 + np.exp(-v)))

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = self.xp
        # 0.5 * (1 + tanh(x / 2)) equals the logistic function and never overflows in exp.
        y = xp.tanh(x * self.dtype.type(0.5))
        y += 1
        y *= self.dtype.type(0.5)
        if training:
            self._y = y
        return y

    def backward(self, dy: Any) -> Any:
        y = self._y
        return dy * y * (1 - y)

    # ---- export ----------------------------------------------------------------
    onnx_op = "Sigmoid"
    onnx_substitute_for = ("HardSigmoid",)

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.Sigmoid()"


class Tanh(Layer):
    type_name = "Tanh"
    category = "activation"
    description = "tanh(x): squashes to (-1, 1), centred on zero."

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        return elementwise(x, y, at, "tanh(x)", np.tanh)

    def forward(self, x: Any, training: bool = False) -> Any:
        y = self.xp.tanh(x)
        if training:
            self._y = y
        return y

    def backward(self, dy: Any) -> Any:
        y = self._y
        return dy * (1 - y * y)

    # ---- export ----------------------------------------------------------------
    onnx_op = "Tanh"
    onnx_substitute_for = ("Softsign",)

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.Tanh()"
