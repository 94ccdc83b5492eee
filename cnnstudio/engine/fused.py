"""Fused training kernels: the executor runs some pairs of layers as one operation.

The network's description keeps separate layers (ReLU, MaxPool2D); only training steps
run them fused, through *ops*: each op has ``forward(h, training)`` and ``backward(dy)``
like a layer, and ``layers`` (the layers it stands for). ``plan(layers)`` turns a list of
built layers into ops: a layer stands for itself unless it can fuse:

- ``ReLU`` then ``MaxPool2D`` -> ``ReluMaxPool``: one pass forward (the window's maximum,
  clipped at zero, and the winner's index), one backward (each gradient to its winner
  when that winner was positive). ReLU and max commute exactly, so the values are the
  unfused ones bit for bit (the winner of a window is the same cell, ties included).
- ``ReLU`` right after ``Conv2D`` or ``Dense`` -> ``InPlaceReLU``: clips the producer's
  output in place (their backward reads their input, never their output) and masks the
  gradient by that output's sign: no mask array, one pass each way.

The kernels are numba-compiled (``nogil``, so the engine's threads run them at once)
when numba is installed (``pip install cnnstudio[fast]``); without it ``ReluMaxPool``
pools first and clips the 4x smaller pooled map (NumPy), and ``InPlaceReLU`` is not
used. ``use_numba(False)`` forces the NumPy path (tests run both).
Measured speeds and the reasons for this split: docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from cnnstudio.engine.jit import HAVE_NUMBA as HAVE_NUMBA  # re-exported: the switch lives in engine.jit
from cnnstudio.engine.jit import compiled
from cnnstudio.engine.jit import numba_enabled as numba_enabled
from cnnstudio.engine.jit import use_numba as use_numba
from cnnstudio.engine.kernels import parallel_for, split, split_threads
from cnnstudio.engine.layers import Conv2D, Dense, Layer, MaxPool2D, ReLU


def _kernel(name: str) -> Any:
    return compiled(_PYTHON_KERNELS[name])


def _relu_maxpool2_fwd(x: Any, y: Any, idx: Any) -> None:
    """2x2 windows, stride 2. x: (M, H, W) -> y: (M, OH, OW) = max(0, window max);
    idx: the winner (r * 2 + q) or -1 where the ReLU zeroes the output.

    Ties go to the top row within a column, then to the left column (the unfused
    separable pooling's rule). A window holding a NaN or an infinity gives NaN (the
    ``v - v`` terms are 0 for every finite value), so a diverged run still shows as NaN.
    Flat indexing: measured 3-4x faster than indexing row views here.
    """
    m_, oh_, ow_ = y.shape
    h_, w_ = x.shape[1], x.shape[2]
    xf, yf, kf = x.reshape(-1), y.reshape(-1), idx.reshape(-1)
    for m in range(m_):
        for i in range(oh_):
            t0 = (m * h_ + 2 * i) * w_
            b0 = t0 + w_
            o0 = (m * oh_ + i) * ow_
            for j in range(ow_):
                a = xf[t0 + 2 * j]
                b = xf[b0 + 2 * j]
                c = xf[t0 + 2 * j + 1]
                d = xf[b0 + 2 * j + 1]
                g1 = b > a
                left = b if g1 else a
                k_left = 2 if g1 else 0
                g2 = d > c
                right = d if g2 else c
                k_right = 3 if g2 else 1
                g = right > left
                mx = right if g else left
                bad = (a - a) + (b - b) + (c - c) + (d - d)   # 0, or NaN for a NaN or infinity
                out = (mx if mx > 0 else 0.0) + bad
                yf[o0 + j] = out
                kf[o0 + j] = (k_right if g else k_left) if out > 0 else -1   # NaN > 0 is False


def _relu_maxpool2_bwd(dy: Any, idx: Any, dx: Any) -> None:
    """Backward of ``_relu_maxpool2_fwd``: dy: (M, OH, OW) -> dx: (M, H, W), every cell
    assigned (rows and columns the floor rule drops get 0)."""
    m_, oh_, ow_ = dy.shape
    h_, w_ = dx.shape[1], dx.shape[2]
    for m in range(m_):
        for i in range(oh_):
            top = dx[m, 2 * i]
            bot = dx[m, 2 * i + 1]
            gr = dy[m, i]
            kr = idx[m, i]
            for j in range(ow_):
                g = gr[j]
                k = kr[j]
                top[2 * j] = g if k == 0 else 0.0
                top[2 * j + 1] = g if k == 1 else 0.0
                bot[2 * j] = g if k == 2 else 0.0
                bot[2 * j + 1] = g if k == 3 else 0.0
            for q in range(2 * ow_, w_):
                top[q] = 0.0
                bot[q] = 0.0
        for r in range(2 * oh_, h_):
            for q in range(w_):
                dx[m, r, q] = 0.0


def _relu_inplace(x: Any) -> None:
    """x (flat): max(x, 0) in place (NaN kept, as np.maximum does)."""
    for i in range(x.size):
        v = x[i]
        x[i] = 0.0 if v <= 0 else v


def _relu_mask_grad(dy: Any, y: Any) -> None:
    """dy (flat) *= (y > 0), in place."""
    for i in range(dy.size):
        dy[i] = dy[i] if y[i] > 0 else 0.0


_PYTHON_KERNELS: dict[str, Callable[..., None]] = {"relu_maxpool2_fwd": _relu_maxpool2_fwd, "relu_maxpool2_bwd": _relu_maxpool2_bwd,
                   "relu_inplace": _relu_inplace, "relu_mask_grad": _relu_mask_grad}


def _channel_split(size: int, channels: int) -> tuple[list[tuple[int, int]], int]:
    """Channel ranges for the engine's threads (one range below kernels.PARALLEL_MIN_ELEMENTS)."""
    n = split_threads(size)
    return split(channels, n), n


