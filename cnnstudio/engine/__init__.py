"""The NumPy engine: layers, losses, optimizers, schedules, the network executor and trainer.

No Qt and no model imports here; cupy only in ``engine.backend``.
"""

from cnnstudio.engine.backend import Backend, cupy_status, get_backend, to_host
from cnnstudio.engine.losses import softmax_cross_entropy
from cnnstudio.engine.network import Network, WeightsMismatchError
from cnnstudio.engine.optimizers import SGD, Adam, Optimizer, optimizer_from_config

__all__ = ["Backend", "cupy_status", "get_backend", "to_host", "softmax_cross_entropy", "Network",
           "WeightsMismatchError", "SGD", "Adam", "Optimizer", "optimizer_from_config"]
