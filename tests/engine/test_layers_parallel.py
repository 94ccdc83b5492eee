"""The engine's parallel seam (engine.kernels): work split over threads gives the serial results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnstudio.engine import kernels, replicas
from cnnstudio.engine.layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD


def test_parallel_for_calls_every_item_once_on_several_threads():
    seen: dict[int, tuple[int, int]] = {}
    gate = threading.Barrier(2, timeout=5)   # both threads must be inside at once

    def fn(item, slot):
        if item < 2:
            gate.wait()
        seen[item] = (slot, threading.get_ident())

    kernels.parallel_for(fn, list(range(10)), threads=2)
    assert sorted(seen) == list(range(10))
    assert {slot for slot, _ in seen.values()} == {0, 1}
    assert len({ident for _, ident in seen.values()}) == 2


def test_parallel_for_raises_the_first_error_after_all_threads_stopped():
    done = []

    def fn(item, slot):
        if item == 3:
            raise ValueError("item 3 is bad")
        done.append(item)

    with pytest.raises(ValueError, match="item 3"):
        kernels.parallel_for(fn, list(range(8)), threads=2)
    assert 3 not in done


def test_compute_threads_is_per_thread_and_restored():
    inner = []
    with kernels.compute_threads(2):
        assert kernels.workers() == 2
        t = threading.Thread(target=lambda: inner.append(kernels.workers()))
        t.start()
        t.join()
    assert inner == [1] and kernels.workers() == 1
    with pytest.raises(ValueError, match="n must be"):
        with kernels.compute_threads(0):
            pass


def test_engine_threads_keeps_blas_at_one_thread():
    with kernels.engine_threads(2):
        assert kernels.blas_threads() == 1 and kernels.workers() == 2


def test_split_covers_the_range_in_order():
    assert kernels.split(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert kernels.split(2, 4) == [(0, 1), (1, 2)]


def run_layer(layer, x, dy, threads):
    with kernels.engine_threads(threads):
        y_inf = layer.forward(x, training=False).copy()
        y = layer.forward(x, training=True).copy()
        dx = layer.backward(dy.copy())
        dx = None if dx is None else dx.copy()
    return y_inf, y, dx, {k: g.copy() for k, g in layer.grads.items()}


def assert_same(a, b):
    for u, v in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(u, v)
    assert a[3].keys() == b[3].keys()
    for key in a[3]:
        np.testing.assert_array_equal(a[3][key], b[3][key])


CONVS = [Conv2D(6, 3, 1, "same"), Conv2D(4, 3, 1, "same"), Conv2D(5, (3, 2), 2, 1)]
CONV_IDS = ["col2im", "flipped", "strided"]


def conv_case(conv, seed=1):
    layer = conv.build((5, 10, 10), np, np.float32, np.random.default_rng(0))
    layer.need_input_grad = True
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 9, 10, 10)).astype(np.float32)
    dy = rng.standard_normal((layer.filters, 9, *layer.out_shape[1:])).astype(np.float32)
    return layer, x, dy


@pytest.mark.parametrize("conv", CONVS, ids=CONV_IDS)
def test_chunked_conv_on_two_threads_is_bit_identical_to_serial(monkeypatch, conv):
    """Chunks do not depend on the thread count, and partial dW are summed in chunk order."""
    layer, x, dy = conv_case(conv)
    two_samples = 2 * layer._row_bytes()
    monkeypatch.setattr(Conv2D, "CHUNK_BYTES", two_samples)
    monkeypatch.setattr(Conv2D, "WHOLE_BATCH_BYTES", 0)
    with kernels.engine_threads(2):
        assert len(layer._chunks(9, layer._row_bytes())) == 5
    serial = run_layer(layer, x, dy, 1)
    assert_same(run_layer(layer, x, dy, 2), serial)
    assert_same(run_layer(layer, x, dy, 3), serial)


@pytest.mark.parametrize("conv", CONVS, ids=CONV_IDS)
def test_whole_batch_conv_on_two_threads_repeats_and_matches_serial(conv):
    """A whole batch is split in one range per thread: GEMMs of other widths may round
    differently (OpenBLAS), so equal to float32 precision, and bit-for-bit run to run."""
    layer, x, dy = conv_case(conv)
    with kernels.engine_threads(2):
        assert len(layer._chunks(9, layer._row_bytes())) == 1
    serial = run_layer(layer, x, dy, 1)
    first, again = run_layer(layer, x, dy, 2), run_layer(layer, x, dy, 2)
    assert_same(first, again)
    for u, v in zip(first[:3], serial[:3]):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-4)
    for key in serial[3]:
        np.testing.assert_allclose(first[3][key], serial[3][key], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("layer", [ReLU(), MaxPool2D(2), MaxPool2D(3, 2), AvgPool2D(2)], ids=repr)
def test_elementwise_and_pooling_on_two_threads_match_serial(monkeypatch, layer):
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1)
    layer.build((6, 9, 9), np, np.float32, np.random.default_rng(0))
    layer.need_input_grad = True
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4, 9, 9)).astype(np.float32)
    dy = rng.standard_normal((6, 4, *layer.output_shape((6, 9, 9))[1:])).astype(np.float32)
    assert_same(run_layer(layer, x, dy, 2), run_layer(layer, x, dy, 1))


def small_net(variant="plain"):
    """A small CNN; "dropout" adds Dropout (still split by samples), "batchnorm" BatchNorm (split by layers)."""
    layers = [Conv2D(4, 3, 1, "same"), ReLU(), MaxPool2D(2), Conv2D(6, 3, 1, "valid"), ReLU(), Flatten()]
    layers += {"plain": [], "dropout": [Dropout(0.25)], "batchnorm": [BatchNorm()]}[variant]
    return Network(layers + [Dense(10), Softmax()], (1, 12, 12), np, np.float32, seed=3)


def train(threads, steps=4, variant="plain"):
    net, opt = small_net(variant), SGD(momentum=0.9)
    rng = np.random.default_rng(4)
    x = rng.random((16, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    with kernels.engine_threads(threads):
        losses = [net.train_step(x, y, opt, 0.05)[0] for _ in range(steps)]
    return losses, net.get_weights()


def test_layer_split_training_on_two_threads_is_bit_identical_to_one_thread_when_chunked(monkeypatch):
    """With BatchNorm the network is split layer by layer (not by samples); chunks do not depend
    on the thread count, so two threads give exactly the serial result."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(Conv2D, "CHUNK_BYTES", 3000)        # several chunks per batch
    monkeypatch.setattr(Conv2D, "WHOLE_BATCH_BYTES", 0)
    a, b, serial = train(2, variant="batchnorm"), train(2, variant="batchnorm"), train(1, variant="batchnorm")
    assert a[0] == b[0] and a[0] == serial[0]
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key])
        np.testing.assert_array_equal(a[1][key], serial[1][key])


