"""Class counts of the current dataset: training and validation bars side by side."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from cnnstudio.gui.common import plot_export

TRAIN_COLOUR = "#5a7fa8"
VAL_COLOUR = "#f0a030"


class ClassCountsChart:
    """``set_counts(train (K,), val (K,), names)``; ``train``/``val`` hold what is shown."""

    def __init__(self) -> None:
        self.widget = pg.PlotWidget()
        self.widget.setBackground("w")
        self.widget.setMenuEnabled(False)
        self.widget.setMouseEnabled(x=False, y=False)
        self.widget.hideButtons()
        self.widget.setMinimumHeight(130)
        self.widget.setLabel("left", "images")
        for name in ("left", "bottom"):
            self.widget.getAxis(name).setTextPen("#202020")
            self.widget.getAxis(name).setPen("#808080")
        # the key in the title row, outside the plot area (a legend in the view covered the bars)
        self.widget.setTitle(f'<span style="color:{TRAIN_COLOUR}">&#9632;</span> training &nbsp; '
                             f'<span style="color:{VAL_COLOUR}">&#9632;</span> validation',
                             color="#202020", size="8pt")
        self.train_bars = pg.BarGraphItem(x=[0], height=[0], width=0.38, brush=TRAIN_COLOUR, name="training")
        self.val_bars = pg.BarGraphItem(x=[0], height=[0], width=0.38, brush=VAL_COLOUR, name="validation")
        self.widget.addItem(self.train_bars)
        self.widget.addItem(self.val_bars)
        self.train = np.zeros(0, np.int64)
        self.val = np.zeros(0, np.int64)
        self.names: list[str] = []
        plot_export.install(self.widget, "Images per class", table=self.table)

    def table(self) -> plot_export.Table:
        """(header, rows) of the CSV export: a row per class, its training and validation images."""
        return ["class", "training images", "validation images"], [
            [str(self.names[i]) if i < len(self.names) else str(i), int(t), int(v)]
            for i, (t, v) in enumerate(zip(self.train, self.val))]

    def set_counts(self, train: np.ndarray, val: np.ndarray, names: list[str]) -> None:
        self.train, self.val = np.asarray(train, np.int64), np.asarray(val, np.int64)
        self.names = [str(n) for n in names]
        k = len(names)
        x = np.arange(k)
        self.train_bars.setOpts(x=x - 0.2, height=self.train, width=0.38)
        self.val_bars.setOpts(x=x + 0.2, height=self.val, width=0.38)
        step = max(1, k // 12)
        self.widget.getAxis("bottom").setTicks([[(i, str(names[i])) for i in range(0, k, step)]])
        self.widget.setXRange(-0.6, k - 0.4, padding=0)
        top = max(int(self.train.max(initial=0)), int(self.val.max(initial=0)), 1)
        self.widget.setYRange(0, top * 1.4, padding=0)
