"""Shape inference problems: right layer, right message, a fix that names the right thing."""

import pytest

from cnnstudio.engine.errors import field_words
from cnnstudio.model import LayerSpec, NetworkError, NetworkSpec, get_template, infer_shapes, validate

L = LayerSpec


def net(layers, inp=(28, 28, 1)):
    return NetworkSpec("t", inp, layers)


def conv(f=8, k=3, padding="valid", stride=1):
    return L("Conv2D", {"filters": f, "kernel_size": k, "padding": padding, "stride": stride})


def test_the_issue_example_pool_after_convs_shrank_to_1x1():
    # 5x5 -conv3 valid-> 3x3 -conv3 valid-> 1x1 -pool2-> fails; layer 3 shrank the map most (9x)
    spec = net([conv(), L("ReLU"), conv(), L("ReLU"), L("MaxPool2D"), L("Flatten"), L("Dense"), L("Softmax")],
               (5, 5, 1))
    report = infer_shapes(spec)
    p = report.problem
    assert p.text == ("layer 5 MaxPool2D: 2x2 window does not fit a 1x1 input; "
                      "remove it or use padding 'same' in layer 3")
    assert (p.index, p.number, p.layer_type, p.field, p.kind) == (4, 5, "MaxPool2D", "pool_size", "window_too_large")
    assert [layer.output_display for layer in report.layers] == ["3 x 3 x 8"] * 2 + ["1 x 1 x 8"] * 2 + ["?"] * 4
    assert not report.complete and report.layers[5].params is None


def test_strided_conv_shrinker_suggests_stride_1():
    spec = net([conv(k=3, stride=4, padding="same"), L("MaxPool2D", {"pool_size": 8})], (8, 8, 1))
    p = infer_shapes(spec).problem
    assert p.index == 1
    assert "use a window of at most 2x2" in p.fix and "use stride 1 in layer 1" in p.fix


def test_pool_shrinker_is_named_for_removal():
    spec = net([L("MaxPool2D", {"pool_size": 4}), conv(k=5)], (8, 8, 1))
    p = infer_shapes(spec).problem
    assert p.message == "layer 2 Conv2D: 5x5 kernel does not fit a 2x2 input"
    assert p.fix == "use padding 'same', a kernel of at most 2x2, remove it or remove the MaxPool2D at layer 1"


def test_too_small_input_without_shrinker_asks_for_a_larger_input():
    p = infer_shapes(net([conv(k=7)], (4, 4, 1))).problem
    assert p.index == 0 and "make the input at least 7 x 7" in p.fix


def test_dense_on_image_says_insert_flatten():
    spec = net([conv(), L("ReLU"), L("MaxPool2D"), L("Dense"), L("Softmax")])
    p = infer_shapes(spec).problem
    assert p.text == "layer 4 Dense: needs a flat vector but gets 13 x 13 x 8; insert Flatten before it"
    assert p.kind == "needs_flat"


def test_softmax_on_image_needs_flatten_and_dense():
    p = infer_shapes(net([conv(), L("Softmax")])).problem
    assert p.index == 1 and "Flatten" in p.fix and "Dense" in p.fix


def test_conv_after_flatten_says_move_before_the_flatten():
    spec = net([L("Flatten"), conv(), L("Dense"), L("Softmax")], (20, 20, 1))
    p = infer_shapes(spec).problem
    assert p.text == ("layer 2 Conv2D: needs an image-shaped input but gets a flat vector of 400; "
                      "move it before the Flatten at layer 1")


def test_pool_after_dense_names_the_latest_flatten():
    spec = net([conv(), L("Flatten"), L("Dense", {"units": 32}), L("MaxPool2D"), L("Softmax")])
    p = infer_shapes(spec).problem
    assert p.index == 3 and p.fix == "move it before the Flatten at layer 2" and "32" in p.message


def test_softmax_in_the_middle():
    spec = net([L("Flatten"), L("Dense"), L("Softmax"), L("Dense"), L("ReLU")])
    report = infer_shapes(spec)
    assert report.problem.text == ("layer 3 Softmax: Softmax must be the last layer; "
                                   "move layer 3 Softmax to the end")
    # not a shape failure: later shapes stay known
    assert report.complete and report.layers[-1].output_shape == (10,)


def test_second_softmax_is_to_be_removed():
    spec = net([L("Flatten"), L("Dense"), L("Softmax"), L("Softmax")])
    p = infer_shapes(spec).problem
    assert p.index == 2 and "remove it" in p.fix and "layer 4" in p.fix


@pytest.mark.parametrize("layer, field, value, fix_part", [
    (L("Conv2D", {"filters": 0}), "filters", 0, "between 1 and 8192"),
    (L("Conv2D", {"kernel_size": -3}), "kernel_size", -3, "at least 1"),
    (L("Conv2D", {"padding": "full"}), "padding", "full", "'same'"),
    (L("Dropout", {"rate": 1.5}), "rate", 1.5, "[0.0, 1.0)"),
    (L("Dense", {"units": 2.5}), "units", 2.5, "whole number"),
])
def test_bad_hyperparameters_are_problems_not_crashes(layer, field, value, fix_part):
    spec = net([L("Flatten"), layer, L("Softmax")]) if layer.type != "Conv2D" else net([layer, L("Flatten")])
    report = infer_shapes(spec)
    p = report.problem
    idx = 1 if layer.type != "Conv2D" else 0
    assert (p.index, p.field, p.value, p.kind) == (idx, field, value, "bad_config")
    words = field_words(layer.type, field)   # as the inspector labels it: "kernel", not kernel_size
    assert p.message.startswith(f"layer {idx + 1} {layer.type}: {words} must be")
    assert repr(value) in p.message and fix_part in p.fix and p.fix.startswith(f"set {words}")
    assert report.layers[idx].output_shape is None


