"""Softmax output. Training fuses it with cross-entropy (see engine.losses)."""

from __future__ import annotations

from cnnstudio.engine.layers.base import Layer, Shape, require_flat


class Softmax(Layer):
    type_name = "Softmax"
    category = "output"
    description = "Turns scores into class probabilities that sum to 1."

    def output_shape(self, input_shape: Shape) -> Shape:
        return (require_flat(self.type_name, input_shape),)
