"""Evaluation of a trained network: loss, accuracy, confusion matrix and probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnstudio.engine.backend import to_host
from cnnstudio.engine.losses import check_labels, log_softmax
from cnnstudio.engine.network import Network


@dataclass(frozen=True)
class EvalResult:
    """``confusion[i, j]`` counts samples of true class i predicted as j: (K, K) int64.
    ``probs``: (N, K) float32 host array."""

    loss: float
    accuracy: float
    confusion: np.ndarray
    probs: np.ndarray


def evaluate(network: Network, x: Any, y: Any, batch_size: int = 256, num_classes: int | None = None) -> EvalResult:
    """Inference-mode loss and accuracy over x: (N, C, H, W) or (N, F), y: (N,) int, in batches."""
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    if len(x) != n or n == 0:
        raise ValueError(f"evaluate: {len(x)} samples and {n} labels; they must match and not be empty")
    outputs = int(network.output_shape[0])
    k = outputs if num_classes is None else int(num_classes)
    if k < outputs:
        raise ValueError(f"evaluate: num_classes={k} but the network has {outputs} outputs; "
                         "give at least as many classes as outputs")
    check_labels(y, n, outputs)
    xp = network.xp
    probs = np.empty((n, network.output_shape[0]), dtype=np.float32)
    nll = 0.0
    for start in range(0, n, int(batch_size)):
        stop = min(start + int(batch_size), n)
        logp = log_softmax(network.forward_logits(x[start:stop]).astype(xp.float64), xp)
        yb = xp.asarray(y[start:stop])
        nll -= float(logp[xp.arange(stop - start), yb].sum())
        probs[start:stop] = to_host(xp.exp(logp))
    pred = probs.argmax(axis=1)
    confusion = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    return EvalResult(nll / n, float((pred == y).mean()), confusion, probs)
