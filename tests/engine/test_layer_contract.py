"""One contract over the whole layer registry: shapes, parameter counts, config round-trip, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.engine.layers import LAYER_TYPES

pytestmark = pytest.mark.usefixtures("serial_and_two_engine_threads")


# type -> (hyperparameters, per-sample input shape, list of (field, bad value))
EXAMPLES = {
    "Conv2D": ({"filters": 3, "kernel_size": [3, 2], "stride": [2, 1], "padding": "same", "use_bias": True},
               (2, 7, 6), [("filters", 0), ("kernel_size", [3, 0]), ("stride", "2"), ("padding", "full"),
                           ("use_bias", 1), ("filters", 2.5)]),
    "ReLU": ({}, (3, 4, 4), []),
    "LeakyReLU": ({"alpha": 0.2}, (5,), [("alpha", -0.1), ("alpha", 1.0), ("alpha", "0.1")]),
    "Sigmoid": ({}, (6,), []),
    "Tanh": ({}, (2, 3, 3), []),
    "MaxPool2D": ({"pool_size": [2, 2], "stride": [2, 2]}, (2, 7, 5), [("pool_size", 0), ("stride", [1, 2, 3])]),
    "AvgPool2D": ({"pool_size": [3, 3], "stride": [2, 2]}, (1, 7, 7), [("pool_size", -1)]),
    "SumPool2D": ({"pool_size": [2, 3], "stride": [1, 2]}, (2, 5, 7), [("stride", 0)]),
    "Flatten": ({}, (3, 2, 4), []),
    "Dense": ({"units": 4, "use_bias": False}, (6,), [("units", 0), ("units", True), ("use_bias", "yes")]),
    "Dropout": ({"rate": 0.3}, (8,), [("rate", 1.0), ("rate", -0.5)]),
    "BatchNorm": ({"momentum": 0.8, "epsilon": 1e-3}, (3, 4, 4), [("momentum", 1.0), ("epsilon", 0.0)]),
    "Softmax": ({}, (5,), []),
}


def test_every_registered_layer_has_a_contract_example():
    assert set(EXAMPLES) == set(LAYER_TYPES)


def batch_for(shape, n=3):
    """A random batch in the engine layout: (C, N, H, W) or (N, F)."""
    rng = np.random.default_rng(0)
    if len(shape) == 3:
        return rng.standard_normal((shape[0], n) + tuple(shape[1:])).astype(np.float32)
    return rng.standard_normal((n,) + tuple(shape)).astype(np.float32)


def per_sample(y):
    return (y.shape[0],) + tuple(y.shape[2:]) if y.ndim == 4 else tuple(y.shape[1:])


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
@pytest.mark.parametrize("training", [False, True])
def test_forward_and_backward_shapes_match_output_shape(type_name, training):
    cfg, shape, _ = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg).build(shape, np, np.float32, np.random.default_rng(0))
    x = batch_for(shape)
    y = layer.forward(x, training=training)
    assert per_sample(y) == tuple(layer.output_shape(shape))
    assert (y.shape[1] if y.ndim == 4 else y.shape[0]) == 3
    if training:
        dx = layer.backward(np.ones_like(y))
        assert dx.shape == x.shape


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_param_count_matches_built_parameters(type_name):
    cfg, shape, _ = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg)
    layer.build(shape, np, np.float32, np.random.default_rng(0))
    assert layer.param_count(shape) == sum(p.size for p in layer.params.values())
    assert layer.non_trainable_count(shape) == sum(s.size for s in layer.state.values())
    assert set(layer.grads) == set(layer.params)
    for key, p in layer.params.items():
        assert layer.grads[key].shape == p.shape and p.dtype == np.float32


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_config_round_trips_through_json(type_name):
    cfg, _, _ = EXAMPLES[type_name]
    cls = LAYER_TYPES[type_name]
    layer = cls(**cfg)
    again = cls.from_config(json.loads(json.dumps(layer.get_config())))
    assert again == layer
    assert again.get_config() == layer.get_config()
    assert cls().get_config() == cls.from_config(json.loads(json.dumps(cls().get_config()))).get_config()


INVALID = [(t, field, bad) for t, (_, _, bads) in sorted(EXAMPLES.items()) for field, bad in bads]


@pytest.mark.parametrize("type_name,field,bad", INVALID)
def test_invalid_hyperparameter_raises_error_quoting_the_value(type_name, field, bad):
    cfg = dict(EXAMPLES[type_name][0])
    cfg[field] = bad
    with pytest.raises(LayerConfigError) as info:
        LAYER_TYPES[type_name](**cfg)
    assert info.value.field == field
    assert repr(bad) in str(info.value) or repr(bad[-1] if isinstance(bad, list) else bad) in str(info.value)
    assert type_name in str(info.value)


def test_weights_are_reproducible_from_the_seed():
    cfg, shape, _ = EXAMPLES["Conv2D"]
    a = LAYER_TYPES["Conv2D"](**cfg).build(shape, np, np.float32, np.random.default_rng(7))
    b = LAYER_TYPES["Conv2D"](**cfg).build(shape, np, np.float32, np.random.default_rng(7))
    c = LAYER_TYPES["Conv2D"](**cfg).build(shape, np, np.float32, np.random.default_rng(8))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], c.params["W"])


@pytest.mark.parametrize("init,fan", [("he", "in"), ("glorot", "both")])
def test_initialisers_have_the_expected_spread(init, fan):
    layer = LAYER_TYPES["Dense"](units=400).build((300,), np, np.float64, np.random.default_rng(0), init=init)
    w = layer.params["W"]
    expected = np.sqrt(2 / 300) if fan == "in" else np.sqrt(6 / 700) / np.sqrt(3)
    assert abs(w.std() - expected) / expected < 0.02
    np.testing.assert_array_equal(layer.params["b"], 0)
