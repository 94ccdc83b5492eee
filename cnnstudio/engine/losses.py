"""Loss functions. The Softmax output layer is fused with cross-entropy here.

Fusing gives the simple, exact gradient ``(p - onehot) / N`` and lets the loss
be computed from log-sum-exp, so huge logits (1e4 in float32) never overflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def log_softmax(logits: Any, xp: Any = np) -> Any:
    """Stable log-probabilities. logits: (N, K) -> (N, K)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: Any, xp: Any = np) -> Any:
    """Stable softmax. logits: (N, K) -> probabilities (N, K), rows sum to 1."""
    e = xp.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_labels(y: Any, n: int, k: int) -> None:
    """Raise ValueError naming the bad label when ``y`` is not (n,) ints in [0, k)."""
    if tuple(y.shape) != (n,):
        raise ValueError(f"labels: expected shape ({n},) to match the batch, got {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or int(y.max()) >= k):
        bad = int(y.max()) if int(y.max()) >= k else int(y.min())
        raise ValueError(f"labels: class {bad} is outside 0..{k - 1}; the network's last layer has "
                         f"{k} outputs, so give it one unit per class")


def softmax_cross_entropy(logits: Any, y: Any, xp: Any = np) -> tuple[float, Any, Any]:
    """Mean cross-entropy of softmax(logits) against integer labels.

    logits: (N, K) float; y: (N,) int class indices in [0, K).
    Returns ``(loss, dlogits, probs)``: loss a Python float, dlogits (N, K) = (p - onehot) / N
    (the gradient of the mean loss), probs (N, K).
    """
    n, k = logits.shape
    check_labels(y, n, k)
    logp = log_softmax(logits, xp)
    rows = xp.arange(n)
    loss = float(-logp[rows, y].mean()) if n else 0.0
    probs = xp.exp(logp)
    dlogits = probs.copy()
    dlogits[rows, y] -= 1.0
    dlogits /= max(n, 1)
    return loss, dlogits, probs
