"""check_trainable: network problems plus dataset fit (classes, channels, sizes)."""

import pytest

from cnnstudio.model import LayerSpec, NetworkError, NetworkSpec, get_template
from cnnstudio.model.fit import check_trainable

L = LayerSpec


def test_lenet5_fits_mnist():
    check = check_trainable(get_template("lenet5"), 10, (28, 28, 1))
    assert check.ok and check.problem is None
    check.raise_if_problem()


def test_class_count_mismatch_names_the_last_dense():
    check = check_trainable(get_template("lenet5"), 5, (28, 28, 1))
    p = check.problem
    assert p.kind == "classes_mismatch" and p.index == 11
    assert p.message == "layer 12 Dense: gives 10 class scores but the dataset has 5 classes"
    assert p.fix == "set its units to 5"
    with pytest.raises(NetworkError) as caught:
        check.raise_if_problem()
    # QA: the fix used to repeat "the dataset has 5 classes" after the message had said it
    assert str(caught.value).count("5 classes") == 1 and str(caught.value).endswith("; set its units to 5")


def test_no_dense_before_softmax_says_insert_dense():
    spec = NetworkSpec("t", (4, 4, 1), [L("Flatten"), L("Softmax")])
    p = check_trainable(spec, 10, (4, 4, 1)).problem
    assert p.fix == "insert Dense 10 before the Softmax at layer 2"


@pytest.mark.parametrize("layers, fix", [
    ([L("Flatten"), L("Dense", {"units": 10})], "add Softmax at the end"),
    ([L("Flatten"), L("Dense", {"units": 7})], "add Dense 10 and Softmax at the end"),
    ([L("Conv2D")], "add Flatten, Dense 10 and Softmax at the end"),
    ([], "load a template or add Flatten, Dense 10 and Softmax"),
])
def test_missing_softmax_fix_depends_on_the_output(layers, fix):
    p = check_trainable(NetworkSpec("t", (28, 28, 1), layers), 10, (28, 28, 1)).problem
    assert p.fix == fix


def test_grayscale_network_colour_dataset():
    p = check_trainable(get_template("lenet5"), 10, (28, 28, 3)).problem
    assert p.kind == "channels_mismatch" and p.index is None and p.field == "channels"
    assert p.text == ("the network expects 1-channel (grayscale) images but the dataset has 3-channel (colour) "
                      "images; set the input channels to 3 or convert the dataset to grayscale")


def test_colour_network_grayscale_dataset():
    spec = get_template("simple-cnn").with_input(28, 28, 3)
    p = check_trainable(spec, 10, (28, 28, 1)).problem
    assert "expects 3-channel (colour)" in p.message and "set the input channels to 1" in p.fix


def test_size_difference_is_a_note_not_a_problem():
    check = check_trainable(get_template("lenet5"), 10, (32, 40, 1))
    assert check.ok
    assert any("32 x 40" in n and "28 x 28" in n and "resized" in n for n in check.notes)


def test_shape_problem_comes_through():
    spec = NetworkSpec("t", (28, 28, 1), [L("Conv2D"), L("Dense"), L("Softmax")])
    check = check_trainable(spec, 10, (28, 28, 1))
    assert check.problem.kind == "needs_flat" and check.problem.index == 1
