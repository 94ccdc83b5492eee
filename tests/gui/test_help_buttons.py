"""A "?" on every block, hyperparameter, training setting and plot opens its glossary entry: clicks
on a sample of them in the real window, and a walk of the window proving no plot goes without one
(the glossary's own completeness over the registry, schema and settings: tests/project/test_glossary)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QMessageBox, QToolButton

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.explain.glossary import KEY_PROPERTY
from cnnstudio.model.training_config import SETTINGS
from cnnstudio.project.glossary import entry, hyper_key, layer_key, setting_key

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def _opened(qtbot, window, key: str) -> QMessageBox:
    """The glossary window a click opened for ``key`` (closed again)."""
    def find():
        return [b for b in window.findChildren(QMessageBox) if b.property(KEY_PROPERTY) == key and b.isVisible()]
    qtbot.waitUntil(lambda: bool(find()), timeout=3000)
    box = find()[0]
    assert box.informativeText() == entry(key)["text"] and entry(key)["title"] in box.text()
    box.close()
    return box


def _button(parent, key: str) -> QToolButton:
    found = [b for b in parent.findChildren(QToolButton) if b.property(KEY_PROPERTY) == key]
    assert len(found) == 1, (key, len(found))
    return found[0]


def _click(qtbot, window, parent, key: str) -> None:
    button = _button(parent, key)
    qtbot.waitUntil(button.isVisible, timeout=3000)   # a row added to a shown form is shown queued
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    _opened(qtbot, window, key)


def test_every_palette_block_has_a_help_button(window):
    palette = window.editor.layer_palette
    keys = {b.property(KEY_PROPERTY) for b in palette.findChildren(QToolButton)}
    assert {layer_key(t) for t in LAYER_TYPES} <= keys


def test_palette_help_opens_the_block_entry(qtbot, window):
    item = window.editor.layer_palette.type_item("MaxPool2D")
    window.editor.layer_palette.scrollToItem(item)
    _click(qtbot, window, window.editor.layer_palette, layer_key("MaxPool2D"))


def test_inspector_rows_have_the_hyperparameter_entries(qtbot, window, state):
    inspector = window.editor.inspector
    inspector.show_layer(0)                                   # lenet5's first Conv2D
    keys = [b.property(KEY_PROPERTY) for b in inspector.form_host.findChildren(QToolButton)
            if b.property(KEY_PROPERTY)]
    expected = [hyper_key("Conv2D", h.name) for h in LAYER_TYPES["Conv2D"].hyperparameters]
    assert keys[:len(expected)] == expected
    assert {"frozen", "hand_set_filters"} <= set(keys)
    _click(qtbot, window, inspector.form_host, hyper_key("Conv2D", "padding"))
    pool = next(i for i, layer in enumerate(state.spec.layers) if layer.type == "MaxPool2D")
    inspector.show_layer(pool)
    _click(qtbot, window, inspector.form_host, "hyper.MaxPool2D.stride")   # the pooling stride's own entry


def test_training_form_fields_have_help(qtbot, window):
    window.docks["trainingDock"].raise_()
    form = window.training_panel.form
    keys = {b.property(KEY_PROPERTY) for b in form.findChildren(QToolButton)}
    shown = [name for name in SETTINGS if hasattr(form, name)]
    assert {setting_key(n) for n in shown} <= keys
    _click(qtbot, window, form, setting_key("lr"))


def test_every_plot_has_a_help_button(qtbot, window):
    buttons = list(window.plot_help.values())
    views = window.findChildren(pg.GraphicsView)
    assert views
    for view in views:
        assert any(b.parentWidget() is view or b.parentWidget().isAncestorOf(view) for b in buttons), \
            f"{type(view).__name__} in {type(view.parentWidget()).__name__} has no '?'"
    window.docks["plotsDock"].raise_()
    button = window.plot_help["plot.loss"]
    qtbot.waitUntil(button.isVisible, timeout=3000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    _opened(qtbot, window, "plot.loss")


def test_a_card_badge_opens_its_block_entry(qtbot, window):
    canvas = window.editor.canvas
    card = next(c for c in canvas.cards if c.info.index == 0)
    assert card.help is not None and card.help.key == layer_key("Conv2D")
    canvas.ensureVisible(card)
    pos = canvas.mapFromScene(card.help.scenePos())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))
    _opened(qtbot, window, layer_key("Conv2D"))
    input_card = next(c for c in canvas.cards if c.info.index == -1)
    assert input_card.help is not None and input_card.help.key == "layer.Input"
