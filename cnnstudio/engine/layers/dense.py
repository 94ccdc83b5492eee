"""Flatten, Dense and Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.layers.base import Layer, OnnxGraph, OnnxMatch, Shape, require_flat
from cnnstudio.engine.layers.explaining import elementwise, floats, fmt, host, signed
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

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Which channel, row and column element ``at[0]`` came from (C, H, W order)."""
        (i,) = at
        if x.ndim == 1:
            return {"kind": "flatten", "source": [int(i)], "input": float(x[i]), "total": float(x[i]),
                    "formula": f"element {i} = input {i} (already flat) = {fmt(x[i])}"}
        c, h, w = x.shape
        src = tuple(int(v) for v in np.unravel_index(int(i), x.shape))
        return {"kind": "flatten", "source": list(src), "input": float(x[src]), "total": float(x[src]),
                "formula": f"element {i} = channel {src[0]}, row {src[1]}, column {src[2]} "
                           f"({src[0]}*{h * w} + {src[1]}*{w} + {src[2]}) = {fmt(x[src])}"}

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

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        return g.node("Flatten", [x], axis=1)   # NCHW rows in C, H, W order: the engine's

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        # Flatten(axis=1), or the Reshape PyTorch's x.view(x.size(0), -1) ends in (its Shape,
        # Gather, Unsqueeze and Concat are folded by the reader into the Reshape's target)
        return OnnxMatch(cls(), {}, (node,), node.outputs[0]) if reader.flattens(node) else None

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.Flatten()"


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

    # ---- explain ---------------------------------------------------------------
    #: contributions listed, largest magnitude first
    EXPLAIN_TOP = 10

    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Inputs times unit ``at[0]``'s weights, the largest contributions first, their sum, the bias."""
        (j,) = at
        weights = host(self, "W")[:, j].astype(y.dtype)
        bias = host(self, "b")[j].astype(y.dtype) if self.use_bias else y.dtype.type(0)
        products = x.astype(y.dtype) * weights
        s = products.sum(dtype=y.dtype)
        total = s + bias
        order = np.argsort(-np.abs(products), kind="stable")[:self.EXPLAIN_TOP]
        top = [{"index": int(k), "input": float(x[k]), "weight": float(weights[k]), "product": float(products[k])}
               for k in order]
        shown = " + ".join(f"{signed(t['input'])}*{signed(t['weight'])}" for t in top[:3])
        more = f" + {len(products) - 3} more" if len(products) > 3 else ""
        return {"kind": "weighted_sum", "inputs": floats(x), "weights": floats(weights), "products": floats(products),
                "top": top, "sum": float(s), "bias": float(bias), "total": float(total), "unit": int(j),
                "formula": f"{shown}{more} = {fmt(s)}; + bias {signed(bias)} = {fmt(total)}"}

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

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        # PyTorch's layout (units, in) with transB, so Netron reads like a torch.onnx export
        inputs = [x, g.weight("weight", np.ascontiguousarray(weights["W"].T))]
        if self.use_bias:
            inputs.append(g.weight("bias", weights["b"]))
        return g.node("Gemm", inputs, alpha=1.0, beta=1.0, transB=1)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op == "Gemm":
            a = node.attrs
            if a.get("transA", 0):
                reader.refuse(node, "transposes its input (transA=1); CNN Studio's Dense reads (N, features)")
            w = reader.weight(node, 1).astype(np.float32)
            w = (w.T if a.get("transB", 0) else w) * np.float32(a.get("alpha", 1.0))
            b = reader.weight(node, 2) if len(node.inputs) > 2 and node.inputs[2] else None
            if b is not None:
                b = np.broadcast_to(b.astype(np.float32) * np.float32(a.get("beta", 1.0)), (w.shape[1],)).copy()
            return cls._match(node, reader, w, b, (node,), node.outputs[0])
        if node.op == "MatMul" and reader.const(node.inputs[1]) is not None:
            w = reader.weight(node, 1)
            if w.ndim != 2:
                return None
            nxt = reader.only_consumer(node.outputs[0])
            other = [v for v in nxt.inputs if v != node.outputs[0]] if nxt is not None and nxt.op == "Add" else []
            b = reader.const(other[0]) if len(other) == 1 else None
            if b is not None and b.size == w.shape[1]:
                return cls._match(node, reader, w, b.reshape(-1), (node, nxt), nxt.outputs[0])
            return cls._match(node, reader, w, None, (node,), node.outputs[0])
        return None

    @classmethod
    def _match(cls, node: Any, reader: Any, w: np.ndarray, b: np.ndarray | None, nodes: tuple[Any, ...],
               out: str) -> OnnxMatch:
        if len(reader.input_shape) != 1:
            reader.refuse(node, f"multiplies an image-shaped value {list(reader.input_shape)}; CNN Studio's Dense "
                          "reads flat vectors", "flatten the feature maps before it")
        if w.shape[0] != reader.input_shape[0]:
            reader.refuse(node, f"expects {w.shape[0]} inputs but receives {reader.input_shape[0]}")
        arrays = {"W": w} if b is None else {"W": w, "b": b}
        return OnnxMatch(cls(units=int(w.shape[1]), use_bias=b is not None), arrays, nodes, out)

    def torch_module(self, input_shape: Shape) -> str | None:
        return f"nn.Linear({require_flat(self.type_name, input_shape)}, {self.units}, bias={self.use_bias})"

    def torch_tensors(self, weights: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        out = {"weight": np.ascontiguousarray(weights["W"].T)}   # nn.Linear keeps (out, in)
        if self.use_bias:
            out["bias"] = weights["b"]
        return out

    def from_torch_tensors(self, tensors: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        out = {"W": np.ascontiguousarray(tensors["weight"].T)}
        if self.use_bias:
            out["b"] = tensors["bias"]
        return out


class Dropout(Layer):
    """During training zeroes each value with probability ``rate`` and scales the rest by 1/(1-rate)."""

    type_name = "Dropout"
    category = "regularization"
    description = "Randomly silences units while training so the network cannot rely on any one."

    hyperparameters = (
        Hyper("rate", "float", 0.5, "Rate", "Share of values set to zero on each training step.",
              low=0.0, high=1.0, high_open=True, step=0.05, decimals=2),
    )
    keeps_linearity = True
    rate: float

    def summary(self) -> str:
        return f"rate {self.rate:g}"

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Inference: the identity (the Explain view shows the network as it predicts)."""
        keep = 1.0 - self.rate
        return elementwise(x, y, at, "x", lambda v: v,
                           note=f"inference: dropout passes every value through; while training it zeroes each "
                                f"with probability {self.rate:g} and multiplies the rest by 1/{keep:g} = {1 / keep:.4g}")

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

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        return x   # the identity at inference: no node (the exporter keeps its place in the metadata)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "Dropout":
            return None
        rate = node.attrs.get("ratio", 0.5)   # an attribute before opset 12, an input since
        if len(node.inputs) > 1 and node.inputs[1]:
            rate = float(reader.weight(node, 1).reshape(()))
        return OnnxMatch(cls(rate=reader.short_float(rate)), {}, (node,), node.outputs[0])

    def torch_module(self, input_shape: Shape) -> str | None:
        return f"nn.Dropout(p={self.rate!r})"
