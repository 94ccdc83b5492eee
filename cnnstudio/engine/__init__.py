"""The NumPy engine: layers, losses, optimizers, schedules, the network executor and trainer.

No Qt and no model imports here; cupy only in ``engine.backend``.
"""

from cnnstudio.engine.backend import Backend, BackendUnavailableError, cupy_status, get_backend, to_host
from cnnstudio.engine.evaluation import EvalResult, evaluate
from cnnstudio.engine.losses import softmax_cross_entropy
from cnnstudio.engine.network import Network, WeightsMismatchError
from cnnstudio.engine.optimizers import SGD, Adam, Optimizer, optimizer_from_config
from cnnstudio.engine.schedules import ConstantSchedule, CosineSchedule, StepSchedule, schedule_from_config
from cnnstudio.engine.stats import LayerStats
from cnnstudio.engine.trainer import EpochReport, StepReport, Trainer

__all__ = ["Backend", "BackendUnavailableError", "cupy_status", "get_backend", "to_host", "EvalResult",
           "evaluate", "softmax_cross_entropy", "Network", "WeightsMismatchError", "SGD", "Adam", "Optimizer",
           "optimizer_from_config", "ConstantSchedule", "CosineSchedule", "StepSchedule", "schedule_from_config",
           "LayerStats", "EpochReport", "StepReport", "Trainer"]
