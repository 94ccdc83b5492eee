"""The evaluation job the panel runs in a worker thread (no Qt): fit the validation set to
the network, run the engine's ``evaluate`` chunk by chunk (progress, cancel, bounded memory),
and return an :class:`Evaluation`."""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from cnnstudio.gui.evaluation.results import Evaluation

#: images per engine call: progress and cancel between chunks; float copies stay small
CHUNK = 1000


def validation_set(state: Any) -> Any:
    """The validation Dataset of ``state.dataset`` ((train, val) or one Dataset), or None."""
    ds = state.dataset
    if isinstance(ds, (tuple, list)):
        ds = ds[-1] if ds else None
    return ds


def _network(spec: Any, weights: dict) -> Any:
    from cnnstudio.project.session import build_with_weights
    try:
        return build_with_weights(spec, weights)
    except Exception as exc:  # the spec was edited after training: the weights no longer fit
        raise ValueError(f"the trained weights do not fit the network as it is now ({exc}); "
                         "train it again, or undo the edit") from None


def run_evaluation(spec: Any, weights: dict, val: Any, report: Callable[[Any], None] | None = None,
                   cancel: threading.Event | None = None) -> Evaluation | None:
    """Evaluate ``weights`` on ``val``; ``report((done, total))`` after each chunk.

    Returns None when ``cancel`` was set. Raises ValueError/DataError with an explained
    message (empty set, grayscale vs colour, too few outputs, weights of another network).
    """
    from cnnstudio.engine.evaluation import evaluate
    from cnnstudio.project.session import fit_dataset

    from cnnstudio.project.datasource import missing_problem

    problem = missing_problem(val)
    if problem is not None:   # the project's data is missing or still loading: say so, never blame the network
        raise ValueError(problem)
    if val is None or len(val) == 0:
        raise ValueError("the validation set is empty: choose a dataset with validation images in the Dataset panel")
    fitted = fit_dataset(val, spec)  # resizes; a grayscale/colour mismatch raises the data layer's message
    net = _network(spec, weights)
    outputs = int(net.output_shape[0])
    if val.num_classes > outputs:
        raise ValueError(f"the network has {outputs} outputs but '{val.name}' has {val.num_classes} classes; "
                         f"set the last Dense layer to {val.num_classes} units and train again")
    k = max(outputs, val.num_classes)
    n = len(val)
    probs = np.empty((n, outputs), dtype=np.float32)
    confusion = np.zeros((k, k), dtype=np.int64)
    loss_sum = 0.0
    for start in range(0, n, CHUNK):
        if cancel is not None and cancel.is_set():
            return None
        stop = min(start + CHUNK, n)
        with np.errstate(all="ignore"):  # diverged weights: a NaN loss is reported, not warned about
            res = evaluate(net, spec.input.prepare(fitted.x[start:stop]), fitted.y[start:stop], num_classes=k)
        probs[start:stop] = res.probs
        confusion += res.confusion
        loss_sum += res.loss * (stop - start)
        if report is not None:
            report((stop, n))
    names = list(val.class_names) + [str(i) for i in range(val.num_classes, k)]
    return Evaluation(val.x, val.y, probs, confusion, names, loss_sum / n, float(np.trace(confusion)) / n, val.name)
