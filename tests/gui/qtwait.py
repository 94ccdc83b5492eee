"""Waiting on Qt without fixed sleeps.

``settle`` replaces "qtbot.wait(300)  # let the layouts settle": it delivers the posted
events (layout requests, deferred resizes, zero-delay timers) pass after pass until the
widgets' geometry (and whatever ``key`` returns) stays the same for a few passes in a row,
however slowly the machine runs. It fails, naming what kept changing, if that never happens.
"""

from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtCore import QPoint
from PyQt6.QtWidgets import QApplication, QWidget

STABLE_PASSES = 3
MAX_PASSES = 1000


def _geometry(widget: QWidget) -> tuple:
    top_left = widget.mapTo(widget.window(), QPoint(0, 0))
    return (widget.isVisible(), top_left.x(), top_left.y(), widget.width(), widget.height())


def settle(*widgets: QWidget, key: Callable[[], Any] | None = None) -> None:
    """Process events until ``widgets`` (and ``key()``) stop changing for a few passes."""
    last: Any = None
    stable = 0
    for _ in range(MAX_PASSES):
        QApplication.sendPostedEvents()
        QApplication.processEvents()
        now = (tuple(_geometry(w) for w in widgets), key() if key is not None else None)
        stable = stable + 1 if now == last else 0
        if stable >= STABLE_PASSES:
            return
        last = now
    raise AssertionError(f"the layout kept changing for {MAX_PASSES} event passes: last {last}")
