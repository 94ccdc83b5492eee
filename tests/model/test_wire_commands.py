"""Putting a layer on a wire of a graph (model.wire_commands): only that wire changes, a chain
stays a chain, undo restores the exact layers, impossible wires refused with what to do."""

from __future__ import annotations

import pytest

from cnnstudio.model.errors import EditError
from cnnstudio.model.shapes import infer_shapes
from cnnstudio.model.spec import LayerSpec
from cnnstudio.model.templates import get_template
from cnnstudio.model.wire_commands import InsertOnWire, MoveOntoWire


def test_insert_on_a_skip_wire_rewires_that_edge_only():
    spec = get_template("mini-resnet")          # 9 Add reads 8 BatchNorm and 3 MaxPool2D
    cmd = InsertOnWire(3, 9, LayerSpec("Dropout", {"rate": 0.3}))
    new = cmd.redo(spec)
    assert new.layers[9].type == "Dropout" and new.sources(9) == (3,)
    assert new.sources(10) == (8, 9) and new.sources(4) == (3,)
    assert new.layers[:9] == spec.layers[:9]    # nothing before the wire changed
    assert infer_shapes(new).complete
    assert cmd.text == "Insert Dropout between 4 MaxPool2D and 10 Add"
    assert cmd.undo(new) == spec


def test_insert_on_a_chain_wire_is_add_layer_and_keeps_the_chain():
    spec = get_template("lenet5")
    new = InsertOnWire(1, 2, LayerSpec("Dropout")).redo(spec)
    assert new.is_chain and new.layers[2].type == "Dropout"
    assert [layer.type for layer in new.layers[:4]] == ["Conv2D", "ReLU", "Dropout", "MaxPool2D"]


def test_insert_from_the_input_into_a_branch():
    spec = get_template("mini-inception")       # 3, 5, 9 and 13 read layer 2
    new = InsertOnWire(2, 13, LayerSpec("ReLU")).redo(spec)
    assert new.sources(13) == (2,) and new.layers[14].type == "MaxPool2D" and new.sources(14) == (13,)
    assert new.sources(17) == (4, 8, 12, 16)    # the Concatenate follows its layers
    assert infer_shapes(new).complete


@pytest.mark.parametrize("src, dst, words", [(5, 9, "does not read layer 6"), (2, 40, "out of range")])
def test_a_wire_that_is_not_there_is_refused(src, dst, words):
    with pytest.raises(EditError, match=words):
        InsertOnWire(src, dst, LayerSpec("ReLU")).redo(get_template("mini-resnet"))


def test_move_onto_wire_takes_the_layer_out_and_puts_it_on_the_wire():
    spec = get_template("mini-resnet")
    cmd = MoveOntoWire(2, 3, 9)                 # the stem's ReLU onto block 1's shortcut
    new = cmd.redo(spec)
    assert [layer.type for layer in new.layers[:3]] == ["Conv2D", "BatchNorm", "MaxPool2D"]
    assert new.layers[8].type == "ReLU" and new.sources(8) == (2,)
    assert new.sources(9) == (7, 8)
    assert cmd.undo(new) == spec
    with pytest.raises(EditError, match="an end of that wire"):
        MoveOntoWire(3, 3, 9).redo(spec)