# ---- ops ---------------------------------------------------------------------------
class ReluMaxPool:
    """ReLU then MaxPool2D as one op (see the module doc); ``backward`` returns the ReLU's dx.

    Compiled for 2x2 windows at stride 2 (the pooling nearly every network uses); other
    windows, and the NumPy path, pool first and clip the pooled map.
    """

    def __init__(self, relu: ReLU, pool: MaxPool2D, compiled: bool):
        self.relu, self.pool = relu, pool
        self.layers = (relu, pool)
        self.compiled = compiled and tuple(pool.pool_size) == (2, 2) and tuple(pool.stride) == (2, 2)
        self._bufs: dict[str, Any] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
        buf = self._bufs.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty(shape, dtype=dtype)
        return buf

    def forward(self, x: Any, training: bool = True) -> Any:
        """x: (C, N, H, W) -> pooled (C, N, OH, OW), clipped at zero."""
        if not training:
            return self.pool.forward(self.relu.forward(x, False), False)
        if not self.compiled or not x.flags.c_contiguous:
            # Pool first, then clip the pooled map: the same values (they commute), a 4x
            # smaller ReLU pass and mask. The pool's output buffer is not read by its backward.
            self._idx = None
            p = self.pool.forward(x, True)
            self._mask = self._buffer("mask", p.shape, np.bool_)
            np.maximum(p, 0, out=p)
            np.greater(p, 0, out=self._mask)
            return p
        c, n, h, w = x.shape
        _, oh, ow = self.pool.out_shape
        y = self._buffer("y", (c, n, oh, ow), x.dtype)
        idx = self._idx = self._buffer("idx", (c, n, oh, ow), np.int8)
        x3, y3, i3 = x.reshape(c * n, h, w), y.reshape(c * n, oh, ow), idx.reshape(c * n, oh, ow)
        fwd = _kernel("relu_maxpool2_fwd")
        spans, threads = _channel_split(x.size, c * n)
        parallel_for(lambda s, slot: fwd(x3[s[0]:s[1]], y3[s[0]:s[1]], i3[s[0]:s[1]]), spans, threads)
        return y

    def backward(self, dy: Any) -> Any:
        """dy: (C, N, OH, OW) -> dx: (C, N, H, W) (None when the ReLU is the first layer)."""
        if not self.relu.need_input_grad:
            return None
        if self._idx is None:
            np.multiply(dy, self._mask, out=dy)
            return self.pool.backward(dy)
        c, n, oh, ow = dy.shape
        _, h, w = self.pool.input_shape
        dx = self._buffer("dx", (c, n, h, w), dy.dtype)
        dy = np.ascontiguousarray(dy)
        d3, i3, x3 = dy.reshape(c * n, oh, ow), self._idx.reshape(c * n, oh, ow), dx.reshape(c * n, h, w)
        bwd = _kernel("relu_maxpool2_bwd")
        spans, threads = _channel_split(dx.size, c * n)
        parallel_for(lambda s, slot: bwd(d3[s[0]:s[1]], i3[s[0]:s[1]], x3[s[0]:s[1]]), spans, threads)
        return dx


class InPlaceReLU:
    """ReLU on the output of a Conv2D or Dense, in place (compiled kernels only)."""

    def __init__(self, relu: ReLU):
        self.relu = relu
        self.layers = (relu,)

    def forward(self, x: Any, training: bool = True) -> Any:
        if not training or not x.flags.c_contiguous:
            self._y = None
            return self.relu.forward(x, training)
        self._y = x
        flat = x.reshape(-1)
        k = _kernel("relu_inplace")
        spans, threads = _channel_split(flat.size, flat.size)
        parallel_for(lambda s, slot: k(flat[s[0]:s[1]]), spans, threads)
        return x

    def backward(self, dy: Any) -> Any:
        if self._y is None:
            return self.relu.backward(dy)
        if not dy.flags.c_contiguous:
            dy = np.ascontiguousarray(dy)
        g, y = dy.reshape(-1), self._y.reshape(-1)
        k = _kernel("relu_mask_grad")
        spans, threads = _channel_split(g.size, g.size)
        parallel_for(lambda s, slot: k(g[s[0]:s[1]], y[s[0]:s[1]]), spans, threads)
        return dy


def plan(layers: Sequence[Layer], compiled: bool | None = None) -> list[Any]:
    """Ops for running ``layers`` (built, on NumPy) in a training step; see the module doc.

    ``compiled`` defaults to ``numba_enabled()``. Layers on another backend run unfused.
    """
    compiled = numba_enabled() if compiled is None else compiled
    ops: list[Any] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        on_numpy = getattr(layer, "xp", None) is np
        if on_numpy and type(layer) is ReLU and type(nxt) is MaxPool2D and len(layer.input_shape) == 3:
            ops.append(ReluMaxPool(layer, nxt, compiled))
            i += 2
            continue
        if on_numpy and compiled and type(layer) is ReLU and i > 0 and isinstance(layers[i - 1], (Conv2D, Dense)):
            ops.append(InPlaceReLU(layer))
        else:
            ops.append(layer)
        i += 1
    return ops


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel now, on tiny arrays."""
    if not numba_enabled():
        return
    x = np.zeros((1, 2, 2), np.float32)
    y, idx = np.zeros((1, 1, 1), np.float32), np.zeros((1, 1, 1), np.int8)
    _kernel("relu_maxpool2_fwd")(x, y, idx)
    _kernel("relu_maxpool2_bwd")(y, idx, x)
    _kernel("relu_inplace")(x.reshape(-1))
    _kernel("relu_mask_grad")(x.reshape(-1), x.reshape(-1))
