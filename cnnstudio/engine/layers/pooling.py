"""Pooling: MaxPool2D, AvgPool2D, SumPool2D.

Windows that do not divide the input follow the floor rule: the rows and
columns left over at the bottom and right are dropped.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.kernels import parallel_for, split, split_threads
from cnnstudio.engine.layers.base import Layer, OnnxGraph, OnnxMatch, Shape, require_spatial
from cnnstudio.engine.layers.explaining import floats, fmt, window_at
from cnnstudio.engine.layers.schema import Hyper


class _Pool2D(Layer):
    category = "pool"
    hyperparameters = (
        Hyper("pool_size", "pair", (2, 2), "Window (h x w)", "Height and width of each pooling window.", low=1),
        Hyper("stride", "pair", None, "Stride (h x w)",
              "How far the window moves between outputs; by default the window's own size (no overlap).",
              low=1, optional=True),
    )
    window_field = "pool_size"
    receptive_rule = "window"
    interchangeable = "pool"
    pool_size: tuple[int, int]
    stride: tuple[int, int]

    def _derive(self) -> None:
        if self.stride is None:
            self.stride = self.pool_size

    def output_shape(self, input_shape: Shape) -> Shape:
        c, h, w = require_spatial(self.type_name, input_shape)
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        if h < ph or w < pw:
            raise ShapeError(self.type_name, "window_too_large",
                             f"{ph}x{pw} window does not fit a {h}x{w} input",
                             window=(ph, pw), input_hw=(h, w))
        return (c, (h - ph) // sh + 1, (w - pw) // sw + 1)

    def multiply_adds(self, input_shape: Shape) -> int:
        c, oh, ow = self.output_shape(input_shape)
        return c * oh * ow * self.pool_size[0] * self.pool_size[1]

    def summary(self) -> str:
        ph, pw = self.pool_size
        stride = self.stride[0] if self.stride[0] == self.stride[1] else f"{self.stride[0]}x{self.stride[1]}"
        return f"{ph}x{pw}, stride {stride}"

    # ---- explain ---------------------------------------------------------------
    #: how the window's values combine, in words
    _rule_names = {"max": "max", "avg": "mean", "sum": "sum"}

    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """The window (floor rule: never padding), the chosen (max) or combined values, the rule."""
        c, oy, ox = at
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        rows, cols = window_at(oy * sh, ph), window_at(ox * sw, pw)
        window = x[c, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(y.dtype)
        rule = self._rule_names[self._op]
        values = ", ".join(fmt(v) for v in window.ravel()) if window.size <= 16 else f"{window.size} values"
        out: dict[str, Any] = {"kind": "pooling", "window": floats(window), "rule": rule, "channel": int(c),
                               "rows": rows, "cols": cols}
        if self._op == "max":
            i, j = np.unravel_index(int(np.argmax(window)), window.shape)
            out.update(chosen=[int(i), int(j)], total=float(window.max()),
                       formula=f"max({values}) = {fmt(window.max())}")
        else:
            s = window.sum(dtype=y.dtype)
            total = s * y.dtype.type(1.0 / window.size) if self._op == "avg" else s
            out.update(sum=float(s), total=float(total),
                       formula=(f"({values}) / {window.size} = {fmt(total)}" if self._op == "avg"
                                else f"{values.replace(', ', ' + ')} = {fmt(total)}"))
        return out

    # ---- runtime -----------------------------------------------------------
    # Max and sum over a window are separable: reduce along the height (ph strided
    # views), then along the width (pw views). That costs ph + pw passes instead of
    # ph * pw and never copies windows out; height first because its views keep rows
    # contiguous, so the bigger pass vectorises (forward measured ~20 % faster than width
    # first). For max, each pass records which view won (int8 index), so backward
    # routes every gradient to exactly one input, in two scatter passes. On ties the
    # top row wins within a column, then the leftmost column.
    _op = ""

    def _allocate(self) -> None:
        _, h, w = self.input_shape
        _, oh, ow = self.out_shape
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        self._rows = (oh - 1) * sh + ph   # input rows any window touches (floor rule drops the rest)
        self._cols = (ow - 1) * sw + pw
        # Windows that tile the input exactly let backward assign instead of zero + add.
        self._tiles_w = sw == pw
        self._tiles = self._tiles_w and sh == ph and self._cols == w and self._rows == h

    def _pass(self, a: Any, axis: int, out: Any, arg: Any) -> Any:
        """Reduce ``a`` over one window axis (2: height, 3: width) into ``out``; fill ``arg`` for max."""
        xp = self.xp
        views = list(_views(a, axis, self.pool_size[axis - 2], self.stride[axis - 2], out.shape[axis]))
        if len(views) == 1:
            xp.copyto(out, views[0])
            if arg is not None:
                arg.fill(0)
            return out
        if self._op == "max":
            if arg is not None:
                if arg.dtype.itemsize == 1:   # int8 indices: write the first comparison in place
                    xp.greater(views[1], views[0], out=arg.view(xp.bool_))
                else:   # wider indices (windows >= 128): a bool view would cover the wrong bytes
                    xp.copyto(arg, views[1] > views[0], casting="unsafe")
            xp.maximum(views[0], views[1], out=out)
            for j, v in enumerate(views[2:], start=2):
                if arg is not None:
                    xp.copyto(arg, j, where=v > out)
                xp.maximum(out, v, out=out)
        else:
            xp.add(views[0], views[1], out=out)
            for v in views[2:]:
                out += v
        return out

    def _scatter(self, dst: Any, axis: int, g: Any, arg: Any, assign: bool) -> None:
        """Backward of ``_pass``: send g (output-shaped along ``axis``) to the views of ``dst``."""
        xp = self.xp
        k, s = self.pool_size[axis - 2], self.stride[axis - 2]
        for j, view in enumerate(_views(dst, axis, k, s, g.shape[axis])):
            if arg is None or k == 1:
                if assign:
                    xp.copyto(view, g)
                else:
                    view += g
            elif assign:
                xp.multiply(g, arg == j, out=view)
            else:
                view += g * (arg == j)

    def _channel_spans(self, size: int, channels: int) -> tuple[list[tuple[int, int]], int]:
        """Channel ranges for the engine's threads (one range when small or off NumPy)."""
        n = split_threads(size) if self.xp.__name__ == "numpy" else 1
        return split(channels, n), n

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> (C, N, OH, OW): max, average or sum of each window.

        Large inputs are split by channels over the engine's threads (each writes its own channels).
        """
        xp = self.xp
        c, n, _, _ = x.shape
        _, oh, ow = self.out_shape
        need_arg = training and self._op == "max"
        i8 = xp.int8 if max(self.pool_size) < 128 else xp.int32
        arg_v = self._buffer("arg_v", (c, n, oh, self._cols), dtype=i8) if need_arg else None
        arg_h = self._buffer("arg_h", (c, n, oh, ow), dtype=i8) if need_arg else None
        # Inference touches no shared buffer (see Conv2D.forward).
        mv_shape = (c, n, oh, self._cols)
        mv = self._buffer("mv", mv_shape) if training else xp.empty(mv_shape, dtype=x.dtype)
        y = self._buffer("y", (c, n, oh, ow)) if training else xp.empty((c, n, oh, ow), dtype=x.dtype)

        def work(span: tuple[int, int], slot: int) -> None:
            lo, hi = span
            part = slice(lo, hi)
            self._pass(x[part, :, :, :self._cols], 2, mv[part], None if arg_v is None else arg_v[part])
            self._pass(mv[part], 3, y[part], None if arg_h is None else arg_h[part])
            if self._op == "avg":
                y[part] *= self.dtype.type(1.0 / (self.pool_size[0] * self.pool_size[1]))

        spans, threads = self._channel_spans(x.size, c)
        parallel_for(work, spans, threads)
        if training:
            self._args = (arg_h, arg_v)
        return y

    def backward(self, dy: Any) -> Any:
        """dy: (C, N, OH, OW) -> dx: (C, N, H, W); max sends each gradient to its window's maximum."""
        if not self.need_input_grad:
            return None
        c, h, w = self.input_shape
        n = dy.shape[1]
        if self._op == "avg":
            dy = dy * self.dtype.type(1.0 / (self.pool_size[0] * self.pool_size[1]))
        arg_h, arg_v = self._args if self._op == "max" else (None, None)
        dmv = self._buffer("dmv", (c, n, dy.shape[2], self._cols))
        dx = self._buffer("dx", (c, n, h, w))

        def work(span: tuple[int, int], slot: int) -> None:
            part = slice(*span)
            if not self._tiles_w:
                dmv[part].fill(0)
            self._scatter(dmv[part], 3, dy[part], None if arg_h is None else arg_h[part], assign=self._tiles_w)
            if not self._tiles:
                dx[part].fill(0)
            self._scatter(dx[part, :, :, :self._cols], 2, dmv[part], None if arg_v is None else arg_v[part],
                          assign=self._tiles)

        spans, threads = self._channel_spans(dx.size, c)
        parallel_for(work, spans, threads)
        return dx

    # ---- export ----------------------------------------------------------------
    #: the PyTorch module class and its extra arguments
    _torch_class = ""
    _torch_extra = ""

    def onnx_attrs(self) -> dict[str, Any]:
        # the floor rule and no padding, written out (AveragePool counts no padded cells)
        attrs: dict[str, Any] = {"kernel_shape": list(self.pool_size), "strides": list(self.stride),
                                 "pads": [0, 0, 0, 0], "ceil_mode": 0}
        if self.onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0
        return attrs

    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        return g.node(self.onnx_op, [x], **self.onnx_attrs())

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != cls.onnx_op:
            return None
        a = node.attrs
        kernel = tuple(int(k) for k in a.get("kernel_shape", ()))
        if len(kernel) != 2:
            reader.refuse(node, f"pools over kernel_shape {list(kernel)}; CNN Studio pools 2-D windows")
        stride = tuple(int(s) for s in a.get("strides", [1, 1]))   # ONNX's default stride is 1
        if any(int(p) for p in a.get("pads", [0, 0, 0, 0])) or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            reader.refuse(node, f"pads its input ({a.get('pads') or a.get('auto_pad')}); CNN Studio's pooling "
                          "has no padding (windows that do not fit are dropped)",
                          "remove the pooling padding, or pad with a Conv2D before it")
        if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            reader.refuse(node, f"is dilated ({a['dilations']}); CNN Studio's pooling has no dilation")
        layer = cls(pool_size=kernel, stride=stride)
        if a.get("ceil_mode", 0):
            _, h, w = require_spatial(cls.type_name, reader.input_shape)
            ceil = [-(-(size - k) // s) + 1 for size, k, s in zip((h, w), kernel, stride)]
            if tuple(ceil) != tuple(layer.output_shape(reader.input_shape)[1:]):
                reader.refuse(node, "rounds its output size up (ceil_mode=1); CNN Studio drops the windows that "
                              "do not fit (floor)", "export the model with ceil_mode=False")
        return OnnxMatch(layer, {}, (node,), node.outputs[0])

    def torch_module(self, input_shape: Shape) -> str | None:
        return f"{self._torch_class}(kernel_size={tuple(self.pool_size)}, stride={tuple(self.stride)}{self._torch_extra})"


def _views(a: Any, axis: int, k: int, s: int, out: int) -> Iterator[Any]:
    """The k strided views of ``a`` along ``axis``, view j holding elements j, j+s, ... (out of them)."""
    index = [slice(None)] * a.ndim
    for j in range(k):
        index[axis] = slice(j, j + s * (out - 1) + 1, s)
        yield a[tuple(index)]


class MaxPool2D(_Pool2D):
    type_name = "MaxPool2D"
    description = "Keeps the largest value in each window: shrinks the map, keeps the strongest response."
    _op = "max"

    # ---- export ----------------------------------------------------------------
    onnx_op = "MaxPool"
    _torch_class = "nn.MaxPool2d"


class AvgPool2D(_Pool2D):
    type_name = "AvgPool2D"
    description = "Averages each window: shrinks the map smoothly."
    keeps_linearity = True
    _op = "avg"

    # ---- export ----------------------------------------------------------------
    onnx_op = "AveragePool"
    onnx_substitute_for = ("LpPool",)
    _torch_class = "nn.AvgPool2d"


class SumPool2D(_Pool2D):
    type_name = "SumPool2D"
    description = "Adds up each window (average pooling times the window area)."
    keeps_linearity = True
    _op = "sum"

    # ---- export ----------------------------------------------------------------
    # ONNX has no sum pooling: AveragePool times the window area (and read back from that pair).
    onnx_op = "AveragePool"
    _torch_class = "nn.AvgPool2d"
    _torch_extra = ", divisor_override=1"

    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        avg = g.node("AveragePool", [x], **self.onnx_attrs())
        area = np.array(self.pool_size[0] * self.pool_size[1], dtype=np.float32)
        return g.node("Mul", [avg, g.const("area", area)])

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        match = super().from_onnx(node, reader)
        nxt = reader.only_consumer(node.outputs[0]) if match is not None else None
        if match is None or nxt is None or nxt.op != "Mul":
            return None
        other = [v for v in nxt.inputs if v != node.outputs[0]]
        area = reader.const(other[0]) if len(other) == 1 else None
        assert isinstance(match.layer, _Pool2D)
        pool = match.layer.pool_size
        if area is None or area.size != 1 or abs(float(area.reshape(())) - pool[0] * pool[1]) > 1e-6:
            return None
        return OnnxMatch(match.layer, {}, (node, nxt), nxt.outputs[0])


class GlobalAveragePool2D(Layer):
    """(C, H, W) -> (C,): the mean of each feature map, the usual bridge to the classifier in
    all-convolutional and residual networks (no weights, any input size)."""

    type_name = "GlobalAveragePool2D"
    category = "pool"
    description = "Averages each whole feature map to one number: C maps become a vector of C."
    receptive_rule = "global"
    keeps_linearity = True

    def output_shape(self, input_shape: Shape) -> Shape:
        c, _, _ = require_spatial(self.type_name, input_shape)
        return (c,)

    def multiply_adds(self, input_shape: Shape) -> int:
        c, h, w = require_spatial(self.type_name, input_shape)
        return c * h * w

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Map ``at[0]`` whole and its mean."""
        (c,) = at
        plane = x[c].astype(y.dtype)
        s = plane.sum(dtype=y.dtype)
        total = s / y.dtype.type(plane.size)
        return {"kind": "pooling", "window": floats(plane), "rule": "mean", "channel": int(c),
                "rows": list(range(plane.shape[0])), "cols": list(range(plane.shape[1])),
                "sum": float(s), "total": float(total),
                "formula": f"mean of the {plane.shape[0]}x{plane.shape[1]} map = {fmt(s)} / {plane.size} = {fmt(total)}"}

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> (N, C), the engine's flat layout."""
        c, n, h, w = x.shape
        y = x.reshape(c, n, h * w).mean(axis=2, dtype=x.dtype)
        return self.xp.ascontiguousarray(y.T)

    def backward(self, dy: Any) -> Any:
        """dy: (N, C) -> dx: (C, N, H, W), each cell getting 1/(H*W) of its map's gradient."""
        if not self.need_input_grad:
            return None
        c, h, w = self.input_shape
        n = dy.shape[0]
        dx = self._buffer("dx", (c, n, h, w))
        dx[...] = (dy.T * self.dtype.type(1.0 / (h * w)))[:, :, None, None]
        return dx

    # ---- export ----------------------------------------------------------------
    onnx_substitute_for = ("GlobalMaxPool", "GlobalLpPool")

    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        # (N, C, 1, 1) in ONNX; the engine's output is flat (N, C)
        return g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "GlobalAveragePool":
            return None
        nodes, out = [node], node.outputs[0]
        nxt = reader.only_consumer(out)
        if nxt is not None and reader.flattens(nxt):   # the (N, C, 1, 1) -> (N, C) step that follows
            nodes.append(nxt)
            out = nxt.outputs[0]
        return OnnxMatch(cls(), {}, tuple(nodes), out)

    def torch_module(self, input_shape: Shape) -> str | None:
        return "nn.AdaptiveAvgPool2d(1)"

    def torch_forward(self, attr: str, x: str, input_shape: Shape) -> str:
        return f"torch.flatten(self.{attr}({x}), 1)"
