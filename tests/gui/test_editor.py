"""The network editor driven as a person would: drops, clicks, typing, keys (offscreen)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QDoubleSpinBox, QSpinBox

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.canvas import MOVE_MIME, layer_mime
from cnnstudio.gui.editor.editor import READ_ONLY_HINT
from cnnstudio.gui.editor.view_model import ERROR, UNKNOWN
from cnnstudio.model import get_template


def drop_on_canvas(qtbot, canvas, mime: QMimeData, scene_point: QPointF) -> bool:
    """Send a real enter/move/drop event sequence to the canvas viewport; True if the drop was accepted."""
    pos = canvas.mapFromScene(scene_point)
    copy = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, copy, mime, buttons, mods)
    QApplication.sendEvent(canvas.viewport(), enter)
    move = QDragMoveEvent(pos, copy, mime, buttons, mods)
    QApplication.sendEvent(canvas.viewport(), move)
    drop = QDropEvent(QPointF(pos), copy, mime, buttons, mods)
    QApplication.sendEvent(canvas.viewport(), drop)
    return drop.isAccepted() and enter.isAccepted()


def card_center(canvas, index: int) -> QPoint:
    """Viewport position of the card for layer ``index`` (-1 = Input)."""
    card = next(c for c in canvas.cards if c.info.index == index)
    canvas.ensureVisible(card)
    return canvas.mapFromScene(card.sceneBoundingRect().center())


def click_card(qtbot, canvas, index: int) -> None:
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=card_center(canvas, index))


def cards_by_index(editor):
    return {c.info.index: c.info for c in editor.canvas.cards}


def test_palette_lists_every_layer_type_with_its_description(editor):
    palette = editor.layer_palette
    for name, cls in LAYER_TYPES.items():
        item = palette.type_item(name)
        assert item is not None, name
        assert cls.description in item.toolTip(0)


def test_drop_from_palette_inserts_at_the_drop_position(qtbot, editor, state):
    canvas = editor.canvas
    before = list(state.spec.layers)
    gap = 9  # just below chain card 9 = layer index 8 (the ReLU after Dense 120)
    assert drop_on_canvas(qtbot, canvas, layer_mime("Dropout"), canvas.gap_point(gap))
    layers = state.spec.layers
    assert [layer.type for layer in layers] == [lyr.type for lyr in before[:gap]] + ["Dropout"] + \
        [lyr.type for lyr in before[gap:]]
    assert cards_by_index(editor)[gap].type_name == "Dropout"
    assert editor.selected == gap
    state.document.undo()
    assert state.spec.layers == before


def test_double_click_in_palette_appends(qtbot, editor, state):
    palette = editor.layer_palette
    item = palette.type_item("Dropout")
    palette.scrollToItem(item)
    rect = palette.visualItemRect(item)
    assert palette.viewport().rect().contains(rect.center())
    n = len(state.spec.layers)
    qtbot.mouseClick(palette.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(state.spec.layers) == n + 1
    assert state.spec.layers[-1].type == "Dropout"
    assert len(editor.canvas.cards) == n + 2  # Input + layers


def test_dragging_a_card_reorders_the_chain(qtbot, editor, state):
    canvas = editor.canvas
    before = list(state.spec.layers)
    mime = QMimeData()
    mime.setData(MOVE_MIME, QByteArray(b"1"))  # the first ReLU
    assert drop_on_canvas(qtbot, canvas, mime, canvas.gap_point(3))  # below card 3 = layer 2 (Conv2D 16)
    expected = before[:1] + before[2:3] + before[1:2] + before[3:]
    assert state.spec.layers == expected
    state.document.undo()
    assert state.spec.layers == before


def test_inspector_change_updates_downstream_shapes(qtbot, editor, state):
    click_card(qtbot, editor.canvas, 0)  # Conv2D 6 @ 5x5 same
    assert editor.selected == 0
    filters = editor.inspector.fields["filters"]
    assert isinstance(filters, QSpinBox) and filters.value() == 6
    filters.lineEdit().selectAll()
    qtbot.keyClicks(filters.lineEdit(), "10")
    qtbot.keyClick(filters.lineEdit(), Qt.Key.Key_Return)
    assert state.spec.layers[0].config["filters"] == 10
    cards = cards_by_index(editor)
    assert cards[0].shape_text == "28 x 28 x 10"
    assert cards[2].shape_text == "14 x 14 x 10"  # MaxPool after ReLU carries the new channel count
    assert cards[3].params == 5 * 5 * 10 * 16 + 16  # the next Conv2D sees 10 input channels


def test_typing_a_value_is_one_undo_step(qtbot, editor, state):
    click_card(qtbot, editor.canvas, 7)  # Dense 120
    before = state.spec
    units = editor.inspector.fields["units"]
    units.lineEdit().selectAll()
    qtbot.keyClicks(units.lineEdit(), "256")
    qtbot.keyClick(units.lineEdit(), Qt.Key.Key_Return)
    assert state.spec.layers[7].config["units"] == 256
    state.document.undo()
    assert state.spec == before


def test_padding_and_rates_use_proper_widgets(qtbot, editor, state):
    click_card(qtbot, editor.canvas, 0)
    padding = editor.inspector.fields["padding"]
    padding.mode.setCurrentText("valid")
    assert state.spec.layers[0].config["padding"] == "valid"
    assert cards_by_index(editor)[0].shape_text == "24 x 24 x 6"
    assert isinstance(editor.inspector.fields["use_bias"].isChecked(), bool)
    editor.append_layer("Dropout")
    rate = editor.inspector.fields["rate"]
    assert isinstance(rate, QDoubleSpinBox) and rate.maximum() < 1.0
    rate.setValue(0.25)
    assert state.spec.layers[-1].config["rate"] == pytest.approx(0.25)


def test_invalid_network_marks_the_failing_block_and_lists_the_problem(qtbot, window, state):
    editor = window.editor
    click_card(qtbot, editor.canvas, 3)  # Conv2D 16 @ 5x5 valid on 14x14
    kernel = editor.inspector.fields["kernel_size"]
    kernel.h.setValue(20)
    cards = cards_by_index(editor)
    assert cards[3].status == ERROR
    assert "layer 4 Conv2D" in cards[3].tooltip and "Fix:" in cards[3].tooltip
    assert all(cards[i].status == UNKNOWN and cards[i].shape_text == "?" for i in range(4, 13))
    assert cards[2].status not in (ERROR, UNKNOWN)
    problems = editor.problems
    assert problems.count() >= 1 and "layer 4 Conv2D" in problems.item(0).text()
    assert "?" in window.totals_label.text()
    click_card(qtbot, editor.canvas, 0)
    rect = problems.visualItemRect(problems.item(0))
    qtbot.mouseClick(problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert editor.selected == 3
    assert "Fix:" in editor.inspector.error.text()


def test_undo_redo_round_trip_restores_exact_specs(qtbot, window, state):
    editor = window.editor
    specs = [state.spec]
    editor.append_layer("BatchNorm")
    specs.append(state.spec)
    click_card(qtbot, editor.canvas, 0)
    editor.inspector.fields["stride"].w.setValue(2)
    specs.append(state.spec)
    editor.duplicate_selected()
    specs.append(state.spec)
    for expected in reversed(specs[:-1]):
        window.menus.undo_action.trigger()
        assert state.spec == expected
    for expected in specs[1:]:
        window.menus.redo_action.trigger()
        assert state.spec == expected


def test_delete_key_and_duplicate(qtbot, editor, state):
    before = list(state.spec.layers)
    click_card(qtbot, editor.canvas, 1)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Delete)
    assert state.spec.layers == before[:1] + before[2:]
    click_card(qtbot, editor.canvas, 0)
    editor.duplicate_selected()
    assert [lyr.type for lyr in state.spec.layers[:2]] == ["Conv2D", "Conv2D"]


def test_input_block_edits_the_network_input(qtbot, editor, state):
    click_card(qtbot, editor.canvas, -1)
    editor.inspector.fields["channels"].setValue(3)
    assert state.spec.input.hwc == (28, 28, 3)
    assert cards_by_index(editor)[0].params == 5 * 5 * 3 * 6 + 6


def test_status_bar_totals_use_thousands_separators(window):
    assert "61,706" in window.totals_label.text()
    assert "Multiply-adds" in window.totals_label.text()


def test_read_only_while_training(qtbot, editor, state):
    before = state.spec
    state.set_training(True)
    assert editor.hint.isVisible() and editor.hint.text() == READ_ONLY_HINT
    assert not drop_on_canvas(qtbot, editor.canvas, layer_mime("ReLU"), editor.canvas.gap_point(2))
    click_card(qtbot, editor.canvas, 1)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Delete)
    assert not editor.inspector.form_host.isEnabled()
    assert state.spec == before
    state.set_training(False)
    assert not editor.hint.isVisible() and editor.inspector.form_host.isEnabled()


def test_the_canvas_is_a_view_of_the_spec(editor, state):
    """Replacing the spec from outside redraws every card: nothing is read back from positions."""
    from cnnstudio.gui.editor import edits

    edits.change_layer_type(state.document, 2, "AvgPool2D")
    assert cards_by_index(editor)[2].type_name == "AvgPool2D"
    state.new_project("mlp")
    assert [c.info.type_name for c in editor.canvas.cards] == ["Input"] + \
        [lyr.type for lyr in get_template("mlp").layers]


def test_pooling_type_combo_swaps_the_layer_in_one_step(qtbot, editor, state):
    before = state.spec
    click_card(qtbot, editor.canvas, 2)  # MaxPool2D
    editor.inspector.fields["__type__"].setCurrentText("AvgPool2D")
    assert state.spec.layers[2].type == "AvgPool2D"
    assert state.spec.layers[2].config == before.layers[2].config
    state.document.undo()
    assert state.spec == before


def test_a_refused_value_is_shown_not_raised(qtbot, editor, state):
    click_card(qtbot, editor.canvas, -1)
    before = state.spec
    editor.inspector.fields["height"].setMaximum(10_000)  # let the widget offer more than the model takes
    editor.inspector.fields["height"].setValue(5000)
    assert state.spec == before
    assert "height" in editor.inspector.error.text()


def test_arrow_keys_walk_the_chain_and_the_inspector_shows_facts(qtbot, editor, state):
    click_card(qtbot, editor.canvas, -1)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Down)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Down)
    assert editor.selected == 1
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Up)
    assert editor.selected == 0
    assert editor.inspector.facts.text() == "Output 28 x 28 x 6, 156 parameters"
