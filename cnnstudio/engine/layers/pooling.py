"""Pooling: MaxPool2D, AvgPool2D, SumPool2D.

Windows that do not divide the input follow the floor rule: the rows and
columns left over at the bottom and right are dropped.
"""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.im2col import make_plan
from cnnstudio.engine.layers.base import Layer, Shape, check_pair, require_spatial


class _Pool2D(Layer):
    category = "pool"

    def __init__(self, pool_size: Any = (2, 2), stride: Any = None):
        t = self.type_name
        self.pool_size = check_pair(t, "pool_size", pool_size)
        self.stride = self.pool_size if stride is None else check_pair(t, "stride", stride)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

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

    # ---- runtime -----------------------------------------------------------
    def _allocate(self) -> None:
        _, h, w = self.input_shape
        _, oh, ow = self.out_shape
        # Each window offset is one strided view of the input (no im2col copy);
        # without padding every shift covers the whole output.
        self._plan = make_plan((h, w), (oh, ow), self.pool_size, self.stride)
        # Disjoint windows let backward write each shift straight into dx (no adds).
        self._disjoint = self.stride[0] >= self.pool_size[0] and self.stride[1] >= self.pool_size[1]

    def _windows(self, x: Any):
        """Yield (k, view) for each window offset k; view: (C, N, OH, OW)."""
        for k, s in enumerate(self._plan):
            yield k, x[:, :, s.in_rows, s.in_cols]

    def _new_dx(self, dy: Any) -> Any:
        c, h, w = self.input_shape
        shape = (c, dy.shape[1], h, w)
        # Disjoint windows that tile the input overwrite every cell; otherwise start from zero.
        tiles = self._disjoint and all(self.pool_size[a] * self.out_shape[1 + a] == (h, w)[a] for a in (0, 1))
        return self.xp.empty(shape, dtype=dy.dtype) if tiles else self.xp.zeros(shape, dtype=dy.dtype)

    def _scatter(self, dx: Any, k: int, values: Any) -> None:
        s = self._plan[k]
        if self._disjoint:
            dx[:, :, s.in_rows, s.in_cols] = values
        else:
            dx[:, :, s.in_rows, s.in_cols] += values

    def _window_sum(self, x: Any) -> Any:
        y = None
        for k, view in self._windows(x):
            if y is None:
                y = view.copy()
            else:
                y += view
        return y

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> (C, N, OH, OW); SumPool adds each window, AvgPool averages it."""
        y = self._window_sum(x)
        if self._scale != 1.0:
            y *= self.dtype.type(self._scale)
        return y

    def backward(self, dy: Any) -> Any:
        """dy: (C, N, OH, OW) -> dx: (C, N, H, W); every input of a window gets dy * scale."""
        if not self.need_input_grad:
            return None
        g = dy * self.dtype.type(self._scale) if self._scale != 1.0 else dy
        dx = self._new_dx(dy)
        for k in range(len(self._plan)):
            self._scatter(dx, k, g)
        return dx


class MaxPool2D(_Pool2D):
    type_name = "MaxPool2D"
    description = "Keeps the largest value in each window: shrinks the map, keeps the strongest response."

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) -> (C, N, OH, OW), the maximum of each window.

        While training it records which offset won (the first one on ties, as
        PyTorch does), so backward routes each gradient to exactly one input.
        """
        xp = self.xp
        y = None
        arg = None
        for k, view in self._windows(x):
            if y is None:
                y = view.copy()
                if training:
                    arg = xp.zeros(y.shape, dtype=xp.int8 if len(self._plan) < 128 else xp.int32)
                continue
            if training:
                xp.copyto(arg, k, where=view > y)
            xp.maximum(y, view, out=y)
        self._arg = arg
        return y

    def backward(self, dy: Any) -> Any:
        """dy: (C, N, OH, OW) -> dx: (C, N, H, W), non-zero only where a maximum was taken."""
        if not self.need_input_grad:
            return None
        xp = self.xp
        dx = self._new_dx(dy)
        for k in range(len(self._plan)):
            self._scatter(dx, k, xp.multiply(dy, self._arg == k))
        return dx


class AvgPool2D(_Pool2D):
    type_name = "AvgPool2D"
    description = "Averages each window: shrinks the map smoothly."

    @property
    def _scale(self) -> float:
        return 1.0 / (self.pool_size[0] * self.pool_size[1])


class SumPool2D(_Pool2D):
    type_name = "SumPool2D"
    description = "Adds up each window (average pooling times the window area)."
    _scale = 1.0
