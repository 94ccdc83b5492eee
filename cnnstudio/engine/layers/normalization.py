"""BatchNorm over channels (image input) or features (flat input)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from cnnstudio.engine.layers.base import Layer, OnnxGraph, OnnxMatch, Shape
from cnnstudio.engine.layers.explaining import fmt, host, signed
from cnnstudio.engine.layers.schema import Hyper


class BatchNorm(Layer):
    """Normalises each channel (2-D input) or feature (1-D input) over the batch.

    Trainable: gamma and beta (one each per channel). Non-trainable: running mean
    and variance, updated as ``running = momentum * running + (1 - momentum) * batch``.
    """

    type_name = "BatchNorm"
    category = "normalization"
    description = "Re-centres and re-scales each channel over the batch; steadies training."

    hyperparameters = (
        Hyper("momentum", "float", 0.9, "Momentum",
              "How slowly the running statistics follow each batch (closer to 1: slower).",
              low=0.0, high=1.0, high_open=True, step=0.01, decimals=3),
        Hyper("epsilon", "float", 1e-5, "Epsilon", "Added to the variance so the division never blows up.",
              low=0.0, high=1.0, low_open=True, step=1e-5, decimals=8),
    )
    sample_independent = False   # training uses the batch's statistics
    keeps_linearity = True
    momentum: float
    epsilon: float

    @staticmethod
    def channels(input_shape: Shape) -> int:
        return int(input_shape[0])

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """gamma, beta: (channels,) for images, (features,) for vectors."""
        c = self.channels(input_shape)
        return {"gamma": (c,), "beta": (c,)}

    def state_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        c = self.channels(input_shape)
        return {"running_mean": (c,), "running_var": (c,)}

    def initial_value(self, name: str, shape: Shape) -> Any:
        if name in ("gamma", "running_var"):
            return self.xp.ones(shape, dtype=self.dtype)
        return self.xp.zeros(shape, dtype=self.dtype)

    def summary(self) -> str:
        return f"momentum {self.momentum:g}"

    # ---- explain ---------------------------------------------------------------
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """Inference: gamma * (x - running mean) / sqrt(running var + eps) + beta, for the cell's channel."""
        c = int(at[0])
        t = y.dtype.type
        v = t(x[at])
        mean, var = t(host(self, "running_mean")[c]), t(host(self, "running_var")[c])
        gamma, beta = t(host(self, "gamma")[c]), t(host(self, "beta")[c])
        inv_std = t(1.0) / np.sqrt(var + t(self.epsilon))
        xhat = (v - mean) * inv_std
        total = xhat * gamma + beta
        return {"kind": "normalise", "input": float(v), "channel": c, "running_mean": float(mean),
                "running_var": float(var), "epsilon": self.epsilon, "gamma": float(gamma), "beta": float(beta),
                "normalised": float(xhat), "total": float(total),
                "formula": f"{fmt(gamma)} * ({fmt(v)} - {signed(mean)}) / sqrt({fmt(var)} + {self.epsilon:g}) "
                           f"+ {signed(beta)} = {fmt(total)}"}

    # ---- runtime -----------------------------------------------------------
    def _as_2d(self, x: Any) -> tuple[Any, int]:
        """View x as (channels, samples) or (samples, features); return it and the reduced axis.

        CNHW (C, N, H, W) -> (C, N*H*W), reduce axis 1 (a free reshape, no transpose);
        (N, F) stays as it is, reduce axis 0.
        """
        if x.ndim == 4:
            return x.reshape(x.shape[0], -1), 1
        return x, 0

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) or (N, F) -> same shape.

        Training: normalise with the batch mean and (biased) variance and update the
        running statistics; inference: normalise with the running statistics.
        """
        xp = self.xp
        x2, axis = self._as_2d(x)
        expand = _expander(axis)
        if training:
            mean = x2.mean(axis=axis)
            xc = x2 - expand(mean)
            var = (xc * xc).mean(axis=axis)
            m = self.dtype.type(self.momentum)
            for key, batch in (("running_mean", mean), ("running_var", var)):
                run = self.state[key]
                run *= m
                run += (1 - m) * batch
        else:
            mean, var = self.state["running_mean"], self.state["running_var"]
            xc = x2 - expand(mean)
        inv_std = 1.0 / xp.sqrt(var + self.dtype.type(self.epsilon))
        xhat = xc
        xhat *= expand(inv_std)
        if training:
            self._xhat, self._inv_std = xhat, inv_std
        y = xhat * expand(self.params["gamma"])
        y += expand(self.params["beta"])
        return y.reshape(x.shape)

    def backward(self, dy: Any) -> Any:
        """dy: like x -> dx; grads gamma = sum(dy * xhat), beta = sum(dy) per channel.

        dx = gamma * inv_std / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)), M the
        number of values per channel in the batch.
        """
        dy2, axis = self._as_2d(dy)
        expand = _expander(axis)
        xhat = self._xhat
        m = dy2.shape[axis]
        dbeta = dy2.sum(axis=axis)
        dgamma = (dy2 * xhat).sum(axis=axis)
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        if not self.need_input_grad:
            return None
        scale = self.params["gamma"] * self._inv_std / m
        dx = dy2 * self.dtype.type(m)
        dx -= expand(dbeta)
        dx -= xhat * expand(dgamma)
        dx *= expand(scale)
        return dx.reshape(dy.shape)

    # ---- export ----------------------------------------------------------------
    onnx_substitute_for = ("InstanceNormalization", "LayerNormalization", "GroupNormalization", "LRN")

    def onnx_nodes(self, g: OnnxGraph, x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        # inference: the running statistics (training_mode 0); ONNX's momentum has the engine's meaning
        inputs = [x] + [g.weight(name, weights[key]) for name, key in
                        (("weight", "gamma"), ("bias", "beta"), ("running_mean", "running_mean"),
                         ("running_var", "running_var"))]
        return g.node("BatchNormalization", inputs, epsilon=self.epsilon, momentum=self.momentum)

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> OnnxMatch | None:
        if node.op != "BatchNormalization":
            return None
        if node.attrs.get("training_mode", 0) or len([o for o in node.outputs if o]) > 1:
            reader.refuse(node, "is in training mode (it outputs batch statistics)", "export the model in eval mode")
        gamma, beta, mean, var = (reader.weight(node, i).reshape(-1) for i in range(1, 5))
        c = cls.channels(reader.input_shape)
        if gamma.size != c:
            reader.refuse(node, f"normalises {gamma.size} channels but receives {c}")
        layer = cls(momentum=reader.short_float(node.attrs.get("momentum", 0.9)),
                    epsilon=reader.short_float(node.attrs.get("epsilon", 1e-5)))
        arrays = {"gamma": gamma, "beta": beta, "running_mean": mean, "running_var": var}
        return OnnxMatch(layer, arrays, (node,), node.outputs[0])

    def torch_module(self, input_shape: Shape) -> str | None:
        kind = "BatchNorm2d" if len(input_shape) == 3 else "BatchNorm1d"
        # PyTorch's momentum is the weight of the new batch: 1 - the engine's
        return f"nn.{kind}({self.channels(input_shape)}, eps={self.epsilon!r}, momentum={1 - self.momentum!r})"

    def torch_tensors(self, weights: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        return {"weight": weights["gamma"], "bias": weights["beta"], "running_mean": weights["running_mean"],
                "running_var": weights["running_var"], "num_batches_tracked": np.zeros((), np.int64)}

    def from_torch_tensors(self, tensors: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        return {"gamma": tensors["weight"], "beta": tensors["bias"], "running_mean": tensors["running_mean"],
                "running_var": tensors["running_var"]}


def _expander(axis: int) -> Callable[[Any], Any]:
    """Per-channel vectors broadcast against x2: a column for (C, M), as they are for (N, F)."""
    if axis == 1:
        return lambda v: v[:, None]
    return lambda v: v
