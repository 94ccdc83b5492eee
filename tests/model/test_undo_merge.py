"""Undo steps that read right: each command names its edit; spin-box steps of one field merge."""

from __future__ import annotations

import pytest

from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.model import LayerSpec, get_template
from cnnstudio.model.commands import AddLayer, RemoveLayer, ReplaceNetwork, SetLayerConfig
from cnnstudio.model.document import Document


@pytest.fixture
def doc():
    return Document(get_template("simple-cnn"))  # Conv2D 8, ReLU, MaxPool2D, Flatten, Dense, Softmax


def filters(doc):
    return doc.spec.layers[0].config["filters"]


def step(doc, field, value, index=0):
    return doc.execute(SetLayerConfig(index, field, value), merge=True)


def test_consecutive_steps_of_one_field_are_one_undo_step(doc):
    for value in (9, 10, 11, 12):
        assert step(doc, "filters", value)
    assert filters(doc) == 12 and doc.undo_text == "Undo Change Conv2D filters"
    doc.undo()
    assert doc.spec == get_template("simple-cnn") and not doc.can_undo
    doc.redo()
    assert filters(doc) == 12 and not doc.can_redo


def test_no_merge_across_fields(doc):
    step(doc, "filters", 9)
    step(doc, "kernel_size", [5, 5])
    doc.undo()
    assert filters(doc) == 9 and doc.spec.layers[0].config["kernel_size"] == [3, 3]
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


def test_no_merge_across_layers_with_the_same_field(doc):
    doc.execute(AddLayer(1, LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3})))
    step(doc, "filters", 9, index=0)
    step(doc, "filters", 5, index=1)
    doc.undo()
    assert doc.spec.layers[1].config["filters"] == 4 and filters(doc) == 9


def test_no_merge_after_another_edit(doc):
    step(doc, "filters", 9)
    doc.execute(AddLayer(6, LayerSpec("ReLU")))
    step(doc, "filters", 10)
    doc.undo()
    assert filters(doc) == 9 and len(doc.spec.layers) == 7
    doc.undo()
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


def test_no_merge_into_an_undone_step_or_across_a_save(doc):
    step(doc, "filters", 9)
    step(doc, "filters", 10)
    doc.undo()
    step(doc, "filters", 11)  # after an undo: a new step, the redo tail dropped
    assert not doc.can_redo
    doc.undo()
    assert doc.spec == get_template("simple-cnn") and not doc.can_undo
    step(doc, "filters", 9)
    doc.set_clean()
    step(doc, "filters", 10)  # the saved state (9) stays reachable by one undo
    doc.undo()
    assert filters(doc) == 9 and not doc.is_dirty


def test_steps_that_come_back_leave_no_undo_step(doc):
    step(doc, "filters", 9)
    step(doc, "filters", 8)
    assert doc.spec == get_template("simple-cnn")
    assert not doc.can_undo and not doc.is_dirty


def test_merging_without_the_flag_keeps_every_step(doc):
    for value in (9, 10):
        doc.execute(SetLayerConfig(0, "filters", value))
    doc.undo()
    assert filters(doc) == 9


def test_a_refused_step_leaves_the_merged_step_as_it_was(doc):
    step(doc, "filters", 9)
    with pytest.raises(LayerConfigError):
        step(doc, "filters", 0)
    step(doc, "filters", 10)
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


def test_merged_pool_window_steps_undo_the_stride_that_followed_them(doc):
    for value in ([3, 3], [4, 4]):
        step(doc, "pool_size", value, index=2)
    assert doc.spec.layers[2].config["stride"] == [4, 4]
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


@pytest.mark.parametrize("change, text", [
    (lambda layers: layers.__setitem__(1, LayerSpec("LeakyReLU", {"alpha": 0.01})), "Change ReLU to LeakyReLU"),
    (lambda layers: layers.__setitem__(2, LayerSpec("AvgPool2D")), "Change MaxPool2D to AvgPool2D"),
    (lambda layers: layers.__setitem__(0, layers[0].with_config(filters=3)), "Change Conv2D"),
])
def test_replacing_the_network_with_one_layer_changed_names_that_layer(doc, change, text):
    spec = doc.spec
    layers = list(spec.layers)
    change(layers)
    doc.execute(ReplaceNetwork(spec.with_layers(layers)))
    assert doc.undo_text == f"Undo {text}"


def test_replacing_the_network_with_another_is_a_load(doc):
    doc.execute(ReplaceNetwork(get_template("lenet5")))
    assert doc.undo_text == "Undo Load lenet5"
    doc.execute(RemoveLayer(0))
    doc.execute(ReplaceNetwork(get_template("lenet5")))  # same name, more than one layer differs
    assert doc.undo_text == "Undo Load lenet5"
