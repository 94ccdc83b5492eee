"""A lean inference path for a few images at a time (the drawing canvas, ``predict``).

``Network.forward`` on one image spent ~170 us on lenet5, most of it per-call overhead:
im2col by 25 slice copies per convolution, chunk planning, a BLAS thread-count query and
fresh arrays for every layer. ``LeanRunner`` prepares everything once for a batch size:
each convolution gets a zero-padded input buffer with a fixed strided *window view* on
it, so its columns are one copy; every layer writes into its own buffers; ReLU clips in
place and ReLU + MaxPool2D runs as the fused kernel when numba is there. Layers it has
no lean step for run their own ``forward(h, False)``.

A runner holds buffers, so each thread has its own (``Network`` keeps them per thread);
it reads the layers' parameters on every call, so training and ``set_weights`` are seen.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnstudio.engine import fused
from cnnstudio.engine.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU, Softmax

Step = Callable[[Any], Any]

#: Batches up to this size take the lean path (its buffers are per batch size).
MAX_BATCH = 8


class LeanRunner:
    """Inference of ``layers`` (built, on NumPy, a chain) for batches of exactly ``n``.

    ``run(h)``: h in the engine's internal layout ((C, N, H, W) or (N, F)) -> every
    step's output, in a list when ``keep_all`` else just the last; outputs are the
    runner's buffers (copy them before the next call).
    """

    def __init__(self, layers: list[Layer], n: int, compiled: bool):
        self.n = n
        self.steps: list[tuple[Step, int]] = []   # (step, how many layers it stands for)
        i = 0
        while i < len(layers):
            layer = layers[i]
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if compiled and type(layer) is ReLU and type(nxt) is MaxPool2D and _pool2(nxt):
                self.steps.append((_relu_pool2_step(nxt, n), 2))
                i += 1
            else:
                self.steps.append((_step(layer, n), 1))
            i += 1
        self.layers = list(layers)
        self.steps_all: list[Step] | None = None   # one step per layer, made when first asked

    def run(self, h: Any, stop: int | None = None) -> Any:
        """Through the first ``stop`` layers (default all); a fused pair counts as two."""
        done = 0
        for step, count in self.steps:
            if stop is not None and done + count > stop:
                break
            h = step(h)
            done += count
        if stop is not None and done < stop:   # a fused pair straddles ``stop``
            for layer_step in self._all()[done:stop]:
                h = layer_step(h)
        return h

    def _all(self) -> list[Step]:
        if self.steps_all is None:
            self.steps_all = [_step(layer, self.n) for layer in self.layers]
        return self.steps_all

    def run_all(self, h: Any) -> list[Any]:
        outs = []
        for step in self._all():
            h = step(h)
            outs.append(h)
        return outs


def _pool2(pool: MaxPool2D) -> bool:
    return tuple(pool.pool_size) == (2, 2) and tuple(pool.stride) == (2, 2)


def _step(layer: Layer, n: int) -> Step:
    if isinstance(layer, Conv2D) and not layer._pointwise:
        return _conv_step(layer, n)
    if isinstance(layer, ReLU):
        return _relu_step(layer)
    if isinstance(layer, MaxPool2D):
        return _maxpool_step(layer, n)
    if isinstance(layer, Flatten) and n == 1 and len(layer.input_shape) == 3:
        size = int(np.prod(layer.input_shape))
        return lambda h: h.reshape(1, size)   # (C, 1, H, W) is already the sample's C, H, W order
    if isinstance(layer, Dense):
        return _dense_step(layer, n)
    if isinstance(layer, Dropout):
        return lambda h: h
    if isinstance(layer, Softmax):
        return _softmax_step(layer, n)
    return lambda h: layer.forward(h, False)


def _conv_step(conv: Conv2D, n: int) -> Step:
    """im2col as one copy from a fixed window view of a padded input buffer, then one GEMM."""
    c, h, w = conv.input_shape
    f, oh, ow = conv.out_shape
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
    top, bottom, left, right = conv.padding_amounts(conv.input_shape)
    dtype = conv.dtype
    k = c * kh * kw
    padded = np.zeros((c, n, h + top + bottom, w + left + right), dtype=dtype)
    interior = padded[:, :, top:top + h, left:left + w]
    s_c, s_n, s_h, s_w = padded.strides
    windows = as_strided(padded, shape=(c, kh, kw, n, oh, ow),
                         strides=(s_c, s_h, s_w, s_n, s_h * sh, s_w * sw), writeable=False)
    # The bias rides in the GEMM as a row of ones, as in Conv2D.forward: the same GEMM
    # shapes give the same results bit for bit.
    bias = int(conv.use_bias)
    cols = np.ones((k + bias, n * oh * ow), dtype=dtype)
    cols6 = cols[:k].reshape(c, kh, kw, n, oh, ow)
    w_aug = np.empty((f, k + bias), dtype=dtype)
    y = np.empty((f, n * oh * ow), dtype=dtype)
    y4 = y.reshape(f, n, oh, ow)
    params = conv.params

    def step(x: Any) -> Any:
        np.copyto(interior, x)
        np.copyto(cols6, windows)
        w_aug[:, :k] = params["W"].reshape(f, k)
        if bias:
            w_aug[:, k] = params["b"]
        np.matmul(w_aug, cols, out=y)
        return y4

    return step


def _relu_step(layer: ReLU) -> Step:
    out: dict[tuple[int, ...], Any] = {}

    def step(h: Any) -> Any:
        # in place on a buffer of this runner; an input we do not own gets its own buffer
        buf = out.get(h.shape)
        if buf is None:
            buf = out[h.shape] = np.empty(h.shape, dtype=h.dtype)
        return np.maximum(h, 0, out=buf)

    return step


def _maxpool_step(pool: MaxPool2D, n: int) -> Step:
    if not _pool2(pool):
        return lambda h: pool.forward(h, False)
    c, _, _ = pool.input_shape
    _, oh, ow = pool.out_shape
    y = np.empty((c, n, oh, ow), dtype=pool.dtype)
    tmp = np.empty_like(y)

    def step(h: Any) -> Any:
        a, b = h[:, :, 0:2 * oh:2, 0:2 * ow:2], h[:, :, 1:2 * oh:2, 0:2 * ow:2]
        c_, d = h[:, :, 0:2 * oh:2, 1:2 * ow:2], h[:, :, 1:2 * oh:2, 1:2 * ow:2]
        np.maximum(a, b, out=y)
        np.maximum(c_, d, out=tmp)
        return np.maximum(y, tmp, out=y)

    return step


def _relu_pool2_step(pool: MaxPool2D, n: int) -> Step:
    c, h, w = pool.input_shape
    _, oh, ow = pool.out_shape
    y = np.empty((c * n, oh, ow), dtype=pool.dtype)
    idx = np.empty((c * n, oh, ow), dtype=np.int8)
    kernel = fused._kernel("relu_maxpool2_fwd")

    def step(x: Any) -> Any:
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        kernel(x.reshape(c * n, h, w), y, idx)
        return y.reshape(c, n, oh, ow)

    return step


def _dense_step(dense: Dense, n: int) -> Step:
    y = np.empty((n, dense.units), dtype=dense.dtype)
    params = dense.params

    def step(h: Any) -> Any:
        np.matmul(h, params["W"], out=y)
        if dense.use_bias:
            np.add(y, params["b"], out=y)
        return y

    return step


def _softmax_step(layer: Softmax, n: int) -> Step:
    k = layer.input_shape[0]
    y = np.empty((n, k), dtype=layer.dtype)
    total = np.empty((n, 1), dtype=layer.dtype)

    def step(h: Any) -> Any:
        np.subtract(h, h.max(axis=1, keepdims=True), out=y)
        np.exp(y, out=y)
        np.sum(y, axis=1, keepdims=True, out=total)
        return np.divide(y, total, out=y)

    return step