def test_validate_raises_network_error_carrying_the_problem():
    spec = net([conv(), L("Dense")])
    with pytest.raises(NetworkError) as info:
        validate(spec)
    assert info.value.problem.index == 1 and "insert Flatten" in str(info.value)
    assert validate(get_template("lenet5")).ok


def test_receptive_fields_grow_through_convs_and_pools():
    report = infer_shapes(get_template("lenet5"))
    rf = [layer.receptive_field for layer in report.layers]
    # conv5: 5; pool2: 5+1=6, jump 2; conv5: 6+4*2 = 14; pool2: 14+1*2 = 16, jump 4
    assert rf[0] == (5, 5) and rf[2] == (6, 6) and rf[3] == (14, 14) and rf[5] == (16, 16)
    # a dense unit sees everything: 16 + (5-1)*4 = 32 >= 28
    assert rf[7] == (32, 32) and report.layers[7].receptive_field_display == "32 x 32 (whole image)"
    assert report.layers[0].receptive_field_display == "5 x 5"


def test_warnings_for_activation_before_softmax_and_double_flatten():
    spec = net([L("Flatten"), L("Flatten"), L("Dense"), L("ReLU"), L("Softmax")])
    report = infer_shapes(spec)
    assert report.ok
    assert any("layer 4 ReLU" in w for w in report.warnings)
    assert any("layer 2 Flatten" in w for w in report.warnings)


def test_batchnorm_counts_running_stats_as_non_trainable():
    report = infer_shapes(net([conv(f=4), L("BatchNorm"), L("Flatten"), L("Dense"), L("Softmax")]))
    assert report.layers[1].params == 8 and report.layers[1].non_trainable == 8
    assert report.non_trainable_params == 8
    assert report.total_params == report.trainable_params + 8


def test_empty_network_has_no_shape_problem():
    report = infer_shapes(net([]))
    assert report.ok and report.output_shape == (1, 28, 28) and report.total_params == 0


def test_templates_give_no_hints_except_vgg16_big_dense():
    for name in ("simple-cnn", "lenet5", "mini-vgg", "mlp"):
        assert infer_shapes(get_template(name)).warnings == []
    dense, size = infer_shapes(get_template("vgg16")).warnings
    assert dense.startswith("layer 33 Dense holds 102,764,544 of the network's 138,357,544 parameters (74%)")
    # 138,357,544 x 4 bytes x (weights, gradients, two Adam moments) = 2.2 GB
    assert size.startswith("the network has 138,357,544 parameters") and "about 2.2 GB" in size


def test_activation_values_per_image():
    # simple-cnn: 26*26*8 twice (conv, relu), 13*13*8 twice (pool, flatten), 10 twice (dense, softmax)
    assert infer_shapes(get_template("simple-cnn")).activation_values == 2 * 5408 + 2 * 1352 + 2 * 10


def test_hint_two_linear_layers_without_activation():
    spec = net([conv(), L("BatchNorm"), conv(), L("ReLU"), L("Flatten"), L("Dense"), L("Softmax")])
    report = infer_shapes(spec)
    assert report.ok
    assert report.warnings == ["layer 3 Conv2D follows layer 1 Conv2D with no activation between them, so "
                               "together they are still one linear map; insert ReLU after layer 1"]


def test_hint_stride_larger_than_window():
    spec = net([L("MaxPool2D", {"pool_size": 2, "stride": 3}), L("Flatten"), L("Dense"), L("Softmax")])
    (hint,) = infer_shapes(spec).warnings
    assert "layer 1 MaxPool2D: stride 3x3 is larger than the 2x2 window" in hint


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANY_VALUE = st.one_of(st.integers(-3, 40), st.floats(-1, 2), st.just(float("nan")), st.booleans(), st.none(),
                      st.sampled_from(["same", "valid", "full", ""]), st.lists(st.integers(-1, 9), max_size=3))


@st.composite
def any_layer(draw):
    from cnnstudio.model import default_config, known_layer_types
    t = draw(st.sampled_from(known_layer_types()))
    fields = list(default_config(t))
    config = {f: draw(ANY_VALUE) for f in draw(st.lists(st.sampled_from(fields), unique=True))} if fields else {}
    return L(t, config)


@settings(max_examples=150, deadline=None)
@given(st.lists(any_layer(), max_size=8), st.integers(1, 40), st.integers(1, 3))
def test_infer_shapes_never_raises_and_blames_a_real_layer(layers, size, channels):
    report = infer_shapes(net(layers, (size, size, channels)))
    assert len(report.layers) == len(layers)
    if report.problem is not None:
        p = report.problem
        assert 0 <= p.index < len(layers) and p.layer_type == layers[p.index].type
        assert p.message.startswith(f"layer {p.index + 1} {p.layer_type}: ") and p.fix
    else:
        assert report.complete


def test_window_fix_suggests_the_largest_window_that_fits_each_axis():
    p = infer_shapes(net([L("MaxPool2D", {"pool_size": 3})], (2, 5, 1))).problem
    assert p.message == "layer 1 MaxPool2D: 3x3 window does not fit a 2x5 input"
    assert "use a window of at most 2x3" in p.fix
    p = infer_shapes(net([conv(k=3)], (1, 1, 1))).problem
    assert p.fix == "use padding 'same', a kernel of at most 1x1, remove it or make the input at least 3 x 3"
