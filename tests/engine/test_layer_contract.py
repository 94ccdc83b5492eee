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
    "GlobalAveragePool2D": ({}, (3, 4, 5), []),
    "Flatten": ({}, (3, 2, 4), []),
    "Dense": ({"units": 4, "use_bias": False}, (6,), [("units", 0), ("units", True), ("use_bias", "yes")]),
    "Dropout": ({"rate": 0.3}, (8,), [("rate", 1.0), ("rate", -0.5)]),
    "BatchNorm": ({"momentum": 0.8, "epsilon": 1e-3}, (3, 4, 4), [("momentum", 1.0), ("epsilon", 0.0)]),
    "Softmax": ({}, (5,), []),
    # merges: the input shape is the tuple of their inputs' shapes
    "Add": ({}, ((2, 3, 4), (2, 3, 4), (2, 3, 4)), []),
    "Concatenate": ({}, ((2, 3, 4), (1, 3, 4)), []),
}


def test_every_registered_layer_has_a_contract_example():
    assert set(EXAMPLES) == set(LAYER_TYPES)


def is_merge_shape(shape):
    return isinstance(shape[0], tuple)


def batch_for(shape, n=3, seed=0):
    """A random batch in the engine layout: (C, N, H, W) or (N, F); a list of them for a merge."""
    if is_merge_shape(shape):
        return [batch_for(s, n, seed + k) for k, s in enumerate(shape)]
    rng = np.random.default_rng(seed)
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
        if layer.merges:
            assert [d.shape for d in dx] == [a.shape for a in x]
            assert len({id(d) for d in dx}) == len(dx), "each input needs a gradient array of its own"
        else:
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


# ---- the declarations: schema, parameter shapes, traits -----------------------------------------

@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_default_config_comes_from_the_schema(type_name):
    cls = LAYER_TYPES[type_name]
    names = [h.name for h in cls.hyperparameters]
    assert list(cls.default_config()) == names
    for h in cls.hyperparameters:
        assert h.label and h.help, f"{type_name}.{h.name} needs a label and a help sentence"
        if not (h.optional and h.default is None):
            assert cls.default_config()[h.name] == h.to_json(h.validate(type_name, h.default))


def _just_outside(h):
    """Values the schema says are out of range, next to each bound."""
    if h.kind == "float":
        out = []
        if h.low is not None:
            out.append(h.low if h.low_open else np.nextafter(h.low, -np.inf))
        if h.high is not None:
            out.append(h.high if h.high_open else np.nextafter(h.high, np.inf))
        return out
    if h.kind in ("int", "pair", "padding"):
        out = [int(h.low) - 1] if h.low is not None else []
        return out + ([int(h.high) + 1] if h.high is not None else [])
    return []


def _just_inside(h):
    if h.kind == "float":
        lo, hi = h.widget_range()
        return [lo, hi]
    if h.kind in ("int", "pair", "padding"):
        lo, hi = h.widget_range()
        return [int(lo)] + ([int(hi)] if h.high is not None else [])
    if h.kind == "bool":
        return [True, False]
    if h.kind == "choice":
        return list(h.choices)
    return []


SCHEMA_FIELDS = [(t, h.name) for t, cls in sorted(LAYER_TYPES.items()) for h in cls.hyperparameters]


