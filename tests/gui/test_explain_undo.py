"""Hand-set filter weights and freezing are one undoable command each, with a proper undo text,
and undo/redo restore the exact arrays."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPoint, Qt

from cnnstudio.gui.editor.inspector import Inspector
from cnnstudio.model import LayerSpec, NetworkSpec, ReplaceNetwork
from cnnstudio.model.templates import get_template
from cnnstudio.project.session import build_network


def _inspector(qtbot, state, spec):
    ins = Inspector(state)
    qtbot.addWidget(ins)
    state.document.execute(ReplaceNetwork(spec))
    ins.show_layer(0)
    ins.show()
    qtbot.waitExposed(ins)
    return ins


def _same(a, b):
    assert (a is None) == (b is None)
    if a is not None:
        assert sorted(a) == sorted(b)
        for k in a:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def test_freezing_is_one_command_named_after_the_layer(qtbot, state):
    ins = _inspector(qtbot, state, get_template("lenet5"))
    box = ins.frozen_box
    qtbot.waitUntil(box.isVisible, timeout=3000)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))   # on its tick box
    doc = state.document
    assert doc.spec.layers[0].frozen
    assert doc.undo_text == "Undo Freeze layer 1 (Conv2D)"
    doc.undo()
    assert not doc.spec.layers[0].frozen and doc.redo_text == "Redo Freeze layer 1 (Conv2D)"
    doc.redo()
    assert doc.spec.layers[0].frozen
    ins.show_layer(0)
    ins.frozen_box.setChecked(False)
    assert doc.undo_text == "Undo Unfreeze layer 1 (Conv2D)"


def test_undo_redo_of_hand_set_weights_restores_exact_arrays(qtbot, state):
    spec = NetworkSpec("edges", (8, 8, 1), [LayerSpec("Conv2D", {"filters": 2, "kernel_size": 3}),
                                            LayerSpec("Flatten"), LayerSpec("Dense", {"units": 2})])
    ins = _inspector(qtbot, state, spec)
    trained = build_network(spec, seed=3).get_weights()
    trained = {k: np.asarray(v) for k, v in trained.items()}
    optimizer = {"0.W.m": np.ones((2, 1, 3, 3), np.float32)}
    state.set_weights(trained, optimizer)
    before = {k: v.copy() for k, v in state.weights.items()}

    ins.filter_button.click()
    dialog = ins.filter_dialog
    dialog.filter_spin.setValue(1)
    dialog.presets.activated.emit(dialog.presets.findText("Sobel x"))
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    doc = state.document
    assert doc.undo_text == "Undo Set filter 1 of layer 1 (Conv2D) to Sobel x"
    after = {k: v.copy() for k, v in state.weights.items()}
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    assert np.array_equal(after["0.W"][1, 0], sobel)
    assert np.array_equal(after["0.W"][0], before["0.W"][0])     # the other filter untouched
    assert state.optimizer_state is None                         # its moments belonged to the old weights

    doc.undo()
    _same(state.weights, before)
    _same(state.optimizer_state, optimizer)
    doc.redo()
    _same(state.weights, after)
    doc.undo()
    _same(state.weights, before)

    dialog.cells[0][0].setValue(0.25)        # typed in: no preset named
    dialog.apply()
    assert doc.undo_text == "Undo Set filter 1 of layer 1 (Conv2D)"


def test_undo_of_hand_set_weights_on_an_untrained_network_makes_it_untrained_again(qtbot, state):
    ins = _inspector(qtbot, state, get_template("lenet5"))
    assert state.weights is None
    ins.filter_button.click()
    ins.filter_dialog.presets.activated.emit(ins.filter_dialog.presets.findText("Identity"))
    ins.filter_dialog.apply()
    assert state.weights is not None
    assert state.document.undo_text == "Undo Set filter 0 of layer 1 (Conv2D) to Identity"
    state.document.undo()
    assert state.weights is None


def test_undo_after_training_replaced_the_weights_keeps_the_trained_ones(qtbot, state):
    ins = _inspector(qtbot, state, get_template("lenet5"))
    ins.filter_button.click()
    ins.filter_dialog.presets.activated.emit(ins.filter_dialog.presets.findText("Identity"))
    ins.filter_dialog.apply()
    trained = {k: v + 1 for k, v in state.weights.items()}   # what a training run would leave
    state.set_weights(trained)
    state.document.undo()
    _same(state.weights, trained)
    state.document.redo()
    _same(state.weights, trained)
