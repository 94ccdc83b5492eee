"""GraphNetwork: branching networks train with exact gradients (finite differences) and match chains."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.graph import INPUT, GraphNetwork
from cnnstudio.engine.layers import (Add, BatchNorm, Concatenate, Conv2D, Dense, Flatten, GlobalAveragePool2D,
                                     MaxPool2D, ReLU, Softmax)
from cnnstudio.engine.losses import softmax_cross_entropy
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD
from tests.engine.test_gradcheck import numeric_grad, rel_error

pytestmark = pytest.mark.usefixtures("serial_and_two_engine_threads")


def residual_block():
    """x -> conv -> relu -> conv -> add(x-branch relu) -> relu -> GAP -> dense -> softmax."""
    # no bias before BatchNorm (it would cancel it: a zero gradient, as in ResNet)
    layers = [Conv2D(3, 3, 1, "same"), ReLU(), Conv2D(3, 3, 1, "same", False), BatchNorm(), Add(), ReLU(),
              GlobalAveragePool2D(), Dense(4), Softmax()]
    inputs = [(INPUT,), (0,), (1,), (2,), (3, 1), (4,), (5,), (6,), (7,)]
    return layers, inputs


def two_branch_concat():
    """Parallel 1x1 and 3x3 convolutions of the input, stacked, then a dense head."""
    layers = [Conv2D(2, 1), Conv2D(3, 3, 1, "same"), Concatenate(), ReLU(), MaxPool2D(2), Flatten(), Dense(3),
              Softmax()]
    inputs = [(INPUT,), (INPUT,), (0, 1), (2,), (3,), (4,), (5,), (6,)]
    return layers, inputs


def rejoin_two_levels_later():
    """A tensor read by a layer right after it and again two levels later (fan-out of three)."""
    layers = [Conv2D(2, 3, 1, "same"), ReLU(), Conv2D(2, 3, 1, "same"), ReLU(), Add(), Add(), Flatten(), Dense(3),
              Softmax()]
    inputs = [(INPUT,), (0,), (1,), (2,), (3, 1), (4, 1, 0), (5,), (6,), (7,)]
    return layers, inputs


GRAPHS = {"residual": residual_block, "concat": two_branch_concat, "rejoin": rejoin_two_levels_later}


def _data(n=4, shape=(2, 6, 6), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, classes, n)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_gradients_match_finite_differences(name):
    layers, inputs = GRAPHS[name]()
    net = GraphNetwork(layers, (2, 6, 6), inputs, dtype=np.float64, seed=1)
    x, y = _data(classes=net.output_shape[0])
    h0 = net._to_internal(x)

    def loss() -> float:
        acts = net._run(h0, len(net._body), True)
        value, _, _ = softmax_cross_entropy(acts[net._logits_source], y, np)
        return float(value)

    frozen = SGD(momentum=0.0)
    net.train_step(x, y, frozen, lr=0.0)   # lr 0: the gradients stay in the layers, the weights as they were
    checked = 0
    for i, layer in enumerate(net.layers):
        for key, param in layer.params.items():
            analytic = np.array(layer.grads[key])
            err = rel_error(analytic, numeric_grad(loss, param))
            assert err < 1e-6, f"layer {i} {layer.type_name}.{key}: relative error {err:.1e}"
            checked += 1
    assert checked >= 3


def test_a_chain_written_as_a_graph_trains_like_the_chain(serial_and_two_engine_threads):
    """Bit for bit on one thread; on two the chain splits the batch over replicas (float32 rounding)."""
    def chain():
        return [Conv2D(3, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()]

    a = Network(chain(), (1, 8, 8), seed=3)
    b = GraphNetwork(chain(), (1, 8, 8), [(INPUT,), (0,), (1,), (2,), (3,), (4,)], seed=3)
    x, y = _data(n=16, shape=(1, 8, 8), seed=4)
    opt_a, opt_b = SGD(momentum=0.9), SGD(momentum=0.9)
    exact = serial_and_two_engine_threads == 1
    same = np.testing.assert_array_equal if exact else (lambda p, q: np.testing.assert_allclose(p, q, atol=1e-5))
    for _ in range(3):
        (la, aa), (lb, ab) = a.train_step(x, y, opt_a, 0.1), b.train_step(x, y, opt_b, 0.1)
        assert aa == ab and (la == lb if exact else abs(la - lb) < 1e-5)
    for key, value in a.get_weights().items():
        same(value, b.get_weights()[key])
    same(a.forward(x), b.forward(x))
    assert [o.shape for o in a.forward_activations(x)] == [o.shape for o in b.forward_activations(x)]


def test_inference_frees_outputs_and_gives_every_layers_activation():
    layers, inputs = residual_block()
    net = GraphNetwork(layers, (2, 6, 6), inputs, seed=0)
    x, _ = _data()
    acts = net.forward_activations(x)
    assert len(acts) == len(layers)
    np.testing.assert_allclose(acts[4], np.maximum(acts[3] + acts[1], acts[3] + acts[1]), rtol=1e-6)
    kept = net._run(net._to_internal(x), len(layers), False)
    assert set(kept) == {len(layers) - 1, net._logits_source}   # everything else freed after its last reader
    probs = net.forward(x)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(net.forward_logits(x), acts[7], rtol=1e-5)


@pytest.mark.parametrize("inputs,message", [
    ([(INPUT,), (2,), (1,)], "reads earlier layers"),
    ([(INPUT,), (INPUT, 0), (1,)], "takes one input"),
    ([(INPUT,), (INPUT,), (1,)], "the only output"),
])
def test_the_engine_refuses_wiring_the_model_would_have_explained(inputs, message):
    with pytest.raises(ValueError, match=message):
        GraphNetwork([Flatten(), Dense(3), Softmax()], (1, 2, 2), inputs)
