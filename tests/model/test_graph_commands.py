"""Graph edits are undoable commands that keep every wire pointing at the same layers."""

from __future__ import annotations

import pytest

from cnnstudio.model import AddLayer, Document, DuplicateLayer, LayerSpec, MoveLayer, NetworkSpec, RemoveLayer
from cnnstudio.model import infer_shapes
from cnnstudio.model.errors import EditError
from cnnstudio.model.graph_commands import AddSkipConnection, Connect, Disconnect, SetInputs
from cnnstudio.model.spec import INPUT


def chain():
    return NetworkSpec("c", (8, 8, 1), [
        LayerSpec("Conv2D", {"filters": 4, "padding": "same"}), LayerSpec("ReLU"),
        LayerSpec("Conv2D", {"filters": 4, "padding": "same"}), LayerSpec("ReLU"),
        LayerSpec("GlobalAveragePool2D"), LayerSpec("Dense", {"units": 3}), LayerSpec("Softmax")])


def sources(spec):
    return [spec.sources(i) for i in range(len(spec.layers))]


def test_add_skip_connection_inserts_an_add_that_the_next_layer_reads_and_undo_restores_it():
    doc = Document(chain())
    before = doc.spec
    assert doc.execute(AddSkipConnection(1, 3))
    spec = doc.spec
    assert spec.layers[4].type == "Add" and spec.sources(4) == (1, 3)
    assert spec.sources(5) == (4,)
    assert infer_shapes(spec).ok
    assert doc.undo_text == "Undo Add skip connection from 2 ReLU to 4 ReLU"
    doc.undo()
    assert doc.spec == before
    doc.redo()
    assert doc.spec == spec


def test_inserting_removing_and_moving_keep_named_inputs_on_their_layers():
    doc = Document(chain())
    doc.execute(AddSkipConnection(1, 3))
    doc.execute(AddLayer(0, LayerSpec("BatchNorm")))        # everything shifts by one
    assert doc.spec.layers[5].type == "Add" and doc.spec.sources(5) == (2, 4)
    doc.execute(RemoveLayer(3))                              # the first Conv2D... no: layer 4 Conv2D
    add = next(i for i, layer in enumerate(doc.spec.layers) if layer.type == "Add")
    assert [doc.spec.layers[s].type for s in doc.spec.sources(add)] == ["ReLU", "ReLU"]
    doc.execute(DuplicateLayer(0))
    add = next(i for i, layer in enumerate(doc.spec.layers) if layer.type == "Add")
    assert [doc.spec.layers[s].type for s in doc.spec.sources(add)] == ["ReLU", "ReLU"]
    for _ in range(3):
        doc.undo()
    assert doc.spec.layers[4].type == "Add" and doc.spec.sources(4) == (1, 3)


def test_move_keeps_named_inputs_attached():
    spec = NetworkSpec("m", (8, 8, 1), [
        LayerSpec("Conv2D", {"filters": 2}), LayerSpec("Conv2D", {"filters": 2}, (INPUT,)),
        LayerSpec("Add", {}, (0, 1)), LayerSpec("Flatten"), LayerSpec("Dense", {"units": 2}), LayerSpec("Softmax")])
    doc = Document(spec)
    doc.execute(MoveLayer(1, 0))
    assert doc.spec.sources(2) == (1, 0)          # the same two layers, at their new places
    assert doc.spec.sources(0) == (INPUT,)


def test_connect_and_disconnect_are_one_undo_step_each_with_a_named_text():
    doc = Document(chain())
    doc.execute(AddSkipConnection(1, 3))
    doc.execute(Disconnect(1, 4))
    assert doc.spec.sources(4) == (3,)
    assert doc.undo_text == "Undo Disconnect 2 ReLU from 5 Add"
    assert infer_shapes(doc.spec).problem.kind == "merge_single_input"
    doc.execute(Connect(INPUT, 4))
    assert doc.spec.sources(4) == (3, INPUT)
    assert doc.undo_text == "Undo Connect Input to 5 Add"
    doc.undo()
    doc.undo()
    assert doc.spec.sources(4) == (1, 3)
    doc.execute(SetInputs(2, (INPUT,)))
    assert doc.spec.sources(2) == (INPUT,)


@pytest.mark.parametrize("command", [Connect(9, 2), Disconnect(0, 2), AddSkipConnection(3, 1), SetInputs(0, ())])
def test_impossible_graph_edits_are_refused(command):
    with pytest.raises(EditError):
        command.redo(chain())
