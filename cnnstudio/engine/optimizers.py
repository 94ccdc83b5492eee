"""Optimizers: SGD (momentum, Nesterov, weight decay) and Adam (AdamW-style decay).

``step(params_and_grads, lr)`` updates every parameter in place. State is kept per
parameter name ("{layer}.{param}") so it can be saved as plain arrays and restored.

Weight decay applies to weight matrices and kernels only (arrays with 2 or more
dimensions), never to biases or BatchNorm's gamma/beta: decaying those only hurts.
- SGD: L2 decay, added to the gradient (``g + wd * w``), as in PyTorch's SGD.
- Adam: decoupled decay (AdamW, Loshchilov & Hutter): ``w -= lr * wd * w`` separately
  from the adaptive step, so the decay strength does not depend on gradient scale.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from cnnstudio.engine.backend import array_module, to_host

ParamsAndGrads = Iterable[tuple[str, Any, Any]]


def _check(owner: str, field: str, value: Any, low: float, high: float, high_open: bool = True) -> float:
    v = float(value)
    if not (math.isfinite(v) and low <= v and (v < high if high_open else v <= high)):
        right = ")" if high_open else "]"
        raise ValueError(f"{owner}: {field} must be in [{low}, {high}{right}, got {value!r}")
    return v


def check_lr(lr: Any) -> float:
    """Return ``lr`` as a float or raise ValueError: it must be a finite number > 0."""
    v = float(lr)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"learning rate must be a finite number > 0, got {lr!r}")
    return v


class Optimizer:
    """Base class: per-parameter state buffers, saved and restored as plain arrays."""

    name = ""

    def __init__(self, weight_decay: float = 0.0):
        self.weight_decay = _check(type(self).__name__, "weight_decay", weight_decay, 0.0, 1.0, high_open=False)
        self.state: dict[str, dict[str, Any]] = {}
        self.steps = 0
        self._pending: dict[str, dict[str, np.ndarray]] = {}

    def _buffer(self, name: str, slot: str, param: Any) -> Any:
        """The ``slot`` buffer of parameter ``name``, created (zeros, or restored state) on first use."""
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            buf = array_module(param).zeros_like(param)
            saved = self._pending.get(name, {}).get(slot)
            if saved is not None:
                buf[...] = array_module(param).asarray(saved)
            slots[slot] = buf
        return slots[slot]

    def _decays(self, param: Any) -> bool:
        return self.weight_decay > 0 and param.ndim >= 2

    def step(self, params_and_grads: ParamsAndGrads, lr: float) -> None:
        """Update every (name, param, grad) in place with learning rate ``lr``."""
        self.steps += 1
        for name, param, grad in params_and_grads:
            self._update(name, param, grad, lr)

    def _update(self, name: str, param: Any, grad: Any, lr: float) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"type": self.name, "weight_decay": self.weight_decay}

    def get_state(self) -> dict[str, np.ndarray]:
        """Host arrays "{slot}/{param name}" plus "steps"; for saving next to the weights."""
        out = {f"{slot}/{name}": np.array(to_host(buf), copy=True)
               for name, slots in self.state.items() for slot, buf in slots.items()}
        for name, slots in self._pending.items():
            for slot, value in slots.items():
                out.setdefault(f"{slot}/{name}", np.array(value, copy=True))
        out["steps"] = np.array(self.steps, dtype=np.int64)
        return out

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned; buffers are filled when their parameter is next seen."""
        self.state = {}
        self._pending = {}
        self.steps = int(np.asarray(state.get("steps", 0)))
        for key, value in state.items():
            if key == "steps":
                continue
            slot, sep, name = key.partition("/")
            if not sep:
                raise ValueError(f"optimizer state: unexpected key {key!r}; expected 'slot/param' such as 'm/0.W'")
            self._pending.setdefault(name, {})[slot] = np.asarray(value)


class SGD(Optimizer):
    """v = momentum * v + (g + wd * w);  w -= lr * (g + momentum * v if nesterov else v)."""

    name = "sgd"

    def __init__(self, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(weight_decay)
        self.momentum = _check("SGD", "momentum", momentum, 0.0, 1.0)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum 0")
        self.nesterov = bool(nesterov)

    def _update(self, name: str, param: Any, grad: Any, lr: float) -> None:
        g = grad + self.weight_decay * param if self._decays(param) else grad
        if self.momentum == 0:
            param -= lr * g
            return
        v = self._buffer(name, "v", param)
        v *= self.momentum
        v += g
        if self.nesterov:
            param -= lr * (g + self.momentum * v)
        else:
            param -= lr * v

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with bias correction; decoupled weight decay (AdamW)."""

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(weight_decay)
        self.beta1 = _check("Adam", "beta1", beta1, 0.0, 1.0)
        self.beta2 = _check("Adam", "beta2", beta2, 0.0, 1.0)
        self.eps = _check("Adam", "eps", eps, 0.0, 1.0)
        if self.eps == 0:
            raise ValueError("Adam: eps must be > 0 (it prevents division by zero), got 0")

    def _update(self, name: str, param: Any, grad: Any, lr: float) -> None:
        xp = array_module(param)
        m = self._buffer(name, "m", param)
        v = self._buffer(name, "v", param)
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * (grad * grad)
        if self._decays(param):
            param -= (lr * self.weight_decay) * param
        t = self.steps
        m_hat_scale = 1.0 / (1 - self.beta1 ** t)
        v_hat_scale = 1.0 / (1 - self.beta2 ** t)
        param -= (lr * m_hat_scale) * m / (xp.sqrt(v * v_hat_scale) + self.eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def optimizer_from_config(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from ``get_config()`` (state is restored separately)."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown type {kind!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[kind](**config)
