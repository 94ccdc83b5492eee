"""From a network description to a runnable engine Network (and optimizer/schedule)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy

if TYPE_CHECKING:
    from cnnstudio.engine.network import Network

from cnnstudio.model.shapes import validate
from cnnstudio.model.spec import NetworkSpec
from cnnstudio.model.training_config import TrainingConfig


def build_network(spec: NetworkSpec, xp: Any = numpy, dtype: Any = numpy.float32, seed: int = 0,
                  init: str = "he") -> "Network":
    """An ``engine.network.Network`` for ``spec``, weights initialised from ``seed``.

    Validates first: raises ``NetworkError`` (with the problem and its fix) for a
    network that cannot run. Input batches are NCHW ``(N, C, H, W)`` with
    ``(C, H, W) = spec.input.shape``.
    """
    validate(spec)
    from cnnstudio.engine.network import Network  # the executor loads heavier code; only when building

    layers = [layer.new_layer() for layer in spec.layers]
    if spec.is_chain:
        return Network(layers, spec.input.shape, xp=xp, dtype=dtype, seed=seed, init=init)
    from cnnstudio.engine.graph import GraphNetwork

    inputs = [spec.sources(i) for i in range(len(spec.layers))]
    return GraphNetwork(layers, spec.input.shape, inputs, xp=xp, dtype=dtype, seed=seed, init=init)


def build_optimizer(config: TrainingConfig) -> Any:
    """The engine optimizer (SGD or Adam) that ``config`` describes."""
    from cnnstudio.engine.optimizers import SGD, Adam

    cls = SGD if config.optimizer == "sgd" else Adam
    return cls(**config.optimizer_config())


def build_schedule(config: TrainingConfig) -> Any:
    """The engine learning-rate schedule that ``config`` describes (the Trainer binds epoch lengths)."""
    from cnnstudio.engine.schedules import schedule_from_config

    return schedule_from_config(config.schedule_config())
