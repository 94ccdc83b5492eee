"""Explain: every layer type explains its cells with the engine's own numbers, and the shown
terms recombine to the engine's forward output (one test over the whole registry)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnstudio.engine.explain import Explainer, ExplainError, parse_cell
from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.engine.network import Network

# type -> (hyperparameters, per-sample input shape): windows that overlap, pad and stride
EXAMPLES = {
    "Conv2D": ({"filters": 3, "kernel_size": [3, 2], "stride": [2, 1], "padding": "same"}, (2, 7, 6)),
    "ReLU": ({}, (3, 4, 4)),
    "LeakyReLU": ({"alpha": 0.2}, (5,)),
    "Sigmoid": ({}, (6,)),
    "Tanh": ({}, (2, 3, 3)),
    "MaxPool2D": ({"pool_size": [2, 2], "stride": [1, 2]}, (2, 7, 5)),
    "AvgPool2D": ({"pool_size": [3, 3], "stride": [2, 2]}, (1, 7, 7)),
    "SumPool2D": ({"pool_size": [2, 3], "stride": [1, 2]}, (2, 5, 7)),
    "GlobalAveragePool2D": ({}, (3, 4, 5)),
    "Flatten": ({}, (3, 2, 4)),
    "Dense": ({"units": 4}, (6,)),
    "Dropout": ({"rate": 0.3}, (8,)),
    "BatchNorm": ({"momentum": 0.8, "epsilon": 1e-3}, (3, 4, 4)),
    "Softmax": ({}, (5,)),
    # merges: the input shape is the tuple of their inputs' shapes
    "Add": ({}, ((2, 3, 4), (2, 3, 4), (2, 3, 4))),
    "Concatenate": ({}, ((2, 3, 4), (1, 3, 4))),
}


def test_every_registered_layer_type_has_an_example():
    assert set(EXAMPLES) == set(LAYER_TYPES)


def built(type_name, seed=0):
    cfg, shape = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg).build(shape, np, np.float32, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for arrays in (layer.params, layer.state):
        for name, a in arrays.items():   # non-trivial values: a zero bias or unit variance hides mistakes
            a[...] = rng.uniform(0.5, 2.0, a.shape) if name == "running_var" else rng.standard_normal(a.shape)
    return layer, shape


def batch(shape, n=2, seed=3):
    if isinstance(shape[0], tuple):   # a merge: one batch per input
        return [batch(s, n, seed + k) for k, s in enumerate(shape)]
    rng = np.random.default_rng(seed)
    if len(shape) == 3:
        return rng.standard_normal((shape[0], n) + tuple(shape[1:])).astype(np.float32)
    return rng.standard_normal((n,) + tuple(shape)).astype(np.float32)


def sample(a, s):
    if isinstance(a, list):
        return [sample(part, s) for part in a]
    return a[:, s] if a.ndim == 4 else a[s]


def cells(shape):
    """First, last and a few cells in between of a per-sample output shape."""
    rng = np.random.default_rng(7)
    picks = {tuple(0 for _ in shape), tuple(s - 1 for s in shape)}
    for _ in range(4):
        picks.add(tuple(int(rng.integers(0, s)) for s in shape))
    return sorted(picks)


def close(a, b, scale=1.0):
    """Equal to float32 rounding of a sum of terms of magnitude ``scale``."""
    return abs(float(a) - float(b)) <= 1e-5 * max(1.0, float(scale))


def check_terms(e, layer, x, y, at):
    """The kind's own terms recombine to the total, and they are the layer's real input and parameters."""
    kind = e["kind"]
    if kind == "convolution":
        patch, kernel, products = (np.array(e[k]) for k in ("patch", "kernel", "products"))
        np.testing.assert_array_equal(kernel, layer.params["W"][at[0]])
        np.testing.assert_array_equal(products, (patch.astype(np.float32) * kernel.astype(np.float32)))
        pad = np.array(e["padding"])
        for i, r in enumerate(e["rows"]):
            for j, c in enumerate(e["cols"]):
                inside = 0 <= r < x.shape[1] and 0 <= c < x.shape[2]
                assert pad[i, j] == (not inside)
                np.testing.assert_array_equal(patch[:, i, j], x[:, r, c] if inside else 0.0)
        assert np.allclose(e["sum"], products.reshape(len(patch), -1).sum(axis=1), atol=1e-5)
        assert close(sum(e["sum"]) + e["bias"], e["total"], np.abs(products).sum())
        assert e["bias"] == float(layer.params["b"][at[0]])
    elif kind == "elementwise":
        assert e["input"] == float(x[at]) and e["output"] == float(y[at])
        assert len(e["curve"]["x"]) == len(e["curve"]["y"]) > 10
    elif kind == "pooling":
        window = np.array(e["window"])
        if len(at) == 3:
            np.testing.assert_array_equal(window, x[at[0]][np.ix_(e["rows"], e["cols"])])
        else:
            np.testing.assert_array_equal(window, x[at[0]])
        combined = {"max": window.max(), "sum": window.sum(), "mean": window.mean()}[e["rule"]]
        assert close(combined, e["total"], np.abs(window).sum())
        if e["rule"] == "max":
            assert window[tuple(e["chosen"])] == e["total"] == float(y[at])
    elif kind == "flatten":
        src = tuple(e["source"])
        assert float(x[src]) == e["total"] == float(y[at])
    elif kind == "weighted_sum":
        inputs, weights = np.array(e["inputs"]), np.array(e["weights"])
        np.testing.assert_array_equal(inputs, x)
        np.testing.assert_array_equal(weights, layer.params["W"][:, at[0]])
        assert close((inputs * weights).sum() + e["bias"], e["total"], np.abs(inputs * weights).sum())
        mags = [abs(t["product"]) for t in e["top"]]
        assert mags == sorted(mags, reverse=True) and mags[0] == np.abs(np.array(e["products"])).max()
    elif kind == "softmax":
        exps = np.array(e["exps"])
        np.testing.assert_array_equal(np.array(e["logits"]), x)
        assert close(exps.sum(), e["sum"], exps.sum())
        assert np.allclose(exps / e["sum"], e["probabilities"], atol=1e-6)
        np.testing.assert_array_equal(np.array(e["probabilities"]), y)
    elif kind == "merge":
        values = [float(x[k][tuple(src)]) for k, *src in e["sources"]]
        assert values == e["values"]
        assert close(sum(values), e["total"], sum(map(abs, values)))
    elif kind == "normalise":
        c = at[0]
        assert e["running_mean"] == float(layer.state["running_mean"][c])
        assert e["running_var"] == float(layer.state["running_var"][c])
        plain = e["gamma"] * (e["input"] - e["running_mean"]) / np.sqrt(e["running_var"] + e["epsilon"]) + e["beta"]
        assert close(plain, e["total"], abs(plain))
    else:
        pytest.fail(f"unknown kind {kind!r}")


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_explained_value_is_the_forward_output_and_its_terms_recombine(type_name):
    layer, shape = built(type_name)
    xb = batch(shape)
    yb = layer.forward(xb, training=False)
    for s in range(2):
        x, y = sample(xb, s), sample(yb, s)
        for at in cells(y.shape):
            e = layer.explain(x, y, at)
            json.dumps(e)   # plain data
            assert isinstance(e["formula"], str) and e["formula"]
            mass = sum(float(np.abs(a).sum()) for a in x) if isinstance(x, list) else float(np.abs(x).sum())
            scale = mass * max([1.0] + [float(np.abs(p).max()) for p in layer.params.values()])
            assert close(e["total"], y[at], scale), (at, e["total"], float(y[at]))
            check_terms(e, layer, x, y, at)


def test_a_padded_conv_cell_shows_the_padding_as_zeros():
    layer, shape = built("Conv2D")
    xb = batch(shape)
    yb = layer.forward(xb, training=False)
    e = layer.explain(sample(xb, 0), sample(yb, 0), (1, 0, 5))   # "same": the last column reads padding
    pad = np.array(e["padding"])
    assert pad.any() and not pad.all()
    assert (np.array(e["patch"])[:, pad] == 0).all()


def small_network(seed=0):
    layers = [LAYER_TYPES["Conv2D"](filters=4, kernel_size=3, padding=1), LAYER_TYPES["BatchNorm"](),
              LAYER_TYPES["ReLU"](), LAYER_TYPES["MaxPool2D"](pool_size=2), LAYER_TYPES["Conv2D"](filters=3, kernel_size=2),
              LAYER_TYPES["Tanh"](), LAYER_TYPES["Flatten"](), LAYER_TYPES["Dropout"](rate=0.5),
              LAYER_TYPES["Dense"](units=5), LAYER_TYPES["Softmax"]()]
    net = Network(layers, (2, 8, 8), seed=seed)
    rng = np.random.default_rng(seed)
    for layer in layers:
        for a in layer.params.values():
            a[...] = rng.standard_normal(a.shape) * 0.5
    return net


def test_network_explainer_uses_the_engines_forward_pass_for_every_layer():
    net = small_network()
    x = np.random.default_rng(1).standard_normal((2, 8, 8)).astype(np.float32)
    acts = net.forward_activations(x[None])
    ex = Explainer(net, x)
    for i, act in enumerate(acts):
        per = act[0]
        np.testing.assert_array_equal(ex.outputs[i], per)   # the same numbers, bit for bit
        for at in cells(per.shape):
            e = ex.cell(i, at)
            assert e["value"] == float(per[at]) and e["layer"] == i + 1 and e["index"] == i and e["type"] == net.layers[i].type_name
            assert close(e["total"], e["value"], 100.0)
        assert ex.inputs[i].shape == (tuple(net.shapes[i]))


def test_cells_outside_the_layer_are_refused_with_what_fits():
    ex = Explainer(small_network(), np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ExplainError, match="layers 1 to 10"):
        ex.cell(10, (0, 0, 0))
    with pytest.raises(ExplainError, match=r"Conv2D\) outputs 4 channels x 8 rows x 8 columns; channel 4"):
        ex.cell(0, (4, 0, 0))
    with pytest.raises(ExplainError, match="give the cell as I"):
        ex.cell(8, (0, 0, 0))
    assert parse_cell("1, 2,3") == (1, 2, 3) and parse_cell("7") == (7,)
    with pytest.raises(ExplainError, match="not whole numbers"):
        parse_cell("a,b")


def test_a_branching_network_explains_its_merges_on_the_inputs_they_read():
    from cnnstudio.engine.graph import GraphNetwork

    L = LAYER_TYPES
    layers = [L["Conv2D"](filters=2, kernel_size=3, padding="same"), L["ReLU"](), L["Conv2D"](filters=2, kernel_size=1),
              L["Add"](), L["Concatenate"](), L["GlobalAveragePool2D"](), L["Dense"](units=3), L["Softmax"]()]
    inputs = [(-1,), (0,), (1,), (2, 0), (3, -1), (4,), (5,), (6,)]
    net = GraphNetwork(layers, (1, 5, 5), inputs)
    x = np.random.default_rng(2).standard_normal((1, 5, 5)).astype(np.float32)
    acts = net.forward_activations(x[None])
    ex = Explainer(net, x)
    for i, act in enumerate(acts):
        np.testing.assert_array_equal(ex.outputs[i], act[0])
    add = ex.cell(3, (1, 2, 2))
    assert add["reads"] == [3, 1] and add["values"] == [float(acts[2][0][1, 2, 2]), float(acts[0][0][1, 2, 2])]
    cat = ex.cell(4, (2, 1, 3))   # channel 2 of 3: the network input's only channel
    assert cat["reads"] == [4, 0] and cat["values"] == [float(x[0, 1, 3])] and cat["value"] == float(x[0, 1, 3])
