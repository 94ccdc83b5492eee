"""Templates: exact per-layer output shapes (engine order C, H, W) and parameter totals."""

import pytest

from cnnstudio.model import TEMPLATES, UnknownTemplateError, get_template, infer_shapes

EXPECTED = {
    # conv 8@3x3 valid: 3*3*1*8 + 8 = 80; 26x26x8 -> pool 13x13x8 = 1352; dense 1352*10 + 10 = 13530
    "simple-cnn": ([(8, 26, 26), (8, 26, 26), (8, 13, 13), (1352,), (10,), (10,)], 80 + 13530),
    # conv 6@5x5 same 156; conv 16@5x5 valid 25*6*16+16 = 2416; 400*120+120 = 48120;
    # 120*84+84 = 10164; 84*10+10 = 850
    "lenet5": ([(6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5), (400,),
                (120,), (120,), (84,), (84,), (10,), (10,)], 61706),
    # convs: 9*1*32+32 = 320; 9*32*32+32 = 9248; 9*32*64+64 = 18496; 9*64*64+64 = 36928;
    # dense 3136*128+128 = 401536; 128*10+10 = 1290
    "mini-vgg": ([(32, 28, 28)] * 4 + [(32, 14, 14)] + [(64, 14, 14)] * 4 + [(64, 7, 7), (3136,), (128,),
                 (128,), (128,), (10,), (10,)], 320 + 9248 + 18496 + 36928 + 401536 + 1290),
    # 784*128+128 = 100480; 128*10+10 = 1290
    "mlp": ([(784,), (128,), (128,), (10,), (10,)], 100480 + 1290),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_template_shapes_and_params(name):
    shapes, total = EXPECTED[name]
    report = infer_shapes(get_template(name))
    assert report.ok and report.complete
    assert [layer.output_shape for layer in report.layers] == shapes
    assert report.total_params == total
    assert report.non_trainable_params == 0


def test_lenet5_has_61706_params_and_display_strings():
    report = infer_shapes(get_template("lenet5"))
    assert report.total_params == 61_706
    assert report.layers[0].output_display == "28 x 28 x 6"
    assert report.layers[6].output_display == "400"


def test_vgg16_totals_without_allocating():
    spec = get_template("vgg16")
    report = infer_shapes(spec)
    assert (spec.input.height, spec.input.width, spec.input.channels) == (224, 224, 3)
    assert report.total_params == 138_357_544
    assert report.output_shape == (1000,)
    assert sum(1 for layer in spec.layers if layer.type == "Conv2D") == 13
    assert sum(1 for layer in spec.layers if layer.type == "MaxPool2D") == 5
    flat = next(layer for layer in report.layers if layer.layer_type == "Flatten")
    assert flat.output_shape == (7 * 7 * 512,)
    # conv MACs dominate: first conv alone is 224*224*64*3*3*3
    assert report.multiply_adds > 15_000_000_000
    assert report.layers[0].multiply_adds == 224 * 224 * 64 * 27


def test_templates_are_fresh_copies():
    a = get_template("lenet5")
    a.layers.pop()
    assert get_template("lenet5") != a


def test_every_template_has_a_description_and_is_valid():
    for name, text in TEMPLATES.items():
        assert text and infer_shapes(get_template(name)).ok
        assert get_template(name).name == name


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(UnknownTemplateError) as info:
        get_template("lenet")
    for name in TEMPLATES:
        assert name in str(info.value)
