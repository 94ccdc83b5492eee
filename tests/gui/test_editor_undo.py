"""Undo that reads right: every edit's undo text names it; arrow clicks on one spin box are one step."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QSpinBox, QStyle, QStyleOptionSpinBox

from cnnstudio.engine import health
from cnnstudio.gui.editor import edits
from cnnstudio.gui.training import runtools
from cnnstudio.model import get_template

# lenet5: Conv2D 6, ReLU, MaxPool2D, Conv2D 16, ReLU, MaxPool2D, Flatten, Dense 120, ReLU, Dense 84, ReLU, Dense 10,
# Softmax
EDITS = [
    (lambda s: edits.append_layer(s.document, "Dropout"), "Add Dropout"),
    (lambda s: edits.add_layer(s.document, 0, "BatchNorm"), "Add BatchNorm"),
    (lambda s: edits.remove_layer(s.document, 1), "Remove ReLU"),
    (lambda s: edits.duplicate_layer(s.document, 0), "Duplicate Conv2D"),
    (lambda s: edits.move_layer(s.document, 2, 0), "Move MaxPool2D"),
    (lambda s: edits.set_hyperparameter(s.document, 0, "filters", 7), "Change Conv2D filters"),
    (lambda s: edits.set_hyperparameter(s.document, 2, "pool_size", [3, 3]), "Change MaxPool2D window"),
    (lambda s: edits.set_input(s.document, (32, 32, 1)), "Change input to 32 x 32 x 1"),
    (lambda s: edits.change_layer_type(s.document, 2, "AvgPool2D"), "Change MaxPool2D to AvgPool2D"),
    (lambda s: runtools.edit_network(s, health.Fix(health.REPLACE_WITH_LEAKY_RELU, "", {"index": 1})),
     "Change ReLU to LeakyReLU"),
    (lambda s: runtools.edit_network(s, health.Fix(health.INSERT_DROPOUT, "", {"index": 8, "rate": 0.5})),
     "Add Dropout"),
]


@pytest.mark.parametrize("edit, text", EDITS, ids=[t for _, t in EDITS])
def test_every_edit_names_itself_in_undo_and_redo(state, edit, text):
    assert state.document.spec == get_template("lenet5")
    edit(state)
    assert state.document.undo_text == f"Undo {text}"
    state.document.undo()
    assert state.document.spec == get_template("lenet5")
    assert state.document.redo_text == f"Redo {text}"


def click_arrow(qtbot, box: QSpinBox, up: bool = True) -> None:
    """A mouse click on the spin box's up (or down) arrow, as a person makes it."""
    option = QStyleOptionSpinBox()
    box.initStyleOption(option)
    control = QStyle.SubControl.SC_SpinBoxUp if up else QStyle.SubControl.SC_SpinBoxDown
    rect = box.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, control, box)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=rect.center())


def spin(editor, name: str) -> QSpinBox:
    box = editor.inspector.fields[name]
    assert isinstance(box, QSpinBox), name
    return box


def test_arrow_clicks_on_one_spin_box_undo_in_one_step(qtbot, editor, state):
    editor.select(0)  # Conv2D 6
    for _ in range(3):
        click_arrow(qtbot, spin(editor, "filters"))
    assert state.spec.layers[0].config["filters"] == 9
    assert state.document.undo_text == "Undo Change Conv2D filters"
    state.document.undo()
    assert state.spec == get_template("lenet5") and not state.document.can_undo
    assert spin(editor, "filters").value() == 6  # the inspector shows the restored value
    state.document.redo()
    assert state.spec.layers[0].config["filters"] == 9


def test_arrow_clicks_up_then_down_to_the_start_leave_nothing_to_undo(qtbot, editor, state):
    editor.select(7)  # Dense 120
    click_arrow(qtbot, spin(editor, "units"))
    click_arrow(qtbot, spin(editor, "units"), up=False)
    assert state.spec == get_template("lenet5") and not state.document.can_undo


def test_no_merge_across_fields(qtbot, editor, state):
    editor.select(0)
    click_arrow(qtbot, spin(editor, "filters"))
    click_arrow(qtbot, editor.inspector.fields["stride"].h)
    click_arrow(qtbot, spin(editor, "filters"))
    config = state.spec.layers[0].config
    assert (config["filters"], config["stride"]) == (8, [2, 1])
    state.document.undo()
    assert state.spec.layers[0].config["filters"] == 7
    state.document.undo()
    assert state.spec.layers[0].config["stride"] == [1, 1]
    state.document.undo()
    assert state.spec == get_template("lenet5")


def test_no_merge_after_another_edit(qtbot, editor, state):
    editor.select(0)
    click_arrow(qtbot, spin(editor, "filters"))
    edits.append_layer(state.document, "Dropout")
    editor.select(0)
    click_arrow(qtbot, spin(editor, "filters"))
    assert state.spec.layers[0].config["filters"] == 8
    state.document.undo()
    assert state.spec.layers[0].config["filters"] == 7 and state.spec.layers[-1].type == "Dropout"
    state.document.undo()
    state.document.undo()
    assert state.spec == get_template("lenet5")


def test_same_field_of_another_layer_is_another_step(qtbot, editor, state):
    editor.select(0)
    click_arrow(qtbot, spin(editor, "filters"))
    editor.select(3)  # Conv2D 16
    click_arrow(qtbot, spin(editor, "filters"))
    state.document.undo()
    assert state.spec.layers[3].config["filters"] == 16 and state.spec.layers[0].config["filters"] == 7


@pytest.mark.parametrize("keys", ["Ctrl+Y", "Ctrl+Shift+Z"])
def test_ctrl_y_and_ctrl_shift_z_redo(qtbot, window, state, keys):
    edits.append_layer(state.document, "Dropout")
    after = state.spec
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert state.spec == get_template("lenet5")
    modifiers = Qt.KeyboardModifier.ControlModifier
    if "Shift" in keys:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Y if keys.endswith("Y") else Qt.Key.Key_Z, modifiers)
    assert state.spec == after