@pytest.mark.parametrize("type_name,field", SCHEMA_FIELDS)
def test_schema_ranges_equal_the_layers_validation(type_name, field):
    """The editor's widget range (from the schema) is exactly what the layer accepts."""
    cls = LAYER_TYPES[type_name]
    h = cls.hyper(field)
    inside, outside = _just_inside(h), _just_outside(h)
    assert inside, f"{type_name}.{field}: no accepted value to try"
    for value in inside:
        layer = cls(**{field: value})
        assert getattr(layer, field) is not None
    for value in outside:
        with pytest.raises(LayerConfigError) as info:
            cls(**{field: value})
        assert info.value.field == field and h.range_text() in str(info.value)


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_param_shapes_equal_the_built_parameters(type_name):
    cfg, shape, _ = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg)
    declared, state = layer.param_shapes(shape), layer.state_shapes(shape)
    layer.build(shape, np, np.float32, np.random.default_rng(0))
    assert {k: v.shape for k, v in layer.params.items()} == declared
    assert {k: v.shape for k, v in layer.state.items()} == state


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_sample_independent_layers_compute_each_sample_alone(type_name):
    """The trait the data-parallel split relies on: a sample's output does not depend on the others."""
    cfg, shape, _ = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg).build(shape, np, np.float64, np.random.default_rng(0))
    def first_two(a):
        return a[:, :2] if a.ndim == 4 else a[:2]

    x = batch_for(shape, n=4)
    x = [a.astype(np.float64) for a in x] if layer.merges else x.astype(np.float64)
    full = np.array(layer.forward(x, training=True))
    half = np.array(layer.forward([first_two(a) for a in x] if layer.merges else first_two(x), training=True))
    if type_name == "Dropout":   # random masks: compare where both kept the value
        return
    same = np.allclose(half, full[:, :2] if full.ndim == 4 else full[:2])
    assert same == layer.sample_independent


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_backward_matches_finite_differences(type_name):
    """Every registered layer's gradients (input and parameters) against central differences."""
    from tests.engine.test_gradcheck import assert_small, check_layer

    cfg, shape, _ = EXAMPLES[type_name]
    layer = LAYER_TYPES[type_name](**cfg).build(shape, np, np.float64, np.random.default_rng(1))
    if layer.merges:
        _check_merge_gradients(layer, [a.astype(np.float64) for a in batch_for(shape, n=2)])
        return
    x = batch_for(shape, n=2).astype(np.float64)
    fixed = np.random.default_rng(5).random(x.shape)

    def fix_mask():   # Dropout draws a mask per forward; the check needs one fixed mask
        layer.uniform = fixed

    assert_small(check_layer(layer, x, before_forward=fix_mask), tol=1e-5)   # a wrong rule gives ~1e-1


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_window_trait_names_a_window_hyperparameter(type_name):
    cls = LAYER_TYPES[type_name]
    layer = cls()
    if cls.window_field is None:
        assert layer.window() is None
    else:
        window, stride = layer.window()
        assert list(window) == cls.default_config()[cls.window_field]
        assert list(stride) == cls.default_config()["stride"]


def test_interchangeable_types_share_their_hyperparameters():
    groups: dict = {}
    for cls in LAYER_TYPES.values():
        if cls.interchangeable:
            groups.setdefault(cls.interchangeable, []).append(cls)
    assert groups, "no interchangeable group declared"
    for members in groups.values():
        assert len(members) >= 2
        assert len({tuple(h.name for h in c.hyperparameters) for c in members}) == 1


def test_global_average_pool_means_each_map():
    layer = LAYER_TYPES["GlobalAveragePool2D"]().build((2, 3, 3), np, np.float32, np.random.default_rng(0))
    x = np.arange(2 * 2 * 9, dtype=np.float32).reshape(2, 2, 3, 3)   # (C, N, H, W)
    y = layer.forward(x)
    assert y.shape == (2, 2)   # (N, C)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3)).T)


def _check_merge_gradients(layer, xs):
    """d sum(forward(xs) * dy) / d xs[k] against central differences, for every input k."""
    from tests.engine.test_gradcheck import numeric_grad, rel_error

    y = layer.forward(xs, training=True)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    analytic = [np.array(d) for d in layer.backward(dy.copy())]
    for k, x in enumerate(xs):
        numeric = numeric_grad(lambda: float(np.sum(layer.forward(xs, training=True) * dy)), x)
        assert rel_error(analytic[k], numeric) < 1e-7, f"input {k}"
