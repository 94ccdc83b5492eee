"""The inspector's formulas: the numbers plugged in, and each formula's result is the model's own count."""

from __future__ import annotations

import re

import pytest

from cnnstudio.model.formulas import layer_formulas
from cnnstudio.model.shapes import infer_shapes
from cnnstudio.model.spec import InputSpec, LayerSpec, NetworkSpec
from cnnstudio.model.templates import TEMPLATES, get_template


def test_the_texts_examples():
    spec = NetworkSpec("t", InputSpec(28, 28, 1), [LayerSpec("Conv2D", {"filters": 6, "kernel_size": [5, 5]})])
    f = dict(layer_formulas(spec, 0))
    assert f["Output size"] == "floor((28 + 2*0 - 5) / 1) + 1 = 24  ->  24 x 24 x 6"
    assert f["Parameters"] == "(5*5*1 + 1) * 6 = 156"
    assert f["Multiply-adds"] == "24*24*6 outputs x 25 each = 86,400"
    assert f["Receptive field"] == "1 + (5 - 1) * 1 = 5 pixels; jump 1 * 1 = 1"


def test_lenet5_second_conv_pool_and_dense():
    spec = get_template("lenet5")
    assert dict(layer_formulas(spec, 3))["Receptive field"] == "6 + (5 - 1) * 2 = 14 pixels; jump 2 * 1 = 2"
    assert dict(layer_formulas(spec, 2))["Output size"].startswith("floor((28 + 2*0 - 2) / 2) + 1 = 14")
    assert dict(layer_formulas(spec, 7))["Parameters"] == "(400 + 1) * 120 = 48,120"
    assert dict(layer_formulas(spec, 6))["Output size"] == "5*5*16 = 400 values"


def last_number(text):
    return int(re.findall(r"= ([\d,]+)", text)[-1].replace(",", ""))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_formula_ends_in_the_models_number(name):
    spec = get_template(name)
    report = infer_shapes(spec)
    for row in report.layers:
        f = dict(layer_formulas(spec, row.index))
        assert last_number(f["Parameters"] + " = 0" if f["Parameters"].startswith("no") else f["Parameters"]) == row.params
        if row.multiply_adds:
            assert last_number(f["Multiply-adds"]) == row.multiply_adds
        if "floor" in f["Output size"] or "ceil" in f["Output size"]:
            assert last_number(f["Output size"].split("->")[0].split(";")[0]) == row.output_shape[1]
        if "Receptive field" in f and "jump" in f["Receptive field"] and "+ (" in f["Receptive field"]:
            assert int(re.search(r"= (\d+) pixels", f["Receptive field"]).group(1)) == row.receptive_field[0]


def test_non_square_windows_and_explicit_padding_show_each_axis():
    spec = NetworkSpec("t", InputSpec(9, 12, 2), [LayerSpec("Conv2D", {"filters": 3, "kernel_size": [3, 5],
                                                                       "stride": [2, 1], "padding": 1})])
    f = dict(layer_formulas(spec, 0))
    assert f["Output size"] == "height: floor((9 + 2*1 - 3) / 2) + 1 = 5; width: floor((12 + 2*1 - 5) / 1) + 1 = 10  ->  5 x 10 x 3"
    assert f["Parameters"] == "(3*5*2 + 1) * 3 = 93"


def test_batchnorm_counts_its_running_statistics_apart():
    spec = NetworkSpec("t", InputSpec(4, 4, 3), [LayerSpec("BatchNorm")])
    assert dict(layer_formulas(spec, 0))["Parameters"] == \
        "gamma 3 + beta 3 = 6 (and running_mean 3 + running_var 3 not trained)"


def test_same_padding_of_one_says_row_not_rows():
    f = dict(layer_formulas(get_template("mini-resnet"), 11))   # 3x3, stride 2 on 14 x 14: one zero row
    assert "('same' adds 1 row/column of zeros: 0 before, 1 after)" in f["Output size"]
    assert "adds 4 rows/columns" in dict(layer_formulas(get_template("lenet5"), 0))["Output size"]
