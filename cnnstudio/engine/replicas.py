"""Data-parallel training steps: each engine thread runs the whole network on its share of the batch.

Splitting every layer over threads (engine.kernels) meets at a barrier after each
layer, and the small layers of small networks (pooling, ReLU, dense) stay serial, so
lenet5 gained only ~1.2x from two threads that way. Here thread i runs forward and
backward of every layer on samples ``spans[i]`` with its own *replica* of the layers:
same parameter arrays (the very same dict), its own gradients and scratch buffers.
One barrier per step; then the gradients are summed in replica order, so a run is
bit-for-bit repeatable for a given thread count.

Only for layers whose result on a sample does not depend on the rest of the batch:
BatchNorm (batch statistics) keeps the layer-by-layer split of ``engine.kernels``.
Dropout's random numbers are drawn once for the whole batch before the threads start
and handed out by samples, so the masks are the ones a serial step draws.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from cnnstudio.engine import fused
from cnnstudio.engine.kernels import compute_threads, parallel_for, split
from cnnstudio.engine.layers import Dropout, Layer
from cnnstudio.engine.losses import softmax_cross_entropy

#: Fewer samples than this per range and a step is not split by samples (tiny GEMMs).
MIN_SAMPLES_PER_THREAD = 8

#: Ranges per thread. More ranges, handed out as threads come free, would let the others
#: take over from a thread that waits for a core (on this shared machine a woken thread
#: waited median 1.2 ms, p90 5 ms), but smaller ranges cost more than that saved here:
#: lenet5 batch 64 on two threads, 11.9k img/s with 1 range per thread, 9.4k with 2, 6.2k with 4.
PIECES_PER_THREAD = 1


def plan(n: int, threads: int) -> tuple[int, int]:
    """(threads, ranges) for a batch of n samples, or (1, 1) when it is too small to split."""
    pieces = min(threads * PIECES_PER_THREAD, n // MIN_SAMPLES_PER_THREAD)
    return (min(threads, pieces), pieces) if pieces >= 2 else (1, 1)


def can_split(layers: Sequence[Layer]) -> bool:
    """True when every layer computes each sample on its own (each declares ``sample_independent``)."""
    return all(layer.sample_independent for layer in layers)


def replicate(layer: Layer) -> Layer:
    """A built copy of ``layer`` that shares its parameter arrays and has its own grads and buffers."""
    twin = type(layer).from_config(layer.get_config())
    # A throwaway generator: the initial weights are discarded, and drawing them from the
    # network's generator would shift every later draw (Dropout masks) of a seeded run.
    twin.build(layer.input_shape, layer.xp, layer.dtype, np.random.default_rng(0), init=layer.init)
    twin.params = layer.params   # the same dict: optimizer updates and set_weights reach every replica
    twin.need_input_grad = layer.need_input_grad
    return twin


class DataParallel:
    """Runs forward + backward of ``body`` (a network's layers without the fused Softmax)
    on ``pieces`` sample ranges, ``threads`` at a time; range 0 uses ``body`` itself."""

    def __init__(self, body: Sequence[Layer], threads: int, pieces: int | None = None):
        self.body = list(body)
        self.threads = threads
        self.pieces = pieces or threads
        self.sets = [self.body] + [[replicate(layer) for layer in self.body] for _ in range(self.pieces - 1)]
        self._plans: dict[bool, list[list[Any]]] = {}

    def _ops(self) -> list[list[Any]]:
        """Each replica's layers as the executor's ops (``engine.fused.plan``), per kernel mode."""
        key = fused.numba_enabled()
        if key not in self._plans:
            self._plans[key] = [fused.plan(replica) for replica in self.sets]
        return self._plans[key]

    def forward_backward(self, x: Any, y: Any, to_internal: Callable[[Any], Any]) -> tuple[float, float]:
        """x: public (N, C, H, W) or (N, F) batch; y: (N,) int labels on the backend.

        Leaves the batch-mean gradients in ``body``'s grads (as one serial backward would)
        and returns (mean loss, accuracy).
        """
        n = len(y)
        spans = split(n, self.pieces)
        out: list[tuple[float, float]] = [(0.0, 0.0)] * len(spans)
        plans = self._ops()

        def work(i: int, slot: int) -> None:
            lo, hi = spans[i]
            with compute_threads(1):   # this thread is one of the workers already
                out[i] = self._run(plans[i], to_internal(x[lo:hi]), y[lo:hi], (hi - lo) / n, self.body[0].xp)

        self._deal_dropout(n, spans)
        try:
            parallel_for(work, list(range(len(spans))), self.threads)
        finally:
            for replica in self.sets:
                for layer in replica:
                    if isinstance(layer, Dropout):
                        layer.uniform = None
        for replica in self.sets[1:len(spans)]:   # fixed order: repeatable sums
            for layer, twin in zip(self.body, replica):
                for key, g in layer.grads.items():
                    g += twin.grads[key]
        loss = sum(part_loss for part_loss, _ in out)
        correct = sum(c for _, c in out)
        return loss, correct / n

    def _deal_dropout(self, n: int, spans: list[tuple[int, int]]) -> None:
        """Draw each Dropout layer's numbers for the whole batch, in its internal layout
        ((C, N, H, W) or (N, F)), and give every replica its samples' share."""
        for k, layer in enumerate(self.body):
            if not isinstance(layer, Dropout) or layer.rate == 0.0:
                continue
            shape = layer.input_shape
            full = (shape[0], n) + shape[1:] if len(shape) == 3 else (n,) + shape
            u = layer.rng.random(full, dtype=layer.dtype)
            for replica, (lo, hi) in zip(self.sets, spans):
                replica[k].uniform = u[:, lo:hi] if len(shape) == 3 else u[lo:hi]

    @staticmethod
    def _run(layers: list[Any], h: Any, y: Any, share: float, xp: Any) -> tuple[float, float]:
        """One range: forward, fused softmax cross-entropy, backward. Returns
        (its share of the batch-mean loss, number of correct predictions)."""
        for layer in layers:
            h = layer.forward(h, True)
        if h.ndim != 2:
            raise ValueError(f"Network: the last layer must output class scores (N, K), got internal shape "
                             f"{tuple(h.shape)}; add Flatten and Dense before the output")
        loss, grad, _ = softmax_cross_entropy(h, y, xp)
        correct = float((h.argmax(axis=1) == y).sum())
        grad *= h.dtype.type(share)   # the gradient of the whole batch's mean loss
        for layer in reversed(layers):
            grad = layer.backward(grad)
        return loss * share, correct
