"""NetworkCache: which network the inside views show (live, trained, fresh), without Qt."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnstudio.gui.inside.networks import NetworkCache, probabilities, sample_nchw, shape_text
from cnnstudio.model import LayerSpec, NetworkSpec, build_network, get_template


def state_of(spec, weights=None, live=None):
    # AppState's inference network needs its own revisions: here it never has one
    return SimpleNamespace(spec=spec, weights=weights, live_weights=live, inference_network=lambda: None)


def test_fresh_network_is_cached_by_spec_value_and_untrained():
    cache = NetworkCache()
    net, trained, problem = cache.choose(state_of(get_template("mlp")))
    again, _, _ = cache.choose(state_of(get_template("mlp")))  # an equal copy, as document.spec gives
    assert net is again and not trained and problem == ""


def test_stored_weights_are_used_and_foreign_ones_explained():
    spec = get_template("mlp")
    weights = build_network(spec).get_weights()
    net, trained, _ = NetworkCache().choose(state_of(spec, weights=weights))
    assert trained and np.array_equal(net.get_weights()[next(iter(weights))], weights[next(iter(weights))])
    other = build_network(get_template("simple-cnn")).get_weights()
    net, trained, problem = NetworkCache().choose(state_of(spec, weights=other))
    assert net is not None and not trained and "do not fit" in problem


def test_live_weights_refill_one_network():
    spec = get_template("mlp")
    cache = NetworkCache()
    first, trained, _ = cache.choose(state_of(spec, live=build_network(spec).get_weights()))
    second, _, _ = cache.choose(state_of(get_template("mlp"), live=build_network(spec).get_weights()))
    assert trained and first is second


def test_an_invalid_network_says_why():
    spec = NetworkSpec("bad", (4, 4, 1), [LayerSpec("MaxPool2D", {"pool_size": 8})])
    net, trained, problem = NetworkCache().choose(state_of(spec))
    assert net is None and not trained and problem.startswith("Cannot build the network")


def test_array_helpers():
    x = np.full((1, 20, 20, 3), 255, dtype=np.uint8)
    assert sample_nchw(x, 28, 28, 1).shape == (1, 1, 28, 28)
    assert shape_text((16, 10, 10)) == "10 x 10 x 16" and shape_text((10,)) == "10"
    p = probabilities(np.array([1.0, 1.0]), ["Dense"])
    np.testing.assert_allclose(p, [0.5, 0.5])
