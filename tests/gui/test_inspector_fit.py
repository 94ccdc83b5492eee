"""The editor's inspector fits its column (QA): every row of every layer type's inspector lies inside
the column's scroll viewport at 1280x800 and 1024x640, with no sideways scrolling. lenet5's layer 4
(a Conv2D) had its second Kernel and Stride boxes, "Set by hand..." and "keep its weights" cut off."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QPoint
from PyQt6.QtWidgets import QWidget

from cnnstudio.engine.layers import LAYER_TYPES
from tests.gui.qtwait import settle

SIZES = [(1280, 800), (1024, 640)]


def cut_off(editor) -> list[str]:
    """The inspector's shown widgets whose right edge lies beyond the scroll viewport, and a
    sideways scroll bar if there is one."""
    scroll = editor.inspector_scroll
    viewport = scroll.viewport()
    settle(editor.inspector, viewport)
    found = []
    for child in [editor.inspector, *editor.inspector.findChildren(QWidget)]:
        if not child.isVisible():
            continue
        right = child.mapTo(viewport, QPoint(child.width(), 0)).x()
        if right > viewport.width():
            text = child.text() if hasattr(child, "text") else ""
            found.append(f"{type(child).__name__} {text!r} ends at x={right} in a viewport {viewport.width()} wide")
    if scroll.horizontalScrollBar().maximum() > 0:
        found.append(f"the column scrolls sideways by {scroll.horizontalScrollBar().maximum()} px")
    return found


def select_type(window, type_name: str) -> int:
    """Select a block of ``type_name``: lenet5's own one (with its weights' rows) or one appended."""
    layers = window.state.document.spec.layers
    index = next((i for i, layer in enumerate(layers) if layer.type == type_name), None)
    if index is None:
        window.editor.append_layer(type_name)
        index = len(window.state.document.spec.layers) - 1
    window.editor.select(index)
    return index


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_lenet5_second_conv_fits(make_window, size):
    """The QA case: lenet5 layer 4, with Frozen and Filter weights rows."""
    window = make_window(*size)
    window.editor.select(3)
    inspector = window.editor.inspector
    assert inspector.frozen_box is not None and inspector.filter_button is not None
    assert cut_off(window.editor) == []
    pair = inspector.fields["kernel_size"]
    for widget in (pair.h, pair.w, inspector.fields["stride"].w, inspector.frozen_box, inspector.filter_button):
        assert widget.isVisible()


@pytest.mark.parametrize("type_name", ["Input", *LAYER_TYPES])
def test_every_layer_type_fits(make_window, type_name):
    for size in SIZES:
        window = make_window(*size)
        if type_name == "Input":
            window.editor.select(-1)
        else:
            select_type(window, type_name)
            assert window.editor.inspector.title.text().endswith(type_name)
        assert cut_off(window.editor) == [], size
        window.close()
