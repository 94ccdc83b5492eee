"""The executor's fused ops (engine.fused): ReLU + MaxPool2D as one op, ReLU in place after a
Conv2D or Dense. Every test runs with the compiled (numba) kernels and with the NumPy fallback;
the fused results must equal the separate layers' bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine import fused, kernels
from cnnstudio.engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD

MODES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not fused.HAVE_NUMBA,
                                                                 reason="numba not installed (the fast extra)"))]


@pytest.fixture(params=MODES)
def mode(request):
    with fused.use_numba(request.param == "numba"):
        assert fused.numba_enabled() == (request.param == "numba")
        yield request.param


def built(layer, shape, dtype=np.float32):
    return layer.build(shape, np, dtype, np.random.default_rng(0))


def quantised(rng, shape, dtype=np.float32):
    """Values on a coarse grid around zero: many ties and many exact zeros."""
    return (rng.integers(-3, 4, shape) * 0.5).astype(dtype)


@pytest.mark.parametrize("hw,pool,stride", [((8, 8), 2, 2), ((7, 9), 2, 2), ((9, 9), 3, 2), ((6, 8), (2, 3), None)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_maxpool_op_equals_the_two_layers(mode, hw, pool, stride, dtype):
    shape = (3, *hw)
    rng = np.random.default_rng(1)
    relu_a, pool_a = built(ReLU(), shape, dtype), built(MaxPool2D(pool, stride), shape, dtype)
    relu_b, pool_b = built(ReLU(), shape, dtype), built(MaxPool2D(pool, stride), shape, dtype)
    op = fused.ReluMaxPool(relu_b, pool_b, fused.numba_enabled())
    for _ in range(2):   # a second step reuses the buffers
        x = quantised(rng, (shape[0], 5, *hw), dtype)
        want = pool_a.forward(relu_a.forward(x, True), True).copy()
        got = op.forward(x, True)
        np.testing.assert_array_equal(got, want)
        dy = rng.standard_normal(want.shape).astype(dtype)
        want_dx = relu_a.backward(pool_a.backward(dy.copy())).copy()
        got_dx = op.backward(dy.copy())
        np.testing.assert_array_equal(got_dx, want_dx)
        assert got_dx.shape == x.shape


def test_compiled_kernel_is_used_for_2x2_windows_only(mode):
    shape = (2, 8, 8)
    two = fused.ReluMaxPool(built(ReLU(), shape), built(MaxPool2D(2), shape), fused.numba_enabled())
    three = fused.ReluMaxPool(built(ReLU(), shape), built(MaxPool2D(3, 2), shape), fused.numba_enabled())
    assert two.compiled == (mode == "numba")
    assert not three.compiled


def test_relu_maxpool_keeps_nan_and_sends_it_no_gradient(mode):
    shape = (1, 4, 4)
    op = fused.ReluMaxPool(built(ReLU(), shape), built(MaxPool2D(2), shape), fused.numba_enabled())
    x = np.ones((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 2] = np.nan
    y = op.forward(x, True)
    assert np.isnan(y[0, 0, 0, 1]) and np.isfinite(np.delete(y.ravel(), 1)).all()
    dx = op.backward(np.ones_like(y))
    assert np.isfinite(dx).all()
    assert dx[0, 0, :2, 2:].sum() == 0     # the NaN window's gradient is dropped, like ReLU's mask does
    assert dx.sum() == 3


def test_first_layer_relu_maxpool_returns_no_input_gradient(mode):
    net = Network([ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()], (2, 6, 6), seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32)
    loss, _ = net.train_step(x, np.array([0, 1, 2, 0]), SGD(), 0.1)
    assert np.isfinite(loss)
    assert isinstance(net._ops()[0], fused.ReluMaxPool)


def test_in_place_relu_equals_the_layer():
    if not fused.HAVE_NUMBA:
        pytest.skip("numba not installed (the fast extra)")
    rng = np.random.default_rng(2)
    for shape in [(4, 3, 5, 5), (7, 11)]:
        layer = built(ReLU(), shape[1:] if len(shape) == 2 else (shape[0], *shape[2:]))
        x = quantised(rng, shape)
        want = layer.forward(x, True).copy()
        dy = rng.standard_normal(shape).astype(np.float32)
        want_dx = layer.backward(dy.copy()).copy()
        op = fused.InPlaceReLU(layer)
        x2 = x.copy()
        got = op.forward(x2, True)
        assert got is x2   # in place: the producer's output buffer
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(op.backward(dy.copy()), want_dx)


def lenet_like():
    return [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(6, 3), ReLU(), MaxPool2D(2),
            Flatten(), Dense(12), ReLU(), Dropout(0.25), Dense(3), Softmax()]


def test_plan_fuses_relu_pool_pairs_and_relu_after_conv_or_dense(mode):
    net = Network(lenet_like(), (1, 12, 12), seed=0)
    kinds = [type(op).__name__ for op in net._ops()]
    relu_alone = "InPlaceReLU" if mode == "numba" else "ReLU"
    assert kinds == ["Conv2D", "ReluMaxPool", "Conv2D", "ReluMaxPool", "Flatten", "Dense", relu_alone,
                     "Dropout", "Dense"]
    # The description is untouched: the layers are still separate.
    assert [layer.type_name for layer in net.layers] == [
        "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "ReLU", "Dropout",
        "Dense", "Softmax"]


def unfused_plan(monkeypatch):
    monkeypatch.setattr(fused, "plan", lambda layers, compiled=None: list(layers))


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_training_is_bit_identical_to_the_separate_layers(mode, threads, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.random((32, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 3, 32)

    def train(net):
        opt = SGD(momentum=0.9)
        with kernels.engine_threads(threads):
            losses = [net.train_step(x, y, opt, 0.05) for _ in range(4)]
        return losses, net.get_weights()

    got_losses, got = train(Network(lenet_like(), (1, 12, 12), seed=7))
    with monkeypatch.context() as m:
        unfused_plan(m)
        want_losses, want = train(Network(lenet_like(), (1, 12, 12), seed=7))
    assert got_losses == want_losses
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_activations_and_stats_still_show_every_layer(mode):
    net = Network(lenet_like(), (1, 12, 12), seed=0)
    rng = np.random.default_rng(4)
    x = rng.random((8, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 3, 8)
    net.train_step(x, y, SGD(), 0.05)
    acts = net.forward_activations(x[:2])
    assert [a.shape for a in acts[:3]] == [(2, 4, 12, 12), (2, 4, 12, 12), (2, 4, 6, 6)]
    np.testing.assert_array_equal(acts[1], np.maximum(acts[0], 0))   # the ReLU's own activation
    net.train_step(x, y, SGD(), 0.05, collect_stats=True)
    stats = net.last_stats
    assert [s.layer_type for s in stats][:3] == ["Conv2D", "ReLU", "MaxPool2D"]
    assert stats[1].dead_fraction is not None


def test_fused_network_gradient_matches_finite_differences(mode):
    """Finite differences through Conv -> ReLU -> MaxPool -> Dense, float64, the fused path."""
    net = Network([Conv2D(2, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()],
                  (1, 6, 6), dtype=np.float64, seed=1)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 1, 6, 6))
    y = np.array([0, 1, 2, 1])

    class Capture:   # an optimizer that keeps the gradients and changes nothing
        def step(self, params, lr):
            self.grads = {name: g.copy() for name, _, g in params}

    cap = Capture()
    net.train_step(x, y, cap, 0.0)
    w = net.layers[0].params["W"]
    eps = 1e-6
    for index in [(0, 0, 0, 0), (1, 0, 1, 2), (0, 0, 2, 1)]:
        old = w[index]
        w[index] = old + eps
        plus = net.train_step(x, y, Capture(), 0.0)[0]
        w[index] = old - eps
        minus = net.train_step(x, y, Capture(), 0.0)[0]
        w[index] = old
        assert cap.grads["0.W"][index] == pytest.approx((plus - minus) / (2 * eps), rel=1e-5, abs=1e-8)


@pytest.mark.skipif(not fused.HAVE_NUMBA, reason="numba not installed (the fast extra)")
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_and_numpy_kernels_train_alike_bit_for_bit(threads):
    rng = np.random.default_rng(6)
    x = rng.random((32, 1, 12, 12), dtype=np.float32)
    y = rng.integers(0, 3, 32)
    runs = []
    for on in (True, False):
        with fused.use_numba(on), kernels.engine_threads(threads):
            net = Network(lenet_like(), (1, 12, 12), seed=11)
            opt = SGD(momentum=0.9)
            losses = [net.train_step(x, y, opt, 0.05) for _ in range(3)]
        runs.append((losses, net.get_weights()))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key], err_msg=key)
