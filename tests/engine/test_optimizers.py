import numpy as np
import pytest

from cnnstudio.engine.optimizers import SGD, Adam, optimizer_from_config

W0 = np.array([1.0, -2.0])
G1 = np.array([0.5, 0.25])
G2 = np.array([-1.0, 2.0])


def run(opt, grads, lr=0.1, w0=W0, name="0.W"):
    w = w0.copy()
    g = np.zeros_like(w)
    for grad in grads:
        g[...] = grad
        opt.step([(name, w, g)], lr)
    return w


def test_plain_sgd():
    np.testing.assert_allclose(run(SGD(momentum=0.0), [G1, G2]), W0 - 0.1 * G1 - 0.1 * G2)


def test_sgd_momentum_by_hand():
    # v1 = g1; v2 = 0.9 v1 + g2; w = w0 - lr v1 - lr v2
    v1 = G1
    v2 = 0.9 * v1 + G2
    np.testing.assert_allclose(run(SGD(momentum=0.9), [G1, G2]), W0 - 0.1 * v1 - 0.1 * v2)


def test_sgd_nesterov_by_hand():
    v1 = G1
    v2 = 0.9 * v1 + G2
    expected = W0 - 0.1 * (G1 + 0.9 * v1) - 0.1 * (G2 + 0.9 * v2)
    np.testing.assert_allclose(run(SGD(momentum=0.9, nesterov=True), [G1, G2]), expected)


def test_sgd_weight_decay_is_l2_on_matrices_only():
    w0 = np.array([[1.0, -2.0]])
    got = run(SGD(momentum=0.0, weight_decay=0.1), [G1[None]], w0=w0)
    np.testing.assert_allclose(got, w0 - 0.1 * (G1 + 0.1 * w0))
    # 1-D parameters (biases) are not decayed.
    np.testing.assert_allclose(run(SGD(momentum=0.0, weight_decay=0.1), [G1], name="0.b"), W0 - 0.1 * G1)


def test_adam_two_steps_by_hand():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    m = v = np.zeros(2)
    w = W0.copy()
    for t, g in enumerate([G1, G2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(run(Adam(), [G1, G2], lr=lr), w, rtol=1e-12)
    # The first Adam step moves each weight by lr (bias correction makes m/sqrt(v) = sign(g)).
    np.testing.assert_allclose(run(Adam(), [G1], lr=lr), W0 - lr * np.sign(G1), rtol=1e-6)


def test_adam_weight_decay_is_decoupled():
    w0 = np.array([[1.0, -2.0]])
    got = run(Adam(weight_decay=0.5), [G1[None]], w0=w0, lr=0.1)
    np.testing.assert_allclose(got, w0 * (1 - 0.1 * 0.5) - 0.1 * np.sign(G1), rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: SGD(momentum=0.9, nesterov=True), lambda: Adam()])
def test_state_round_trip_continues_identically(make):
    a = make()
    run(a, [G1])
    b = make()
    b.set_state({k: v.copy() for k, v in a.get_state().items()})
    w = W0.copy()
    np.testing.assert_allclose(run(a, [G2], w0=w), run(b, [G2], w0=w))
    assert set(b.get_state()) == set(a.get_state())


def test_config_round_trip():
    for opt in (SGD(momentum=0.5, nesterov=True, weight_decay=1e-4), Adam(beta1=0.8, eps=1e-7)):
        again = optimizer_from_config(opt.get_config())
        assert type(again) is type(opt) and again.get_config() == opt.get_config()


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.5)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(momentum=0.0, nesterov=True)
    with pytest.raises(ValueError, match="beta2"):
        Adam(beta2=1.0)
    with pytest.raises(ValueError, match="unknown type 'rmsprop'"):
        optimizer_from_config({"type": "rmsprop"})
