"""The training form's last row, Workers, can be scrolled fully into view in the Training dock at
1280x800 while health cards show (QA): the form had a scroll area of its own inside the dock's, and
with a card up its viewport reached below the dock's, so Workers stayed cut off at the bottom."""

from __future__ import annotations

import dataclasses

import pytest
from PyQt6.QtCore import QPoint, QRect
from PyQt6.QtWidgets import QScrollArea

from cnnstudio.engine.health import Fix, HealthIssue
from tests.gui.qtwait import settle

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

LONG = ("Training accuracy keeps rising (97.1%) while validation accuracy fell from 96.0% to 94.2% over "
        "the last 2 epochs: the network is memorising the training images instead of learning what "
        "generalises. Add Dropout before the last Dense layer, or turn on augmentation to show it more "
        "varied digits.")
ISSUE = HealthIssue(kind="overfitting", key="overfitting", message=LONG, epoch=3,
                    fixes=(Fix("add_dropout", "Add Dropout (0.5) before the last Dense layer", {}, True),
                           Fix("augment", "Turn on augmentation", {})))


def _in_window(widget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def _scroll_areas(widget) -> list[QScrollArea]:
    found, parent = [], widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            found.append(parent)
        parent = parent.parentWidget()
    return found


@pytest.mark.parametrize("cards", [1, 2])
def test_workers_row_scrolls_fully_into_the_training_dock(qtbot, window, cards):
    window.resize(1280, 800)
    dock = window.docks["trainingDock"]
    dock.raise_()
    panel = window.training_panel
    issues = [ISSUE, dataclasses.replace(ISSUE, key="overfitting:2", message=LONG + " " + LONG)][:cards]
    panel.health.add_issues(issues)
    panel.hint.setVisible(True)   # as while a run goes: "The network is read-only..."
    settle(window, dock, panel.health, panel.workers)
    dock_scroll = dock.widget()
    assert isinstance(dock_scroll, QScrollArea)
    bar = dock_scroll.verticalScrollBar()
    bar.setValue(bar.maximum())   # a person drags the dock's scroll bar to the end
    settle(dock_scroll.viewport(), panel.workers)
    visible = _in_window(dock_scroll.viewport()) & _in_window(dock)
    assert visible.contains(_in_window(panel.workers)), (_in_window(panel.workers), visible)
    # one scroll bar to drag: the dock's (a second one for the form moved only part of the way)
    assert _scroll_areas(panel.workers) == [dock_scroll]
