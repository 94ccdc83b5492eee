"""Merge layers: Add and Concatenate, the joins of branching networks (ResNet, Inception).

A merge reads two or more tensors. Its ``input_shape`` is the tuple of their
per-sample shapes, ``forward`` takes a list of arrays (CNHW images or (N, F)
vectors) and ``backward`` returns one gradient per input, each an array of its own
(the branches' backward passes may work on them in place).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.layers.base import Layer, OnnxGraph, OnnxMatch, Shape
from cnnstudio.engine.layers.explaining import floats, fmt, plus_join

Shapes = tuple[Shape, ...]


def _display(shape: Shape) -> str:
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(s) for s in shape)


class _Merge(Layer):
    category = "merge"
    merges = True

    def _shapes(self, input_shape: Any) -> Shapes:
        shapes = tuple(tuple(int(v) for v in s) for s in input_shape)
        if len(shapes) < 2:
            raise ShapeError(self.type_name, "merge_single_input",
                             f"merges two or more inputs, got {len(shapes)}", count=len(shapes))
        return shapes

    def build(self, input_shape: Any, xp: Any, dtype: Any = np.float32,
              rng: np.random.Generator | None = None, init: str = "he") -> "Layer":
        """``input_shape``: the tuple of the inputs' per-sample shapes."""
        shapes = self._shapes(input_shape)
        self.input_shapes = shapes
        self.input_shape = shapes[0]
        self.out_shape = self.output_shape(shapes)  # type: ignore[arg-type]   # merges take a tuple of shapes
        self.xp, self.dtype = xp, np.dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.init = init
        self.params, self.grads, self.state, self._bufs = {}, {}, {}, {}
        return self


class Add(_Merge):
    """Element-wise sum of inputs of one shape: the residual connection y = F(x) + x."""

    type_name = "Add"
    description = "Adds its inputs element by element (they must have the same shape): a skip connection."

    def output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        for j, s in enumerate(shapes[1:], start=1):
            if s != shapes[0]:
                raise ShapeError(self.type_name, "merge_mismatch",
                                 f"inputs {_display(shapes[0])} and {_display(s)} differ",
                                 shapes=shapes, first=0, other=j)
        return shapes[0]

    def multiply_adds(self, input_shape: Any) -> int:
        shapes = self._shapes(input_shape)
        return int(np.prod(shapes[0])) * (len(shapes) - 1)

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: Any, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """``x``: the inputs (a list); the cell is the sum of the inputs' values at the same place."""
        values = np.array([a[at] for a in x], dtype=y.dtype)
        total = values.sum(dtype=y.dtype)
        return {"kind": "merge", "rule": "sum", "values": floats(values), "sources": [[k, *map(int, at)] for k in range(len(x))],
                "total": float(total), "formula": plus_join(values) + f" = {fmt(total)}"}

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: a list of same-shaped arrays -> their sum."""
        xp = self.xp
        y = self._buffer("y", x[0].shape, dtype=x[0].dtype) if training else xp.empty(x[0].shape, dtype=x[0].dtype)
        xp.add(x[0], x[1], out=y)
        for other in x[2:]:
            y += other
        return y

    def backward(self, dy: Any) -> Any:
        """Each input receives dy itself: one array each, so in-place work downstream stays apart."""
        return [dy] + [dy.copy() for _ in self.input_shapes[1:]]

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: Any, input_shape: Any, weights: dict[str, np.ndarray]) -> str:
        """``x``: the inputs' value names."""
        out: str = x[0]
        for other in x[1:]:
            out = g.node("Add", [out, other])
        return out

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        """Add or Sum of two or more of the network's values (not a constant: that is a bias)."""
        if node.op not in ("Add", "Sum") or len(reader.tensor_inputs(node)) < 2:
            return None
        if len(reader.tensor_inputs(node)) != len([v for v in node.inputs if v]):
            return None
        return OnnxMatch(cls(), {}, (node,), node.outputs[0])

    def torch_forward(self, attr: str, x: str, input_shape: Any) -> str:
        """``x``: the inputs' expressions joined by ", "."""
        return " + ".join(x.split(", "))


class Concatenate(_Merge):
    """Stacks its inputs' channels (images of one height and width) or features (vectors)."""

    type_name = "Concatenate"
    description = "Stacks its inputs' feature maps (same height and width): the join of parallel branches."

    def output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        for j, s in enumerate(shapes[1:], start=1):
            if len(s) != len(shapes[0]) or s[1:] != shapes[0][1:]:
                raise ShapeError(self.type_name, "merge_mismatch",
                                 f"inputs {_display(shapes[0])} and {_display(s)} differ in "
                                 f"{'height and width' if len(s) == len(shapes[0]) else 'kind'}",
                                 shapes=shapes, first=0, other=j)
        return (sum(s[0] for s in shapes),) + shapes[0][1:]

    def _axis(self) -> int:
        return 0 if len(self.input_shapes[0]) == 3 else 1   # CNHW channels, or (N, F) features

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: Any, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """``x``: the inputs (a list); the cell is one input's value, its channel (or feature) shifted."""
        k, start = 0, 0
        while at[0] >= start + x[k].shape[0]:
            start += x[k].shape[0]
            k += 1
        src = (at[0] - start, *at[1:])
        v = x[k][src]
        return {"kind": "merge", "rule": "copy", "values": [float(v)], "sources": [[k, *map(int, src)]],
                "total": float(v), "formula": f"input {k + 1}, {'channel' if len(at) == 3 else 'feature'} {src[0]} "
                                              f"(= {at[0]} - {start}) = {fmt(v)}"}

    def forward(self, x: Any, training: bool = False) -> Any:
        return self.xp.concatenate(list(x), axis=self._axis())

    def backward(self, dy: Any) -> Any:
        axis = self._axis()
        out, start = [], 0
        for shape in self.input_shapes:
            stop = start + shape[0]
            part = dy[start:stop] if axis == 0 else dy[:, start:stop]
            out.append(self.xp.ascontiguousarray(part))
            start = stop
        return out

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: Any, input_shape: Any, weights: dict[str, np.ndarray]) -> str:
        return g.node("Concat", list(x), axis=1)   # NCHW channels, or (N, F) features

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "Concat" or len(reader.tensor_inputs(node)) < 2:
            return None
        if len(reader.tensor_inputs(node)) != len([v for v in node.inputs if v]):
            return None
        if int(node.attrs.get("axis", 0)) != 1:
            reader.refuse(node, f"joins along axis {node.attrs.get('axis')}; CNN Studio's Concatenate stacks "
                          "channels (axis 1)")
        return OnnxMatch(cls(), {}, (node,), node.outputs[0])

    def torch_forward(self, attr: str, x: str, input_shape: Any) -> str:
        return f"torch.cat([{x}], dim=1)"
