"""Editor defects found by using the app: regression tests (offscreen, pytest-qt)."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont, QFontMetrics

from cnnstudio.gui.editor.cards import LABEL_W
from cnnstudio.model import SetLayerConfig


def test_clicking_a_problem_scrolls_to_its_block(qtbot, window, state):
    # VGG16's 39 blocks need several columns: the failing one is scrolled out of view.
    window.new_from_template("vgg16")
    window.editor.canvas.set_zoom(1.0)   # at full size (zoomed to fit, 0.6 shows most of it)
    state.document.execute(SetLayerConfig(28, "padding", "valid"))
    state.document.execute(SetLayerConfig(28, "kernel_size", 20))
    canvas, problems = window.editor.canvas, window.editor.problems
    card = next(c for c in canvas.cards if c.info.index == 28)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert not visible.contains(card.sceneBoundingRect())  # the premise: out of view at first
    item = problems.item(0)
    qtbot.mouseClick(problems.viewport(), Qt.MouseButton.LeftButton, pos=problems.visualItemRect(item).center())
    assert window.editor.selected == 28
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(card.sceneBoundingRect())


def test_edge_labels_have_room_for_vgg16_shapes(window):
    # the label was clipped to half a card: "112 x 112 x 128" showed as "112 x 112 x 12"
    font = QFont(window.editor.canvas.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
    assert QFontMetrics(font).horizontalAdvance("224 x 224 x 128") <= LABEL_W


def test_an_appended_block_is_scrolled_into_view(qtbot, window, state):
    window.new_from_template("vgg16")
    window.editor.append_layer("Dropout")  # what a double-click in the palette does
    canvas = window.editor.canvas
    index = len(state.spec.layers) - 1
    card = next(c for c in canvas.cards if c.info.index == index)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert window.editor.selected == index and visible.contains(card.sceneBoundingRect())


def test_an_empty_network_says_what_to_do(window, state):
    from cnnstudio.model import RemoveLayer

    while state.spec.layers:
        state.document.execute(RemoveLayer(0))
    problems = window.editor.problems
    assert problems.count() == 1
    text = problems.item(0).text()
    assert "no layers" in text and "palette" in text and "every shape fits" not in text
    state.document.undo()
    assert "no layers" not in problems.item(0).text()  # one block back: the model's own verdict
