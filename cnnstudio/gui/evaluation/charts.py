"""Bar charts of the evaluation panel (pyqtgraph, items created once, updated in place)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QWidget

from cnnstudio.gui.common import plot_export

BAR = "#5a7fa8"
TRUE_COLOUR = "#2a9a2a"
PRED_COLOUR = "#d05a10"


def _plot(left: str, height: int) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setBackground("w")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setYRange(0.0, 1.0, padding=0.02)
    plot.setLabel("left", left)
    plot.setMinimumHeight(height)
    for name in ("left", "bottom"):
        plot.getAxis(name).setTextPen("#202020")
        plot.getAxis(name).setPen("#808080")
    return plot


def _ticks(plot: pg.PlotWidget, names: list[str]) -> None:
    k = len(names)
    step = max(1, k // 12)  # keep labels readable for many classes
    plot.getAxis("bottom").setTicks([[(i, names[i]) for i in range(0, k, step)]])
    plot.setXRange(-0.6, k - 0.4, padding=0)


class ClassAccuracyChart:
    """Per-class accuracy: one bar per true class (``values`` holds what is shown)."""

    def __init__(self, parent: QWidget | None = None):
        self.widget = _plot("accuracy", 130)
        self.widget.setTitle("Accuracy per class", color="#202020", size="10pt")
        self.bars = pg.BarGraphItem(x=np.arange(1), height=np.zeros(1), width=0.7, brush=BAR)
        self.widget.addItem(self.bars)
        self.values = np.zeros(0)
        self.names: list[str] = []
        plot_export.install(self.widget, "Accuracy per class", table=self.table)

    def table(self) -> plot_export.Table:
        """(header, rows) of the CSV export: one row per class, its accuracy (empty: no images)."""
        return ["class", "accuracy"], [[_name(self.names, i), "" if np.isnan(v) else float(v)]
                                       for i, v in enumerate(self.values)]

    def set_values(self, accuracy: np.ndarray, names: list[str]) -> None:
        """accuracy: (K,) in [0, 1], NaN for a class without images (drawn as 0)."""
        self.values = np.asarray(accuracy, dtype=np.float64)
        self.names = list(names)
        k = self.values.shape[0]
        self.bars.setOpts(x=np.arange(k), height=np.nan_to_num(self.values), width=0.7, brush=BAR)
        _ticks(self.widget, names)


class ProbabilityChart:
    """One example's class probabilities; the true class green, a wrong prediction orange."""

    def __init__(self) -> None:
        self.widget = _plot("probability", 120)
        self.widget.setFixedHeight(170)  # pyqtgraph's size hint (480 px) would make the panel scroll
        self.bars = pg.BarGraphItem(x=np.arange(1), height=np.zeros(1), width=0.7, brush=BAR)
        self.widget.addItem(self.bars)
        self.values = np.zeros(0)
        self.names: list[str] = []
        plot_export.install(self.widget, "Probabilities of the example", table=self.table)

    def table(self) -> plot_export.Table:
        return ["class", "probability"], [[_name(self.names, i), float(v)] for i, v in enumerate(self.values)]

    def set_probs(self, probs: np.ndarray, true: int, names: list[str]) -> None:
        """probs: (K,) of one example; ``true``: its label."""
        self.values = np.asarray(probs, dtype=np.float64)
        self.names = list(names)
        k = self.values.shape[0]
        pred = int(np.argmax(self.values))
        brushes = [pg.mkBrush(TRUE_COLOUR if i == true else PRED_COLOUR if i == pred else BAR) for i in range(k)]
        self.bars.setOpts(x=np.arange(k), height=self.values, width=0.7, brushes=brushes)
        _ticks(self.widget, names)

    def clear(self) -> None:
        self.values = np.zeros(0)
        self.bars.setOpts(x=np.arange(1), height=np.zeros(1), brushes=[pg.mkBrush(BAR)])


def _name(names: list[str], i: int) -> str:
    return str(names[i]) if i < len(names) else str(i)
