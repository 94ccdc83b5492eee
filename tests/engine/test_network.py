import numpy as np
import pytest

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.layers import Dense, Dropout, Flatten, ReLU, Softmax
from cnnstudio.engine.network import Network, WeightsMismatchError
from cnnstudio.engine.optimizers import SGD


def mlp(seed=0, dtype=np.float32):
    layers = [Flatten(), Dense(6), ReLU(), Dense(3), Softmax()]
    return Network(layers, (1, 4, 4), dtype=dtype, seed=seed)


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 4, 4)).astype(np.float32), rng.integers(0, 3, n)


def test_shapes_chain_and_param_count():
    net = mlp()
    assert net.shapes == [(1, 4, 4), (16,), (6,), (6,), (3,), (3,)]
    assert net.param_count() == 16 * 6 + 6 + 6 * 3 + 3
    assert net.fused_softmax


def test_forward_returns_probabilities():
    net = mlp()
    x, _ = batch()
    p = net.forward(x)
    assert p.shape == (8, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_forward_activations_equal_manual_layer_by_layer_forward():
    net = mlp()
    x, _ = batch(5)
    w = net.get_weights()
    h = x.reshape(5, -1)
    h1 = np.maximum(h @ w["1.W"] + w["1.b"], 0)
    logits = h1 @ w["3.W"] + w["3.b"]
    e = np.exp(logits - logits.max(1, keepdims=True))
    expected = [h, h @ w["1.W"] + w["1.b"], h1, logits, e / e.sum(1, keepdims=True)]
    acts = net.forward_activations(x)
    assert len(acts) == 5
    for got, want in zip(acts, expected):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts[-1], net.forward(x), rtol=1e-6)
    np.testing.assert_allclose(net.forward_logits(x), logits, rtol=1e-5, atol=1e-6)


def test_forward_activations_are_copies():
    net = mlp()
    x, _ = batch(2)
    first = net.forward_activations(x)
    saved = [a.copy() for a in first]
    net.forward_activations(x * 3)
    for a, b in zip(first, saved):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_weights_other_seed_differs():
    a, b, c = mlp(0).get_weights(), mlp(0).get_weights(), mlp(1).get_weights()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["1.W"], c["1.W"])


def test_weights_round_trip():
    src, dst = mlp(0), mlp(5)
    x, _ = batch()
    dst.set_weights(src.get_weights())
    np.testing.assert_array_equal(dst.forward(x), src.forward(x))
    assert sorted(src.get_weights()) == ["1.W", "1.b", "3.W", "3.b"]


def test_get_weights_is_a_copy():
    net = mlp()
    w = net.get_weights()
    w["1.W"][...] = 0
    assert np.any(net.get_weights()["1.W"] != 0)


def test_set_weights_names_the_mismatching_key_and_shapes():
    net = mlp()
    w = net.get_weights()
    bad = dict(w, **{"3.W": np.zeros((3, 6), np.float32)})
    with pytest.raises(WeightsMismatchError, match=r"'3\.W' \(layer 3 Dense\) expected shape \(6, 3\), got \(3, 6\)"):
        net.set_weights(bad)
    missing = {k: v for k, v in w.items() if k != "1.b"}
    with pytest.raises(WeightsMismatchError, match=r"missing '1\.b'"):
        net.set_weights(missing)
    with pytest.raises(WeightsMismatchError, match=r"unexpected '7\.W'"):
        net.set_weights(dict(w, **{"7.W": np.zeros(2)}))
    # A refused set changes nothing.
    np.testing.assert_array_equal(net.get_weights()["3.W"], w["3.W"])


def test_input_shape_mismatch_is_explained():
    net = mlp()
    with pytest.raises(ValueError, match=r"expected batches of shape \(N, 1, 4, 4\), got \(2, 1, 5, 5\)"):
        net.forward(np.zeros((2, 1, 5, 5), np.float32))


def test_shape_error_names_the_layer_index():
    with pytest.raises(ShapeError, match=r"layer 0"):
        Network([Dense(3), Softmax()], (1, 4, 4))


def test_train_step_matches_manual_sgd_update():
    net = mlp(dtype=np.float64)
    x, y = batch()
    w = net.get_weights()
    loss, acc = net.train_step(x, y, SGD(momentum=0.0), lr=0.1)
    h = x.reshape(8, -1).astype(np.float64)
    z1 = h @ w["1.W"] + w["1.b"]
    a1 = np.maximum(z1, 0)
    logits = a1 @ w["3.W"] + w["3.b"]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert loss == pytest.approx(-np.log(p[np.arange(8), y]).mean())
    assert acc == pytest.approx((logits.argmax(1) == y).mean())
    d = (p - np.eye(3)[y]) / 8
    g3w, g3b = a1.T @ d, d.sum(0)
    dz1 = (d @ w["3.W"].T) * (z1 > 0)
    g1w, g1b = h.T @ dz1, dz1.sum(0)
    new = net.get_weights()
    np.testing.assert_allclose(new["3.W"], w["3.W"] - 0.1 * g3w, rtol=1e-10)
    np.testing.assert_allclose(new["3.b"], w["3.b"] - 0.1 * g3b, rtol=1e-10)
    np.testing.assert_allclose(new["1.W"], w["1.W"] - 0.1 * g1w, rtol=1e-10)
    np.testing.assert_allclose(new["1.b"], w["1.b"] - 0.1 * g1b, rtol=1e-10)


