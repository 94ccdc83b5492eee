"""The network's answer for one image: a bar per class, the top class highlighted and named.

The bars lie horizontally, a class per row with its name on the left axis: standing bars
had their names side by side under them, and in a narrow Draw dock pyqtgraph dropped all
but two ("0", "5"). The chart asks for a row of text height per class (``min_height``).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnstudio.gui.common import plot_export

BAR_COLOUR = "#5a7fa8"
TOP_COLOUR = "#f0a030"
#: at most this many class names on the axis (more classes: every n-th named)
MAX_NAMED = 20
#: the chart's least height: a text line per named class plus the bottom axis and margins
AXES_PX, MAX_CHART_PX = 48, 360


class PredictionView(QWidget):
    """``set_probs(probs (K,), class names)``; ``probs``/``top`` hold what is shown.
    ``barClicked(k)`` when the bar of class ``k`` is clicked (the Explain view opens for it)."""

    barClicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.probs: np.ndarray | None = None
        self.top: int | None = None
        self._names: list[str] = []
        self.headline = QLabel("—")
        font = QFont()
        font.setPointSize(20)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("#202020")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setXRange(0.0, 1.0, padding=0.02)
        self.plot.setLabel("bottom", "probability")
        # a title row: the first class's name sat in the corner the plot's "?" button covers
        self.plot.setTitle("per class", color="#bbbbbb", size="8pt")
        self.plot.getPlotItem().invertY(True)   # the first class on top, as the names read
        self.bars = pg.BarGraphItem(x0=0, y=np.arange(10), width=np.zeros(10), height=0.7, brush=BAR_COLOUR)
        self.plot.addItem(self.bars)
        self._show_names([str(i) for i in range(10)])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.plot, 1)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.setToolTip("Click a bar to see how that probability was computed (Explain)")
        plot_export.install(self.plot, "Prediction", table=self.table)

    def table(self) -> plot_export.Table:
        """(header, rows) of the CSV export: a row per class and its probability (none: no rows)."""
        probs = [] if self.probs is None else list(self.probs)
        return ["class", "probability"], [[self._names[i] if i < len(self._names) else str(i), float(p)]
                                          for i, p in enumerate(probs)]

    def set_probs(self, probs: np.ndarray | None, class_names: list[str], note: str = "") -> None:
        """probs: (K,) class probabilities, or None to clear."""
        if probs is None:
            self.clear()
            return
        probs = np.asarray(probs, dtype=np.float64)
        k = probs.shape[0]
        self.probs, self.top = probs, int(np.argmax(probs))
        brushes = [pg.mkBrush(TOP_COLOUR if i == self.top else BAR_COLOUR) for i in range(k)]
        self.bars.setOpts(x0=0, y=np.arange(k), width=probs, height=0.7, brushes=brushes)
        names = [str(class_names[i]) if i < len(class_names) else str(i) for i in range(k)]
        if names != self._names:
            self._show_names(names)
        name = class_names[self.top] if self.top < len(class_names) else str(self.top)
        # the note on a line of its own in small type: beside the answer it made the headline ~360 px
        # wide, wider than the Draw dock of Draw & look at 1024x640
        self.headline.setText(f"{html.escape(str(name))}&nbsp;&nbsp;&nbsp;{100 * probs[self.top]:.1f}&nbsp;%"
                              + (f"<br><span style='font-size:9pt; font-weight:normal'>({html.escape(note)})</span>"
                                 if note else ""))

    def _show_names(self, names: list[str]) -> None:
        """A tick per class on the left axis (every ``step``-th past MAX_NAMED classes), and a
        least height that gives each named row its line of text."""
        self._names = list(names)
        k = len(names)
        step = max(1, -(-k // MAX_NAMED))
        self.plot.getAxis("left").setTicks([[(i, names[i]) for i in range(0, k, step)]])
        self.plot.setYRange(-0.6, k - 0.4, padding=0)
        rows = -(-k // step)
        self.plot.setMinimumHeight(min(MAX_CHART_PX, rows * (self.fontMetrics().height() + 3) + AXES_PX))

    def bar_at(self, scene_pos: QPointF) -> int | None:
        """The class whose bar's row (or column) is at ``scene_pos``, however long the bar, or None."""
        if self.probs is None:
            return None
        point = self.plot.getPlotItem().vb.mapSceneToView(scene_pos)
        lying = self.bars.opts.get("x") is None   # bars along x, a class per row (y)
        k = int(np.floor((point.y() if lying else point.x()) + 0.5))
        return k if 0 <= k < self.probs.shape[0] else None

    def _on_click(self, ev) -> None:
        k = self.bar_at(ev.scenePos()) if ev.button() == Qt.MouseButton.LeftButton else None
        if k is not None:
            self.barClicked.emit(k)

    def clear(self) -> None:
        self.probs, self.top = None, None
        self.bars.setOpts(width=np.zeros(len(self.bars.opts["y"])))
        self.headline.setText("—")
