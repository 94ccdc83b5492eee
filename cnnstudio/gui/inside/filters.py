"""The learned kernels of every Conv2D layer as small images, one mosaic per layer.

First layer with one input channel: one tile per filter (after training these
read as edge and stroke detectors). Three input channels on the first layer:
each filter in colour (RGB). Deeper layers: a grid,
one column per filter and one row per input channel, limited to the first
``MAX_FILTERS`` x ``MAX_CHANNELS``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.inside.feature_maps import FillWidthLayoutWidget
from cnnstudio.gui.inside.mosaic import MosaicLayout, layout_for, pack

MAX_FILTERS = 16
MAX_CHANNELS = 16
#: row height: grows with the rows of kernels in the grid, within these bounds
ROW_PX = 120
MAX_ROW_PX = 320
TILE_ROW_PX = 30
LABEL_PX = 150
#: diverging: negative weights blue, positive red, zero white-ish
FILTER_CMAP = "CET-D1"


def filter_tiles(w: np.ndarray) -> tuple[np.ndarray, int, str]:
    """w: (filters, C_in, kh, kw) -> (tiles (K, kh, kw[, 3]), columns, description).

    Colour (RGB) tiles have a trailing axis of 3 and are scaled to [0, 1] per filter.
    """
    f, c, kh, kw = w.shape
    if c == 3 and f <= 64:
        rgb = w.transpose(0, 2, 3, 1)
        lo = rgb.min(axis=(1, 2, 3), keepdims=True)
        hi = rgb.max(axis=(1, 2, 3), keepdims=True)
        return (rgb - lo) / np.where(hi > lo, hi - lo, 1.0), 0, f"{f} filters in colour (RGB)"
    if c == 1:
        return w[:, 0], 0, f"{f} filters"
    nf, nc = min(f, MAX_FILTERS), min(c, MAX_CHANNELS)
    note = "a column per filter,<br>a row per input channel"
    if (nf, nc) != (f, c):
        note += f"<br>(first {nf} x {nc} of {f} x {c})"
    # rows = input channels, columns = filters: wide grids suit the panel's wide rows
    return w[:nf, :nc].transpose(1, 0, 2, 3).reshape(nc * nf, kh, kw), nf, note


class FiltersView(QWidget):
    """One row per Conv2D layer: a label and a mosaic of its kernels."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.note = QLabel("No Conv2D layers")
        self.graphics = FillWidthLayoutWidget()
        self.graphics.setBackground("#202020")
        self.graphics.ci.layout.setColumnFixedWidth(0, LABEL_PX)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.graphics)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)
        self.items: list[pg.ImageItem] = []
        self.mosaics: list[np.ndarray] = []
        self.layouts: list[MosaicLayout] = []
        self._key: tuple = ()
        plot_export.install(self, "Filters", kinds=(plot_export.PNG,), target=self.graphics)

    def set_filters(self, conv: list[tuple[int, np.ndarray]], untrained: bool = False) -> None:
        """conv: [(layer index, W (filters, C_in, kh, kw))]. Rebuilds items only if shapes changed."""
        key = tuple((i, w.shape) for i, w in conv)
        if key != self._key:
            self._build(conv)
            self._key = key
        state = "untrained (random initial weights)" if untrained else "learned"
        self.note.setText(f"Conv2D kernels, {state}" if conv else "No Conv2D layers")
        for row, (_, w) in enumerate(conv):
            tiles, _, _ = filter_tiles(np.asarray(w, dtype=np.float32))
            fill = 0.25 if tiles.ndim == 4 else np.nan  # NaN gaps only for single-channel images
            self.mosaics[row] = pack(tiles, self.layouts[row], out=self.mosaics[row], fill=fill)
            if tiles.ndim == 4:
                self.items[row].setImage(self.mosaics[row], levels=(0.0, 1.0), autoLevels=False)
            else:
                m = float(np.abs(tiles).max()) or 1.0
                self.items[row].setImage(self.mosaics[row], levels=(-m, m), autoLevels=False)

    def _build(self, conv: list[tuple[int, np.ndarray]]) -> None:
        self.graphics.clear()
        self.items, self.mosaics, self.layouts = [], [], []
        cmap = pg.colormap.get(FILTER_CMAP)
        total = 0
        for row, (index, w) in enumerate(conv):
            tiles, cols, note = filter_tiles(np.asarray(w, dtype=np.float32))
            k, kh, kw = tiles.shape[:3]
            lay = MosaicLayout(k, kh, kw, cols) if cols else layout_for(k, kh, kw)
            f, c = w.shape[:2]
            text = (f"<span style='color:#e0e0e0; font-size:10pt'><b>{index + 1} Conv2D</b></span><br>"
                    f"<span style='color:#a0a0a0; font-size:9pt'>{f} @ {kh}x{kw}, {c} in<br>{note}</span>")
            self.graphics.addItem(pg.LabelItem(text, justify="right"), row=row, col=0)
            view = self.graphics.addViewBox(row=row, col=1, lockAspect=True, invertY=True,
                                            enableMouse=False, enableMenu=False)
            view.setBackgroundColor("#3a3a3a")
            height = int(np.clip(TILE_ROW_PX * lay.rows + 24, ROW_PX, MAX_ROW_PX))
            self.graphics.ci.layout.setRowFixedHeight(row, height)
            total += height
            item = pg.ImageItem(axisOrder="row-major")
            if tiles.ndim == 3:
                item.setColorMap(cmap)
            view.addItem(item)
            view.setRange(xRange=(0, lay.shape[1]), yRange=(0, lay.shape[0]), padding=0.02)
            shape = lay.shape + tiles.shape[3:]
            self.items.append(item)
            self.layouts.append(lay)
            self.mosaics.append(np.full(shape, 0.25 if tiles.ndim == 4 else np.nan, np.float32))
        need = self.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()
        self.graphics.setMinimumHeight(int(max(ROW_PX, total + 10, need + 2)))
