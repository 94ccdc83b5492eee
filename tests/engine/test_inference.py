"""The lean inference path for small batches (engine.inference): the same numbers as the layers'
own forward passes, bit for bit, with buffers that are per thread and outputs that are copies."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnstudio.engine import fused, inference, kernels
from cnnstudio.engine.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, LeakyReLU,
                                     MaxPool2D, ReLU, Softmax)
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD

MODES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not fused.HAVE_NUMBA,
                                                                 reason="numba not installed (the fast extra)"))]


@pytest.fixture(params=MODES)
def mode(request):
    with fused.use_numba(request.param == "numba"):
        yield request.param


def layers_mixed():
    """Every lean step and a few layers without one (BatchNorm, LeakyReLU, 3x3 pooling)."""
    return [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(5, (3, 2), stride=(2, 1), padding=1),
            BatchNorm(), LeakyReLU(0.1), MaxPool2D(3, 1), Conv2D(3, 1), ReLU(), AvgPool2D(2), Flatten(),
            Dense(7), ReLU(), Dropout(0.3), Dense(4), Softmax()]


def reference(net, call, x):
    """The same call with the lean path switched off."""
    old = inference.MAX_BATCH
    inference.MAX_BATCH = 0
    try:
        return call(net, x)
    finally:
        inference.MAX_BATCH = old


def train_a_little(net, shape):
    rng = np.random.default_rng(9)
    x = rng.random((16, *shape), dtype=np.float32)
    for _ in range(2):
        net.train_step(x, rng.integers(0, net.output_shape[0], 16), SGD(momentum=0.9), 0.05)


@pytest.mark.parametrize("n", [1, 2, inference.MAX_BATCH])
def test_lean_path_equals_the_layers_bit_for_bit(mode, n):
    shape = (2, 17, 15)
    net = Network(layers_mixed(), shape, seed=3)
    train_a_little(net, shape)   # BatchNorm's running statistics are not the initial ones
    x = np.random.default_rng(n).standard_normal((n, *shape)).astype(np.float32)
    for call in (lambda m, v: m.forward(v), lambda m, v: m.forward_logits(v)):
        got, want = call(net, x), reference(net, call, x)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    got_acts = net.forward_activations(x)
    want_acts = reference(net, lambda m, v: m.forward_activations(v), x)
    assert [a.shape for a in got_acts] == [a.shape for a in want_acts]
    for i, (got, want) in enumerate(zip(got_acts, want_acts)):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want, err_msg=f"layer {i}")
    np.testing.assert_array_equal(got_acts[1], np.maximum(got_acts[0], 0))   # ReLU still has its own


def test_batches_above_the_limit_take_the_usual_path(monkeypatch):
    net = Network([Flatten(), Dense(3), Softmax()], (1, 4, 4), seed=0)
    made = []
    real = inference.LeanRunner
    monkeypatch.setattr(inference, "LeanRunner", lambda *a, **k: made.append(a[1]) or real(*a, **k))
    net.forward(np.zeros((inference.MAX_BATCH + 1, 1, 4, 4), np.float32))
    assert made == []
    net.forward(np.zeros((1, 1, 4, 4), np.float32))
    assert made == [1]


def test_outputs_are_copies_and_weights_are_read_on_every_call(mode):
    shape = (1, 8, 8)
    net = Network([Conv2D(3, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()], shape, seed=1)
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((1, *shape), dtype=np.float32), rng.random((1, *shape), dtype=np.float32)
    first = net.forward(x1)
    kept = first.copy()
    acts = net.forward_activations(x1)
    kept_acts = [a.copy() for a in acts]
    net.forward(x2)
    net.forward_activations(x2)
    np.testing.assert_array_equal(first, kept)
    for a, b in zip(acts, kept_acts):
        np.testing.assert_array_equal(a, b)
    train_a_little(net, shape)   # the weights change in place
    np.testing.assert_array_equal(net.forward(x1), reference(net, lambda m, v: m.forward(v), x1))
    assert not np.array_equal(net.forward(x1), kept)


def test_no_thread_pool_query_per_call(monkeypatch):
    net = Network([Conv2D(3, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()], (1, 8, 8), seed=1)
    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    net.forward(x)   # the runner is made on the first call

    def refuse() -> int:
        raise AssertionError("the lean path asked the thread pool")

    monkeypatch.setattr(kernels, "blas_threads", refuse)
    monkeypatch.setattr("cnnstudio.engine.layers.conv.blas_threads", refuse)
    net.forward(x)
    net.forward_activations(x)


def test_threads_have_their_own_buffers(mode):
    shape = (1, 10, 10)
    net = Network([Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(5), Softmax()], shape, seed=2)
    rng = np.random.default_rng(1)
    inputs = [rng.random((1, *shape), dtype=np.float32) for _ in range(2)]
    want = [reference(net, lambda m, v: m.forward(v), x) for x in inputs]
    start = threading.Barrier(2)
    wrong: list[int] = []

    def run(k: int) -> None:
        start.wait(timeout=10)
        for _ in range(300):
            if not np.array_equal(net.forward(inputs[k]), want[k]):
                wrong.append(k)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []
