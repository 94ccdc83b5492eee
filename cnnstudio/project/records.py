"""Checks, on load, of the parts of a project the rest of the app trusts: history and optimizer state.

Both raise ValueError with the field or array and the value; ``project.file`` adds the
file's name. The history's epoch records go straight into the training plots (text there
raised TypeError in pyqtgraph, with half-drawn plots); the optimizer state goes straight
into the optimizer's buffers (a moment of shape (3,) broadcast silently into an (8, 1, 3, 3)
buffer, a NaN poisoned every later step, a key without a slot stopped ``train`` with an
internal error).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from cnnstudio.project import limits

#: whole-number fields of an epoch record / a learning-rate change, with their least value
_COUNTS = {"epoch": 1, "global_step": 0, "step": 0}
#: the fields the plots and reports read; other keys (a later version's) are kept as they are
_NUMBERS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_sec") + tuple(_COUNTS)
_SLOT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


def _show(value: Any) -> str:
    return repr(value)[:60]


def _check_record(where: str, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ValueError(f"{where} must be an object, got {type(record).__name__} {_show(record)}")
    for key, value in record.items():
        if value is None or key not in _NUMBERS:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}.{key} must be a number or null, got {_show(value)}")
        if key in _COUNTS and (not isinstance(value, int) or value < _COUNTS[key]):
            raise ValueError(f"{where}.{key} must be a whole number >= {_COUNTS[key]}, got {_show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            record[key] = None  # what the file would have held: the writer saves NaN as null
    return record


def check_history_records(history: dict[str, Any]) -> None:
    """history.epochs and history.lr_changes: lists (at most MAX_HISTORY_RECORDS) of objects
    whose known fields are numbers or null; epoch/step counts whole numbers. ValueError otherwise."""
    for key in ("epochs", "lr_changes"):
        items = history.get(key)
        if not isinstance(items, list):
            raise ValueError(f"history.{key} must be a list of objects, got {type(items).__name__}")
        if len(items) > limits.MAX_HISTORY_RECORDS:
            raise ValueError(f"history.{key} holds {len(items):,} records, more than the "
                             f"{limits.MAX_HISTORY_RECORDS:,} a project keeps")
        for i, record in enumerate(items):
            _check_record(f"history.{key}[{i}]", record)
    hyper = history.get("hyperparameters")
    if hyper is not None and not isinstance(hyper, dict):
        raise ValueError(f"history.hyperparameters must be an object, got {_show(hyper)}")


def check_optimizer_state(state: dict[str, np.ndarray], param_shapes: dict[str, tuple[int, ...]]) -> None:
    """``state`` as ``Optimizer.get_state`` writes it: ``"steps"`` (a whole number >= 0, 0-d) and
    ``"{slot}/{param}"`` float arrays of exactly their parameter's shape, all finite."""
    for key, arr in state.items():
        if key == "steps":
            if arr.shape != () or arr.dtype.kind not in "iu" or int(arr) < 0 or int(arr) > 2**53:
                raise ValueError(f"optimizer state 'steps' must be one whole number >= 0, got "
                                 f"{arr.dtype} of shape {arr.shape}")
            continue
        slot, sep, name = key.partition("/")
        if not sep or not _SLOT.fullmatch(slot):
            raise ValueError(f"optimizer state {key!r}: expected 'slot/parameter' such as 'm/0.W' or 'steps'")
        expected = param_shapes.get(name)
        if expected is None:
            raise ValueError(f"optimizer state {key!r}: the network has no trainable parameter {name!r}")
        if arr.dtype.kind != "f":
            raise ValueError(f"optimizer state {key!r} has dtype {arr.dtype}, expected floating point")
        if tuple(arr.shape) != tuple(expected):
            raise ValueError(f"optimizer state {key!r} has shape {tuple(arr.shape)}, expected {tuple(expected)} "
                             f"(the shape of {name})")
        if not np.isfinite(arr).all():
            raise ValueError(f"optimizer state {key!r} holds NaN or infinite values")
