"""Pooling: MaxPool2D, AvgPool2D, SumPool2D.

Windows that do not divide the input follow the floor rule: the rows and
columns left over at the bottom and right are dropped.
"""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.errors import ShapeError
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


class MaxPool2D(_Pool2D):
    type_name = "MaxPool2D"
    description = "Keeps the largest value in each window: shrinks the map, keeps the strongest response."


class AvgPool2D(_Pool2D):
    type_name = "AvgPool2D"
    description = "Averages each window: shrinks the map smoothly."


class SumPool2D(_Pool2D):
    type_name = "SumPool2D"
    description = "Adds up each window (average pooling times the window area)."
