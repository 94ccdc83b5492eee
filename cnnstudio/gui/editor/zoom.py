"""The editor canvas with a zoom: fitted to show the whole network (the default), or the user's scale.

Fitting picks the rows per column and the scale together: a 14-block chain in one tall column
at 0.4 or in two columns at 0.65, whichever shows it larger. Cards never go below
``MIN_FIT_SCALE`` of their size when fitting (smaller card text stops being readable): a
network that does not fit then scrolls at that scale.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFontMetricsF, QTransform, QWheelEvent
from PyQt6.QtWidgets import QWidget

from cnnstudio.gui.editor.canvas import EditorCanvas
from cnnstudio.gui.editor.cards import CARD_H, MARGIN, label_font
from cnnstudio.gui.editor.layout import layout_network
from cnnstudio.gui.editor.view_model import NetworkView

#: zoom to fit never shrinks the cards below this (card text ~7 px) nor magnifies them
MIN_FIT_SCALE, MAX_FIT_SCALE = 0.6, 1.0
#: View > Zoom in/out: the factor per step and the range
ZOOM_STEP, MIN_ZOOM, MAX_ZOOM = 1.2, 0.3, 2.0


class ZoomCanvas(EditorCanvas):
    """The editor canvas with a zoom: ``fit`` (the default) picks the rows per column and the
    scale that show the whole network largest; otherwise ``zoom`` is the user's scale."""

    def __init__(self, state, parent: QWidget | None = None):
        self.fit = True
        self.zoom = 1.0
        self._fit_cache: tuple[NetworkView, tuple, tuple[int, float]] | None = None   # (view, size, fit)
        super().__init__(state, parent)

    def _rows_at(self, scale: float) -> int:
        gap = self.geometry_().v_gap
        usable = (self.viewport().height() - 2) / scale - MARGIN - 4 + gap // 2
        return max(3, int(usable // (CARD_H + gap)))

    def _fit_scale(self, width: float, height: float) -> float:
        vw, vh = self.viewport().width() - 2, self.viewport().height() - 2
        if width <= 0 or height <= 0:
            return MAX_FIT_SCALE
        return min(MAX_FIT_SCALE, vw / width, vh / height)

    def best_fit(self) -> tuple[int, float]:
        """(rows per column, scale) that show the whole network largest (the scale may be below
        MIN_FIT_SCALE: then it does not fit legibly, and the caller scrolls at that minimum)."""
        view = self.view
        key = (self.viewport().width(), self.viewport().height(), self.font().toString())
        cache = self._fit_cache
        if cache is not None and cache[0] is view and cache[1] == key:
            return cache[2]   # a resize asks more than once; vgg16's search costs ~16 ms
        found = self._search_fit(view)
        self._fit_cache = (view, key, found)
        return found

    def _search_fit(self, view) -> tuple[int, float]:
        n = len(view.cards)
        sources = view.sources if len(view.sources) == n - 1 else [(i - 1,) for i in range(n - 1)]
        labels = {card.index: card.shape_text for card in view.cards}
        metrics = QFontMetricsF(label_font(self.font()))
        measure = (lambda text: metrics.horizontalAdvance(text) + 2)
        best: tuple[int, float] | None = None
        _, vh = self.viewport().width() - 2, self.viewport().height() - 2
        for rows in range(self._rows_at(MAX_FIT_SCALE), max(n, 3) + 1):
            layout = layout_network(sources, rows, self.geometry_(), labels, measure)
            scale = self._fit_scale(layout.width, layout.height)
            if best is None or scale > best[1] + 1e-6:
                best = (rows, scale)
            if best[1] >= MAX_FIT_SCALE or vh / max(layout.height, 1) <= best[1]:
                break   # more rows only make the network taller
        return best if best is not None else (self._rows_at(MAX_FIT_SCALE), MAX_FIT_SCALE)

    def rows_per_column(self) -> int:
        if self.fit:
            rows, scale = self.best_fit()
            return rows if scale >= MIN_FIT_SCALE else self._rows_at(MIN_FIT_SCALE)
        return self._rows_at(self.zoom)

    def refresh(self, view, selected: int) -> None:
        super().refresh(view, selected)
        self.apply_zoom()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.apply_zoom()

    def apply_zoom(self) -> None:
        """Scale the view: fitted to the viewport (within the legible range) or the user's zoom."""
        if self.fit:
            scale = self._fit_scale(self.layout_.width, self.layout_.height)
            self.zoom = max(MIN_FIT_SCALE, scale)
        if abs(self.transform().m11() - self.zoom) > 1e-6:
            self.setTransform(QTransform.fromScale(self.zoom, self.zoom))

    def set_zoom(self, zoom: float | None) -> None:
        """``zoom``: a scale (stops fitting), or None to fit the whole network again."""
        self.fit = zoom is None
        if zoom is not None:
            self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.refresh(self.view, self.selected)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override: Ctrl + wheel zooms
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and event.angleDelta().y():
            self.set_zoom(self.zoom * (ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP))
            event.accept()
            return
        super().wheelEvent(event)
