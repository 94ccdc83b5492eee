"""BatchNorm over channels (image input) or features (flat input)."""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.layers.base import Layer, Shape, check_float


class BatchNorm(Layer):
    """Normalises each channel (2-D input) or feature (1-D input) over the batch.

    Trainable: gamma and beta (one each per channel). Non-trainable: running mean
    and variance, updated as ``running = momentum * running + (1 - momentum) * batch``.
    """

    type_name = "BatchNorm"
    category = "normalization"
    description = "Re-centres and re-scales each channel over the batch; steadies training."

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5):
        self.momentum = check_float(self.type_name, "momentum", momentum, 0.0, 1.0, high_open=True)
        self.epsilon = check_float(self.type_name, "epsilon", epsilon, 0.0, 1.0, low_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "epsilon": self.epsilon}

    @staticmethod
    def channels(input_shape: Shape) -> int:
        return int(input_shape[0])

    def param_count(self, input_shape: Shape) -> int:
        return 2 * self.channels(input_shape)

    def non_trainable_count(self, input_shape: Shape) -> int:
        return 2 * self.channels(input_shape)

    def summary(self) -> str:
        return f"momentum {self.momentum:g}"
