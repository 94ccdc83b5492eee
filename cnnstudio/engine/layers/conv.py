"""Conv2D: 2-D convolution (cross-correlation, as in every framework)."""

from __future__ import annotations

import math
from typing import Any

from cnnstudio.engine.errors import LayerConfigError, ShapeError
from cnnstudio.engine.im2col import col2im, im2col, make_plan
from cnnstudio.engine.initializers import init_weight
from cnnstudio.engine.layers.base import Layer, Shape, check_bool, check_int, check_pair, require_spatial


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


def check_padding(layer_type: str, value: Any) -> str | int:
    if value in ("valid", "same"):
        return value
    if isinstance(value, str):
        raise LayerConfigError(layer_type, "padding", value, "'valid', 'same' or a whole number >= 0")
    return check_int(layer_type, "padding", value, 0, 64)


class Conv2D(Layer):
    """``filters`` kernels of ``kernel_size`` slide over the input with ``stride``."""

    type_name = "Conv2D"
    category = "conv"
    description = "Slides learned filters over the image; each filter makes one feature map."

    def __init__(self, filters: int = 8, kernel_size: Any = (3, 3), stride: Any = (1, 1),
                 padding: str | int = "valid", use_bias: bool = True):
        t = self.type_name
        self.filters = check_int(t, "filters", filters, 1, 8192)
        self.kernel_size = check_pair(t, "kernel_size", kernel_size)
        self.stride = check_pair(t, "stride", stride)
        self.padding = check_padding(t, padding)
        self.use_bias = check_bool(t, "use_bias", use_bias)

    def get_config(self) -> dict[str, Any]:
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": self.padding, "use_bias": self.use_bias}

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

    def param_count(self, input_shape: Shape) -> int:
        c, _, _ = require_spatial(self.type_name, input_shape)
        kh, kw = self.kernel_size
        return kh * kw * c * self.filters + (self.filters if self.use_bias else 0)

    def multiply_adds(self, input_shape: Shape) -> int:
        c = require_spatial(self.type_name, input_shape)[0]
        _, oh, ow = self.output_shape(input_shape)
        return oh * ow * self.filters * self.kernel_size[0] * self.kernel_size[1] * c

    def summary(self) -> str:
        kh, kw = self.kernel_size
        stride = self.stride[0] if self.stride[0] == self.stride[1] else f"{self.stride[0]}x{self.stride[1]}"
        pad = self.padding if isinstance(self.padding, str) else f"pad {self.padding}"
        return f"{self.filters} @ {kh}x{kw}, stride {stride}, {pad}"

    # ---- runtime -----------------------------------------------------------
    def _allocate(self) -> None:
        c, h, w = self.input_shape
        f, oh, ow = self.out_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, _, left, _ = self.padding_amounts(self.input_shape)
        self.params["W"] = init_weight(self.init, (f, c, kh, kw), self.rng, self.xp, self.dtype)
        if self.use_bias:
            self.params["b"] = self.xp.zeros((f,), dtype=self.dtype)
        self._plan = make_plan((h, w), (oh, ow), (kh, kw), (sh, sw), (top, left))
        # A 1x1 kernel with stride 1 and no padding is already a GEMM on the input.
        self._pointwise = (kh, kw, sh, sw, top, left, oh, ow) == (1, 1, 1, 1, 0, 0, h, w)
        # Stride 1 with an output as large as the input ("same"): the input gradient is
        # the correlation of dy with the flipped kernel, one im2col + GEMM whose output
        # is the small dx, instead of a GEMM writing kh*kw times more columns plus col2im.
        # Measured: it wins when filters <= channels (its columns have filters*kh*kw rows).
        self._flip_back = (sh, sw) == (1, 1) and (oh, ow) == (h, w) and f <= c and not self._pointwise
        self._plan_back = make_plan((oh, ow), (h, w), (kh, kw), (1, 1), (kh - 1 - top, kw - 1 - left))

    #: Inference splits a batch so its columns stay under this many bytes: a mini-vgg
    #: batch of 256 would otherwise need 230 MB of columns for one layer.
    INFERENCE_COLS_BYTES = 64 << 20

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> y: (filters, N, OH, OW) by one GEMM over im2col columns."""
        c, n, h, w = x.shape
        f, oh, ow = self.out_shape
        per_sample = c * self.kernel_size[0] * self.kernel_size[1] * oh * ow * self.dtype.itemsize
        chunk = max(1, self.INFERENCE_COLS_BYTES // per_sample)
        if not training and n > chunk and not self._pointwise:
            y = self.xp.empty((f, n, oh, ow), dtype=self.dtype)
            for start in range(0, n, chunk):
                y[:, start:start + chunk] = self._forward(x[:, start:start + chunk], False)
            return y
        return self._forward(x, training)

    def _forward(self, x: Any, training: bool) -> Any:
        if training and not self._pointwise:
            return self._forward_train(x)
        c, n, h, w = x.shape
        f, oh, ow = self.out_shape
        kh, kw = self.kernel_size
        if self._pointwise:
            cols = x.reshape(c, n * h * w)
        else:
            # Fresh columns: inference between a training forward and its backward, or in
            # another thread, touches no shared state.
            cols = im2col(x, self.xp.zeros((c, kh, kw, n, oh, ow), dtype=self.dtype), self._plan)
            cols = cols.reshape(-1, n * oh * ow)
        y = self.params["W"].reshape(f, -1) @ cols
        if self.use_bias:
            y += self.params["b"][:, None]
        if training:
            self._x_cols, self._n = cols, n
        return y.reshape(f, n, oh, ow)

    def _forward_train(self, x: Any) -> Any:
        """Training forward into reused buffers, the bias folded into the GEMM.

        The column buffer has one extra row of ones after the C*kh*kw im2col rows and
        the weights one extra column holding b, so y = [W | b] @ [cols; 1] needs no
        separate bias pass, and backward's cols @ dy^T yields db as its last row.
        The buffer is zeroed once: cells that only read padding are never written.
        """
        xp = self.xp
        c, n, h, w = x.shape
        f, oh, ow = self.out_shape
        kh, kw = self.kernel_size
        k = c * kh * kw
        rows = k + 1 if self.use_bias else k
        cols = self._bufs.get("cols")
        if cols is None or cols.shape != (rows, n * oh * ow):
            cols = self._buffer("cols", (rows, n * oh * ow), zero=True)
            cols[k:] = 1
        im2col(x, cols[:k].reshape(c, kh, kw, n, oh, ow), self._plan)
        w_aug = self._buffer("w_aug", (f, rows))
        w_aug[:, :k] = self.params["W"].reshape(f, k)
        if self.use_bias:
            w_aug[:, k] = self.params["b"]
        y = xp.matmul(w_aug, cols, out=self._buffer("y", (f, n * oh * ow)))
        self._x_cols, self._n = cols, n
        return y.reshape(f, n, oh, ow)

    def backward(self, dy: Any) -> Any:
        """dy: (filters, N, OH, OW) -> dx: (C, N, H, W); grads W (F, C, kh, kw), b (F,)."""
        xp = self.xp
        f = self.filters
        k = self.params["W"].size // f
        dy2 = dy.reshape(f, -1)
        cols = self._x_cols
        # cols @ dy^T then a small transpose beats dy @ cols^T by 10-30% in OpenBLAS here.
        dw_t = xp.matmul(cols, dy2.T, out=self._buffer("dw_t", (cols.shape[0], f)))
        self.grads["W"].reshape(f, k)[...] = dw_t[:k].T
        if self.use_bias:
            if cols.shape[0] > k:      # the ones row of _forward_train: db came with the GEMM
                self.grads["b"][...] = dw_t[k]
            else:
                dy2.sum(axis=1, out=self.grads["b"])
        if not self.need_input_grad:
            return None
        c, h, w = self.input_shape
        n = self._n
        if self._pointwise:
            return (self.params["W"].reshape(f, c).T @ dy2).reshape(c, n, h, w)
        if self._flip_back:
            return self._backward_flipped(dy, n)
        return self._backward_col2im(dy2, n)

    def _backward_flipped(self, dy: Any, n: int) -> Any:
        """dx[c] = sum_f correlate(dy[f], W[f, c] flipped), for stride 1 and "same" output."""
        c, h, w = self.input_shape
        f, kh, kw = self.filters, *self.kernel_size
        cols = im2col(dy, self._buffer("dy_cols", (f, kh, kw, n, h, w), zero=True), self._plan_back)
        w_flip = self.xp.ascontiguousarray(self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        dx = self._buffer("dx", (c, n, h, w))
        self.xp.matmul(w_flip.reshape(c, -1), cols.reshape(f * kh * kw, -1), out=dx.reshape(c, n * h * w))
        return dx

    def _backward_col2im(self, dy2: Any, n: int) -> Any:
        """dx by the transposed GEMM into columns, then col2im slice adds (any stride/padding)."""
        c, h, w = self.input_shape
        f, oh, ow = self.out_shape
        kh, kw = self.kernel_size
        dcols = self._buffer("dcols", (c * kh * kw, n * oh * ow), zero=False)
        self.xp.matmul(self.params["W"].reshape(f, -1).T, dy2, out=dcols)
        dx = self._buffer("dx", (c, n, h, w), zero=False)
        dx.fill(0)
        return col2im(dcols.reshape(c, kh, kw, n, oh, ow), dx, self._plan)