def test_train_step_collects_layer_stats():
    net = mlp()
    x, y = batch()
    net.train_step(x, y, SGD(), 0.01)
    assert net.last_stats is None
    net.train_step(x, y, SGD(), 0.01, collect_stats=True)
    stats = net.last_stats
    assert [s.layer_type for s in stats] == ["Flatten", "Dense", "ReLU", "Dense"]
    assert stats[2].dead_fraction is not None and 0.0 <= stats[2].dead_fraction <= 1.0
    assert stats[1].dead_fraction is None
    assert stats[0].weight_norm is None and stats[1].weight_norm > 0
    assert stats[1].grad_norm > 0 and stats[3].update_ratio > 0
    assert stats[0].act_mean == pytest.approx(float(x.mean()), rel=1e-5)


def test_dead_fraction_counts_units_zero_for_every_sample():
    net = Network([Flatten(), Dense(4), ReLU(), Dense(2), Softmax()], (3,), seed=0)
    w = net.get_weights()
    w["1.W"][...] = 0
    w["1.b"][...] = [1.0, -1.0, -1.0, 1.0]  # units 1 and 2 are dead for any input
    net.set_weights(w)
    net.train_step(np.ones((4, 3), np.float32), np.array([0, 1, 0, 1]), SGD(momentum=0.0), 1e-6,
                   collect_stats=True)
    assert net.last_stats[2].dead_fraction == pytest.approx(0.5)


def test_dropout_is_identity_at_inference():
    net = Network([Dense(50), Dropout(0.5), Dense(2), Softmax()], (10,), seed=0)
    x = np.ones((4, 10), np.float32)
    np.testing.assert_array_equal(net.forward(x), net.forward(x))


# ---- convolutional networks ---------------------------------------------------
from cnnstudio.engine.layers import BatchNorm, Conv2D, MaxPool2D  # noqa: E402


def conv_net(dtype=np.float32, seed=0, bn=False):
    layers = [Conv2D(3, (3, 2), stride=1, padding="same"), *([BatchNorm()] if bn else []), ReLU(),
              MaxPool2D(2), Flatten(), Dense(4), Softmax()]
    return Network(layers, (2, 6, 5), dtype=dtype, seed=seed)


def naive_conv_same(x, w, b):
    """x: (N, C, H, W), w: (F, C, kh, kw); TensorFlow 'same' (extra pad after), stride 1."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    xp = np.zeros((n, c, h + kh - 1, wd + kw - 1))
    xp[:, :, top:top + h, left:left + wd] = x
    out = np.zeros((n, f, h, wd))
    for i in range(h):
        for j in range(wd):
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", xp[:, :, i:i + kh, j:j + kw], w) + b
    return out


def test_conv_forward_activations_equal_naive_nchw_computation():
    net = conv_net()
    x = np.random.default_rng(3).normal(size=(4, 2, 6, 5)).astype(np.float32)
    w = net.get_weights()
    conv = naive_conv_same(x, w["0.W"], w["0.b"])
    relu = np.maximum(conv, 0)
    pool = relu[:, :, :6, :4].reshape(4, 3, 3, 2, 2, 2).max(axis=(3, 5))
    flat = pool.reshape(4, -1)
    logits = flat @ w["4.W"] + w["4.b"]
    e = np.exp(logits - logits.max(1, keepdims=True))
    expected = [conv, relu, pool, flat, logits, e / e.sum(1, keepdims=True)]
    acts = net.forward_activations(x)
    assert [a.shape for a in acts] == [(4, 3, 6, 5), (4, 3, 6, 5), (4, 3, 3, 2), (4, 18), (4, 4), (4, 4)]
    for got, want in zip(acts, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.forward(x), expected[-1], rtol=1e-5, atol=1e-6)


class GradRecorder:
    """An optimizer that only records the gradients (so the weights stay put)."""

    def step(self, params_and_grads, lr):
        self.grads = {name: g.copy() for name, _, g in params_and_grads}


def test_whole_network_gradient_matches_finite_differences():
    net = conv_net(dtype=np.float64, bn=True)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 2, 6, 5))
    y = np.array([0, 3, 1])
    rec = GradRecorder()
    net.train_step(x, y, rec, 0.0)
    params = {name: p for name, p, _ in net.parameters()}
    eps = 1e-6
    for name in ["0.W", "0.b", "1.gamma", "1.beta", "5.W", "5.b"]:
        p = params[name].reshape(-1)
        for idx in rng.choice(p.size, size=min(4, p.size), replace=False):
            old = p[idx]
            p[idx] = old + eps
            up, _ = net.train_step(x, y, GradRecorder(), 0.0)
            p[idx] = old - eps
            down, _ = net.train_step(x, y, GradRecorder(), 0.0)
            p[idx] = old
            numeric = (up - down) / (2 * eps)
            assert rec.grads[name].reshape(-1)[idx] == pytest.approx(numeric, rel=1e-4, abs=1e-8), name


def test_batchnorm_state_is_part_of_the_weights():
    net = conv_net(bn=True)
    w = net.get_weights()
    assert {"1.running_mean", "1.running_var", "1.gamma", "1.beta"} <= set(w)
    x = np.random.default_rng(0).normal(size=(8, 2, 6, 5)).astype(np.float32)
    net.train_step(x, np.zeros(8, int), SGD(), 0.01)
    assert not np.array_equal(net.get_weights()["1.running_mean"], w["1.running_mean"])
    other = conv_net(bn=True, seed=3)
    other.set_weights(net.get_weights())
    np.testing.assert_array_equal(other.forward(x), net.forward(x))
