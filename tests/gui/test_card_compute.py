"""Editor cards say their multiply-adds on hover (issue 13, per-layer compute)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QEvent
from PyQt6.QtGui import QHelpEvent
from PyQt6.QtWidgets import QApplication, QToolTip

from cnnstudio.gui.editor.view_model import describe, multiply_adds_text
from cnnstudio.model.shapes import infer_shapes
from cnnstudio.model.templates import get_template


def test_cards_carry_each_layers_multiply_adds_from_shape_inference():
    spec = get_template("lenet5")
    report = infer_shapes(spec)
    view = describe(spec)
    layers = view.cards[1:]
    assert [c.multiply_adds for c in layers] == [row.multiply_adds for row in report.layers]
    conv = layers[0]
    assert conv.multiply_adds == 28 * 28 * 6 * 25
    assert "Multiply-adds per image: 117,600 (28 x 28 x 6 outputs x 25 each)" in conv.tooltip
    assert f"of the network's {report.multiply_adds:,}" in conv.tooltip
    assert conv.tooltip.index("Multiply-adds") > 0   # after the block's description
    relu = layers[1]
    assert relu.multiply_adds == 0 and relu.tooltip.endswith("Multiply-adds per image: 0")


def test_the_text_for_unknown_and_uneven_counts():
    assert multiply_adds_text(None, (6, 28, 28), 100) == ""
    assert multiply_adds_text(7, (3,), None) == "Multiply-adds per image: 7"
    assert multiply_adds_text(30, (10,), 120) == "Multiply-adds per image: 30 (10 outputs x 3 each), 25.0% of the network's 120"


@pytest.mark.qt_log_ignore("does not support raise")   # the offscreen plugin, showing the tooltip
def test_hovering_a_card_on_the_canvas_shows_its_multiply_adds(qtbot, editor):
    canvas = editor.canvas
    card = next(c for c in canvas.cards if c.info.type_name == "Conv2D")
    canvas.ensureVisible(card)
    centre = canvas.mapFromScene(card.sceneBoundingRect().center())
    event = QHelpEvent(QEvent.Type.ToolTip, centre, canvas.viewport().mapToGlobal(centre))
    QApplication.sendEvent(canvas.viewport(), event)
    qtbot.waitUntil(lambda: "Multiply-adds per image: 117,600" in QToolTip.text(), timeout=5000)
    QToolTip.hideText()