@pytest.mark.parametrize("variant", ["plain", "dropout", "batchnorm"])
def test_training_on_two_threads_repeats_bit_for_bit_and_follows_one_thread(monkeypatch, variant):
    """Dropout included: its numbers are drawn for the whole batch, so the masks are the serial ones."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1)
    a, b, serial = train(2, variant=variant), train(2, variant=variant), train(1, variant=variant)
    assert a[0] == b[0]
    np.testing.assert_allclose(a[0], serial[0], rtol=1e-4)
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key])
        np.testing.assert_allclose(a[1][key], serial[1][key], rtol=1e-4, atol=1e-5)


def test_sample_split_step_matches_the_serial_step_to_float32_precision(monkeypatch):
    """One step by samples on 3 threads (uneven shares) gives the serial loss, accuracy and gradients."""
    monkeypatch.setattr(replicas, "MIN_SAMPLES_PER_THREAD", 2)
    rng = np.random.default_rng(6)
    x = rng.random((22, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 10, 22)
    results = []
    for threads in (1, 3):
        net = small_net()
        with kernels.engine_threads(threads):
            assert (net._data_parallel(len(y)) is not None) == (threads > 1)
            loss, acc = net.train_step(x, y, SGD(), 0.0)
        results.append((loss, acc, {n: g.copy() for n, _, g in net.parameters()}))
    (l1, a1, g1), (l3, a3, g3) = results
    assert a1 == a3
    assert l3 == pytest.approx(l1, rel=1e-5)
    for name in g1:
        np.testing.assert_allclose(g3[name], g1[name], rtol=1e-4, atol=1e-6)


def test_networks_with_batch_dependent_layers_are_not_split_by_samples():
    assert replicas.can_split(small_net().layers) and replicas.can_split(small_net("dropout").layers)
    assert not replicas.can_split(small_net("batchnorm").layers)
    net = Network([Flatten(), Dense(4), BatchNorm(), Dense(3), Softmax()], (1, 4, 4), np, np.float32)
    with kernels.compute_threads(2):
        assert net._data_parallel(64) is None
        assert small_net()._data_parallel(64) is not None
        assert small_net()._data_parallel(8) is None   # too few samples per thread


def trainer_run(threads):
    from cnnstudio.engine.trainer import EpochReport, Trainer

    rng = np.random.default_rng(5)
    x = rng.random((40, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 10, 40)
    tr = Trainer(small_net(), SGD(momentum=0.9), x, y, x[:10], y[:10], batch_size=16, epochs=2,
                 lr=0.05, seed=1, threads=threads)
    epochs = [r for r in tr.run() if isinstance(r, EpochReport)]
    return [(e.train_loss, e.val_loss) for e in epochs], tr.network.get_weights()


def test_trainer_on_two_threads_repeats_bit_for_bit_and_restores_the_settings(monkeypatch):
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1)
    blas_before = kernels.blas_threads()
    a, b = trainer_run(2), trainer_run(2)
    assert a[0] == b[0]
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key])
    serial = trainer_run(1)
    np.testing.assert_allclose(np.array(a[0]), np.array(serial[0]), rtol=1e-4)
    assert kernels.workers() == 1 and kernels.blas_threads() == blas_before
