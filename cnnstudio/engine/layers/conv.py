"""Conv2D: 2-D convolution (cross-correlation, as in every framework)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.im2col import col2im, im2col, make_plan
from cnnstudio.engine.kernels import blas_threads, parallel_for, split, workers
from cnnstudio.engine.layers.base import Layer, OnnxGraph, OnnxMatch, Shape, require_spatial
from cnnstudio.engine.layers.explaining import cut, floats, fmt, host, plus_join, signed, window_at
from cnnstudio.engine.layers.schema import Hyper


def conv_output_size(size: int, kernel: int, stride: int, padding: str | int) -> tuple[int, int, int]:
    """Output length and (pad_before, pad_after) along one axis.

    ``same`` follows TensorFlow: output = ceil(size / stride), the extra pad goes after.
    Returns ``(out, pad_before, pad_after)``; ``out`` may be < 1 (caller reports it).
    """
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    p = 0 if padding == "valid" else int(padding)
    padded = size + 2 * p
    if padded < kernel:
        return 0, p, p
    return (padded - kernel) // stride + 1, p, p


class Conv2D(Layer):
    """``filters`` kernels of ``kernel_size`` slide over the input with ``stride``."""

    type_name = "Conv2D"
    category = "conv"
    description = "Slides learned filters over the image; each filter makes one feature map."
    hyperparameters = (
        Hyper("filters", "int", 8, "Filters", "How many filters slide over the input; each makes one feature map.",
              low=1, high=8192),
        Hyper("kernel_size", "pair", (3, 3), "Kernel (h x w)", "Height and width of each filter's window.", low=1),
        Hyper("stride", "pair", (1, 1), "Stride (h x w)", "How far the window moves between outputs.", low=1),
        Hyper("padding", "padding", "valid", "Padding",
              "'valid': no border; 'same': zeros so the output keeps the input's size (at stride 1); "
              "a number: that many rows and columns of zeros on every side.", low=0, high=64),
        Hyper("use_bias", "bool", True, "Bias", "Add one learned number per filter to its map."),
    )
    window_field = "kernel_size"
    receptive_rule = "window"
    affine = True
    filters: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: str | int
    use_bias: bool

    def padding_amounts(self, input_shape: Shape) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) zero padding for this input."""
        _, h, w = require_spatial(self.type_name, input_shape)
        _, top, bottom = conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding)
        _, left, right = conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding)
        return top, bottom, left, right

    def output_shape(self, input_shape: Shape) -> Shape:
        _, h, w = require_spatial(self.type_name, input_shape)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        oh, _, _ = conv_output_size(h, kh, sh, self.padding)
        ow, _, _ = conv_output_size(w, kw, sw, self.padding)
        if oh < 1 or ow < 1:
            raise ShapeError(self.type_name, "window_too_large",
                             f"{kh}x{kw} kernel does not fit a {h}x{w} input with padding {self.padding!r}",
                             window=(kh, kw), input_hw=(h, w), padding=self.padding)
        return (self.filters, oh, ow)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """W: (filters, C_in, kh, kw); b: (filters,)."""
        c, _, _ = require_spatial(self.type_name, input_shape)
        shapes: dict[str, Shape] = {"W": (self.filters, c, *self.kernel_size)}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes

    def multiply_adds(self, input_shape: Shape) -> int:
        c = require_spatial(self.type_name, input_shape)[0]
        _, oh, ow = self.output_shape(input_shape)
        return oh * ow * self.filters * self.kernel_size[0] * self.kernel_size[1] * c

    def summary(self) -> str:
        kh, kw = self.kernel_size
        stride = self.stride[0] if self.stride[0] == self.stride[1] else f"{self.stride[0]}x{self.stride[1]}"
        pad = self.padding if isinstance(self.padding, str) else f"pad {self.padding}"
        return f"{self.filters} @ {kh}x{kw}, stride {stride}, {pad}"

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Patch of every input channel (zero padding as 0), kernel, products, per-channel sums, bias."""
        f, oy, ox = at
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, _, left, _ = self.padding_amounts(x.shape)
        rows, cols = window_at(oy * sh - top, kh), window_at(ox * sw - left, kw)
        cut_maps = [cut(plane, rows, cols) for plane in x]
        patch = np.stack([p for p, _ in cut_maps]).astype(y.dtype)
        kernel = host(self, "W")[f].astype(y.dtype)
        bias = host(self, "b")[f].astype(y.dtype) if self.use_bias else y.dtype.type(0)
        products = patch * kernel
        sums = products.reshape(len(patch), -1).sum(axis=1, dtype=y.dtype)
        total = sums.sum(dtype=y.dtype) + bias
        terms = plus_join(sums) if len(sums) <= 4 else f"{len(sums)} channel sums"
        return {"kind": "convolution", "patch": floats(patch), "kernel": floats(kernel),
                "products": floats(products), "sum": floats(sums), "bias": float(bias), "total": float(total),
                "padding": floats(cut_maps[0][1]), "rows": rows, "cols": cols, "filter": int(f),
                "stride": [sh, sw],
                "formula": f"sum(patch x kernel) = {terms}; + bias {signed(bias)} = {fmt(total)}"}

    # ---- runtime -----------------------------------------------------------
    def _allocate(self) -> None:
        super()._allocate()
        c, h, w = self.input_shape
        f, oh, ow = self.out_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, _, left, _ = self.padding_amounts(self.input_shape)
        self._plan = make_plan((h, w), (oh, ow), (kh, kw), (sh, sw), (top, left))
        # A 1x1 kernel with stride 1 and no padding is already a GEMM on the input.
        self._pointwise = (kh, kw, sh, sw, top, left, oh, ow) == (1, 1, 1, 1, 0, 0, h, w)
        # Stride 1 with an output as large as the input ("same"): the input gradient is
        # the correlation of dy with the flipped kernel, one im2col + GEMM whose output
        # is the small dx, instead of a GEMM writing kh*kw times more columns plus col2im.
        # Measured: it wins when filters <= channels (its columns have filters*kh*kw rows).
        self._flip_back = (sh, sw) == (1, 1) and (oh, ow) == (h, w) and f <= c and not self._pointwise
        self._cols_whole = False
        self._plan_back = make_plan((oh, ow), (h, w), (kh, kw), (1, 1), (kh - 1 - top, kw - 1 - left))

    #: Columns are built and multiplied a few samples at a time, in a buffer of about
    #: this size, so they are still in cache when the GEMM reads them. Measured on
    #: mini-vgg: 15-25 % faster per convolution than one batch-sized buffer, and the
    #: columns of a mini-vgg batch (58 MB for one layer) are never held in memory.
    CHUNK_BYTES = 2 << 20
    #: With several BLAS threads, or on a GPU, one big GEMM beats many small ones
    #: (2.6x on mini-vgg with two threads), so chunks are only a memory bound.
    CHUNK_BYTES_PARALLEL = 128 << 20
    #: Columns of a whole batch up to this size stay in one chunk: they fit in the
    #: last-level cache and backward reuses them instead of rebuilding them.
    WHOLE_BATCH_BYTES = 8 << 20

    #: A whole batch on several threads is cut into this many ranges per thread (see
    #: engine.replicas.PIECES_PER_THREAD: more, smaller ranges measured slower).
    PIECES_PER_THREAD = 1

    def _chunks(self, n: int, row_bytes: int) -> list[tuple[int, int]]:
        """(start, stop) sample ranges of nearly equal size.

        About CHUNK_BYTES of columns each with one BLAS thread on NumPy, up to
        CHUNK_BYTES_PARALLEL otherwise; one range when the batch fits WHOLE_BATCH_BYTES.
        """
        single = self.xp.__name__ == "numpy" and blas_threads() == 1
        budget = self.CHUNK_BYTES if single else self.CHUNK_BYTES_PARALLEL
        if n * row_bytes <= self.WHOLE_BATCH_BYTES:
            budget = max(budget, n * row_bytes)
        per = max(1, budget // max(1, row_bytes))
        count = -(-n // per)
        size = -(-n // count)
        return [(s, min(n, s + size)) for s in range(0, n, size)]

    def _threads(self) -> int:
        """Threads this layer's loops may use: the engine's workers on NumPy, else 1."""
        return workers() if self.xp.__name__ == "numpy" else 1

    def _cols(self, name: str, m: int, fresh: bool) -> Any:
        """Column buffer (rows, m, OH*OW) for m samples: C*kh*kw im2col rows plus, with a
        bias, one row of ones, so that [W | b] @ cols adds the bias inside the GEMM.

        Zeroed when made: cells that only read padding are never written (see im2col).
        ``fresh`` gives a new array (inference), else a buffer reused between calls.
        """
        c, _, _ = self.input_shape
        _, oh, ow = self.out_shape
        k = c * self.kernel_size[0] * self.kernel_size[1]
        shape = (k + int(self.use_bias), m, oh * ow)
        cols = self._bufs.get(name) if not fresh else None
        if cols is None or cols.shape != shape:
            cols = self.xp.zeros(shape, dtype=self.dtype)
            cols[k:] = 1
            if not fresh:
                self._bufs[name] = cols
        return cols

    def _fill(self, cols: Any, x: Any, lo: int, hi: int, at: int = 0) -> Any:
        """im2col of samples lo:hi of x: (C, N, H, W) into cols from sample slot ``at`` on;
        returns the (rows, m*OH*OW) GEMM operand (a view of cols)."""
        c, _, _ = self.input_shape
        _, oh, ow = self.out_shape
        kh, kw = self.kernel_size
        m = hi - lo
        im2col(x[:, lo:hi], cols[:c * kh * kw, at:at + m].reshape(c, kh, kw, m, oh, ow), self._plan)
        return cols[:, at:at + m].reshape(cols.shape[0], m * oh * ow)

    def _w_aug(self, fresh: bool) -> Any:
        """[W | b]: (filters, C*kh*kw (+1)), matching the rows of ``_cols``; ``fresh`` for inference."""
        f = self.filters
        w2 = self.params["W"].reshape(f, -1)
        if not self.use_bias:
            return w2
        shape = (f, w2.shape[1] + 1)
        w_aug = self.xp.empty(shape, dtype=self.dtype) if fresh else self._buffer("w_aug", shape)
        w_aug[:, :-1] = w2
        w_aug[:, -1] = self.params["b"]
        return w_aug

    def _plan_spans(self, n: int) -> tuple[list[tuple[int, int]], bool]:
        """(sample ranges, whole): ``whole`` when one buffer holds the batch's columns.

        Whole batches are split into one range per thread (each fills its part of the
        shared buffer); otherwise each cache-sized chunk is one piece of work and every
        thread has its own chunk buffer.
        """
        spans = self._chunks(n, self._row_bytes())
        if len(spans) == 1:
            t = self._threads()
            return split(n, t if t == 1 else t * self.PIECES_PER_THREAD), True
        return spans, False

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> y: (filters, N, OH, OW), one im2col + GEMM per range of samples.

        The ranges run on the engine's worker threads (``kernels.compute_threads``), each
        writing its own columns of y. Training output is a reused buffer; inference
        allocates everything it writes, so it may run between a training forward and its
        backward, or in another thread.
        """
        xp = self.xp
        c, n, h, w = x.shape
        f, oh, ow = self.out_shape
        if training:
            self._x = x
        if self._pointwise:
            y = self.params["W"].reshape(f, c) @ x.reshape(c, n * h * w)
            if self.use_bias:
                y += self.params["b"][:, None]
            return y.reshape(f, n, oh, ow)
        y = self._buffer("y", (f, n * oh * ow)) if training else xp.empty((f, n * oh * ow), dtype=self.dtype)
        w_aug = self._w_aug(fresh=not training)
        spans, whole = self._plan_spans(n)
        fresh = not training
        shared = self._cols("cols", n, fresh) if whole else None
        local: dict[int, Any] = {}   # inference: one fresh chunk buffer per thread
        p = oh * ow

        def work(span: tuple[int, int], slot: int) -> None:
            lo, hi = span
            if whole:
                operand = self._fill(shared, x, lo, hi, at=lo)
            else:
                cols = local.get(slot)
                if cols is None:
                    cols = local[slot] = self._cols(f"cols{slot}", spans[0][1], fresh)
                operand = self._fill(cols, x, lo, hi)
            xp.matmul(w_aug, operand, out=y[:, lo * p:hi * p])

        parallel_for(work, spans, self._threads())
        if training:   # the shared buffer still holds the batch's columns at backward time
            self._cols_whole = whole
        return y.reshape(f, n, oh, ow)

    def _row_bytes(self) -> int:
        """Bytes of columns per sample."""
        c, _, _ = self.input_shape
        _, oh, ow = self.out_shape
        return int((c * self.kernel_size[0] * self.kernel_size[1] + 1) * oh * ow * self.dtype.itemsize)

    def backward(self, dy: Any) -> Any:
        """dy: (filters, N, OH, OW) -> dx: (C, N, H, W); grads W (F, C, kh, kw), b (F,).

        Per range of samples (the forward's ranges, spread over the engine's threads): the
        columns (a whole batch reuses the forward's; chunks rebuild theirs, cheaper than
        keeping a batch of them: written and read while in cache), a partial
        [dW | db]^T = cols @ dy^T (faster than dy @ cols^T in OpenBLAS here), and that
        range of dx. The partials are summed afterwards in range order, so the result does
        not depend on which thread ran which range.
        """
        f = self.filters
        c, h, w = self.input_shape
        k = self.params["W"].size // f
        x = self._x
        n = x.shape[1]
        dy2 = dy.reshape(f, -1)
        if self._pointwise:
            return self._backward_pointwise(x, dy2)
        spans, whole = self._plan_spans(n)
        reuse = whole and self._cols_whole
        parts = self._buffer("dw_parts", (len(spans), k + int(self.use_bias), f))
        dx = self._buffer("dx", (c, n, h, w)) if self.need_input_grad else None
        w_flip = self._flipped_weights() if self._flip_back and dx is not None else None
        parallel_for(lambda i, slot: self._backward_range(i, slot, spans, reuse, dy, dx, w_flip),
                     list(range(len(spans))), self._threads())
        dw_t = self._buffer("dw_t", parts.shape[1:])
        dw_t[...] = parts[0]
        for part in parts[1:]:   # fixed order: the same sums whichever thread finished first
            dw_t += part
        self.grads["W"].reshape(f, k)[...] = dw_t[:k].T
        if self.use_bias:
            self.grads["b"][...] = dw_t[k]
        return dx

    def _backward_range(self, i: int, slot: int, spans: list[tuple[int, int]], reuse: bool, dy: Any,
                        dx: Any, w_flip: Any) -> None:
        """Range i of backward: partial dW into ``dw_parts[i]`` and dx[:, lo:hi]; ``slot`` picks the buffers."""
        lo, hi = spans[i]
        p = self.out_shape[1] * self.out_shape[2]
        d = dy.reshape(self.filters, -1)[:, lo * p:hi * p]
        if reuse:   # the forward's whole-batch columns
            cols = self._bufs["cols"]
            operand = cols[:, lo:hi].reshape(cols.shape[0], -1)
        else:
            operand = self._fill(self._cols(f"cols{slot}", spans[0][1], fresh=False), self._x, lo, hi)
        self.xp.matmul(operand, d.T, out=self._bufs["dw_parts"][i])
        if dx is None:
            return
        if w_flip is not None:
            self._dx_flipped(dy, w_flip, dx, lo, hi, slot)
        else:
            self._dx_col2im(d, dx, lo, hi, slot)

    def _backward_pointwise(self, x: Any, dy2: Any) -> Any:
        f, c = self.filters, self.input_shape[0]
        n = x.shape[1]
        x2 = x.reshape(c, -1)
        self.xp.matmul(x2, dy2.T, out=self._buffer("dw_t", (c, f)))
        self.grads["W"].reshape(f, c)[...] = self._bufs["dw_t"].T
        if self.use_bias:
            dy2.sum(axis=1, out=self.grads["b"])
        if not self.need_input_grad:
            return None
        return (self.params["W"].reshape(f, c).T @ dy2).reshape(c, n, *self.input_shape[1:])

    def _flipped_weights(self) -> Any:
        """W flipped in both spatial axes with filters and channels swapped: (C, F*kh*kw)."""
        c = self.input_shape[0]
        return self.xp.ascontiguousarray(self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, -1)

    def _dx_flipped(self, dy: Any, w_flip: Any, dx: Any, lo: int, hi: int, slot: int = 0) -> None:
        """dx[:, lo:hi] = correlation of dy with the flipped kernel (stride 1, "same" size)."""
        c, h, w = self.input_shape
        f, kh, kw = self.filters, *self.kernel_size
        m = hi - lo
        shape = (f * kh * kw, m, h * w)
        buf = self._bufs.get(f"dy_cols{slot}")   # one per thread
        if buf is None or buf.shape[0] != shape[0] or buf.shape[1] < m:
            buf = self._bufs[f"dy_cols{slot}"] = self.xp.zeros(shape, dtype=self.dtype)
        im2col(dy[:, lo:hi], buf[:, :m].reshape(f, kh, kw, m, h, w), self._plan_back)
        self.xp.matmul(w_flip, buf[:, :m].reshape(shape[0], m * h * w),
                       out=dx.reshape(c, -1)[:, lo * h * w:hi * h * w])

    def _dx_col2im(self, d: Any, dx: Any, lo: int, hi: int, slot: int = 0) -> None:
        """dx[:, lo:hi] by the transposed GEMM into columns, then col2im slice adds (any stride/padding)."""
        c, _, _ = self.input_shape
        f, oh, ow = self.out_shape
        kh, kw = self.kernel_size
        m = hi - lo
        buf = self._bufs.get(f"dcols{slot}")   # one per thread, sized by the first (largest) range
        if buf is None or buf.shape[1] < m:
            buf = self._bufs[f"dcols{slot}"] = self.xp.empty((c * kh * kw, m, oh * ow), dtype=self.dtype)
        dcols = buf[:, :m]
        self.xp.matmul(self.params["W"].reshape(f, -1).T, d, out=dcols.reshape(c * kh * kw, m * oh * ow))
        part = dx[:, lo:hi]
        part.fill(0)
        col2im(dcols.reshape(c, kh, kw, m, oh, ow), part, self._plan)

    # ---- export ----------------------------------------------------------------
    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        top, bottom, left, right = self.padding_amounts(input_shape)
        inputs = [x, g.weight("weight", weights["W"])]
        if self.use_bias:
            inputs.append(g.weight("bias", weights["b"]))
        # the padding mode is a hint for the importer: "same" and pad 1 are one set of pads here
        return g.node("Conv", inputs, hint={"padding": self.padding}, kernel_shape=list(self.kernel_size),
                      strides=list(self.stride), pads=[top, left, bottom, right], dilations=[1, 1], group=1)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "Conv":
            return None
        w = reader.weight(node, 1)
        if w.ndim != 4:
            reader.refuse(node, f"has a {w.ndim}-D kernel; CNN Studio convolves images (2-D kernels)")
        if node.attrs.get("group", 1) != 1:
            reader.refuse(node, f"is a grouped convolution (group={node.attrs['group']}); CNN Studio's Conv2D "
                          "connects every input channel to every filter")
        if any(d != 1 for d in node.attrs.get("dilations", [1, 1])):
            reader.refuse(node, f"is dilated ({node.attrs['dilations']}); CNN Studio's Conv2D has no dilation")
        kernel = (int(w.shape[2]), int(w.shape[3]))
        sh, sw = (int(s) for s in node.attrs.get("strides", [1, 1]))
        stride = (sh, sw)
        c, h, width = require_spatial(cls.type_name, reader.input_shape)
        if int(w.shape[1]) != c:
            reader.refuse(node, f"expects {w.shape[1]} input channels but receives {c}")
        pads = _onnx_pads(node, reader, (h, width), kernel, stride)
        padding = _padding_for(pads, (c, h, width), kernel, stride, reader.hint(node, "padding"))
        if padding is None:
            reader.refuse(node, f"pads {list(pads)} (top, left, bottom, right) cannot be expressed: CNN Studio pads "
                          "equally on every side, or as 'same' (output = input / stride, the extra row and column "
                          "after)", "pad the input to an even size, or use 'same' or 'valid' padding")
        b = reader.weight(node, 2) if len(node.inputs) > 2 and node.inputs[2] else None
        layer = cls(filters=int(w.shape[0]), kernel_size=kernel, stride=stride, padding=padding,
                    use_bias=b is not None)
        arrays = {"W": w} if b is None else {"W": w, "b": b}
        return OnnxMatch(layer, arrays, (node,), node.outputs[0])

    def torch_module(self, input_shape: Shape) -> str | None:
        c = require_spatial(self.type_name, input_shape)[0]
        top, bottom, left, right = self.padding_amounts(input_shape)
        pad = (top, left) if (top, left) == (bottom, right) else (0, 0)
        return (f"nn.Conv2d({c}, {self.filters}, kernel_size={tuple(self.kernel_size)}, stride={tuple(self.stride)}, "
                f"padding={pad}, bias={self.use_bias})")

    def torch_forward(self, attr: str, x: str, input_shape: Shape) -> str:
        top, bottom, left, right = self.padding_amounts(input_shape)
        if (top, left) == (bottom, right):
            return f"self.{attr}({x})"
        # 'same' with an odd total: the extra row/column after, as the engine pads
        return f"self.{attr}(F.pad({x}, ({left}, {right}, {top}, {bottom})))"

    def torch_tensors(self, weights: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        out = {"weight": weights["W"]}
        if self.use_bias:
            out["bias"] = weights["b"]
        return out

    def from_torch_tensors(self, tensors: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        out = {"W": tensors["weight"]}
        if self.use_bias:
            out["b"] = tensors["bias"]
        return out


# ---- export ----------------------------------------------------------------------
def _onnx_pads(node: Any, reader: Any, hw: tuple[int, int], kernel: tuple[int, int],
               stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """A Conv node's (top, left, bottom, right) pads, its ``auto_pad`` resolved for input ``hw``."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = [0, 0, 0, 0] if auto == "VALID" else list(node.attrs.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4:
            reader.refuse(node, f"has pads {pads}; a 2-D convolution has four")
        return (int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3]))
    before, after = [], []
    for size, k, s in zip(hw, kernel, stride):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        small = total // 2
        # SAME_UPPER puts the extra pad after (the engine's 'same'), SAME_LOWER before
        before.append(small if auto == "SAME_UPPER" else total - small)
        after.append(total - before[-1])
    return (before[0], before[1], after[0], after[1])


def _padding_for(pads: tuple[int, int, int, int], input_shape: Shape, kernel: tuple[int, int],
                 stride: tuple[int, int], hint: Any) -> str | int | None:
    """The engine's padding for ONNX ``pads`` on this input: the hinted spelling when it gives these
    pads, else "valid" (no pads), "same" (if it gives them), a number (equal on every side); None."""
    candidates: list[str | int] = [hint] if hint is not None else []
    top, left, bottom, right = pads
    candidates += ["valid", "same"] + ([top] if top == left == bottom == right and 0 < top <= 64 else [])
    for padding in candidates:
        try:
            probe = Conv2D(1, kernel, stride, padding)
            if probe.padding_amounts(input_shape) == (top, bottom, left, right):
                return padding
        except (ValueError, ShapeError):
            continue
    return None
