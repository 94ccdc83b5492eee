"""Softmax output. Training fuses it with cross-entropy (see engine.losses)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.layers.base import Layer, OnnxMatch, Shape, require_flat
from cnnstudio.engine.layers.explaining import floats, fmt, signed


class Softmax(Layer):
    type_name = "Softmax"
    category = "output"
    description = "Turns scores into class probabilities that sum to 1."
    must_be_last = True
    needs_flat_fix = "insert Flatten and a Dense layer (one unit per class) before it"

    def output_shape(self, input_shape: Shape) -> Shape:
        return (require_flat(self.type_name, input_shape),)

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Logits, e^(logit - max) (the shift changes nothing but keeps e finite), their sum, the probabilities."""
        (k,) = at
        logits = x.astype(y.dtype)
        shift = logits.max()
        exps = np.exp(logits - shift)
        s = exps.sum(dtype=y.dtype)
        total = exps[k] / s
        return {"kind": "softmax", "logits": floats(logits), "shift": float(shift), "exps": floats(exps),
                "sum": float(s), "probabilities": floats(y), "class": int(k), "total": float(total),
                "formula": f"e^({fmt(logits[k])} - {signed(shift)}) / {fmt(s)} = {fmt(exps[k])} / {fmt(s)} = {fmt(total)}"}

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (N, K) scores -> (N, K) probabilities; subtracting the row max keeps exp finite."""
        xp = self.xp
        e = x - x.max(axis=1, keepdims=True)
        xp.exp(e, out=e)
        e /= e.sum(axis=1, keepdims=True)
        if training:
            self._y = e
        return e

    def backward(self, dy: Any) -> Any:
        """Jacobian-vector product: dx = y * (dy - sum(dy * y)). Training uses the fused loss instead."""
        y = self._y
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))

    # ---- export ----------------------------------------------------------------
    onnx_op = "Softmax"

    def onnx_attrs(self) -> dict[str, Any]:
        return {"axis": -1}   # the last axis, written out (opsets before 13 flattened from axis 1)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "Softmax":
            return None
        if len(reader.input_shape) != 1 or node.attrs.get("axis", -1) not in (-1, 1):
            reader.refuse(node, f"normalises axis {node.attrs.get('axis', -1)} of a value of shape "
                          f"{list(reader.input_shape)}; CNN Studio's Softmax ends the network on class scores (N, K)")
        return OnnxMatch(cls(), {}, (node,), node.outputs[0])

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.Softmax(dim=1)"
