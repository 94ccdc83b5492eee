"""One feature map, enlarged, with a colour bar and the value under the mouse; a vector (a Dense
layer's or the softmax's output) as one bar per unit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.inside.feature_maps import ACTIVATION_CMAP

BAR_COLOUR = "#5a7fa8"
TOP_COLOUR = "#f0a030"


class MapViewer(QWidget):
    """Shows one (H, W) map, or a vector as bars; ``hover`` says the value under the mouse.

    ``cellClicked(row, channel, r, c)`` when a pixel of the map is clicked (the panel opens
    the Explain view for it). A vector is shown from its strip (``vector_strip``: reading order,
    ``width`` values a row), and a click on bar ``i`` emits the strip cell of ``i``, ``(i //
    width, i % width)``, so the panel reads both the same way.
    """

    cellClicked = pyqtSignal(int, int, int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Click a tile to enlarge it")
        self.title.setWordWrap(True)
        self.hover = QLabel(" ")
        self.plot = pg.PlotWidget()
        self.plot.setBackground("#202020")
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.hideAxis("bottom")
        self.plot.hideAxis("left")
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.8, brush=BAR_COLOUR)
        # in the plot only while a vector is shown (the CSV export reads the items in the plot)
        cmap = pg.colormap.get(ACTIVATION_CMAP)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, interactive=False, width=14)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        plot_export.install(self.plot, "Enlarged map")   # CSV: the map's values
        self.map: np.ndarray | None = None   # (H, W) raw values shown
        self.vector: np.ndarray | None = None   # (F,) when a vector is shown as bars
        self.row = self.channel = -1
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)

    def show_map(self, row: int, channel: int, title: str, values: np.ndarray,
                 levels: tuple[float, float], vector: bool = False) -> None:
        """values: (H, W) raw activations; levels: colour range (this map's or the layer's).
        ``vector``: values is a vector's strip (NaN after its last value): shown as bars."""
        self.row, self.channel = row, channel
        self.map = np.asarray(values, dtype=np.float32)
        self.title.setText(title)
        if vector:
            self._show_bars(self.map)
            return
        self.vector = None
        self._bar_mode(False)
        self.image.setImage(self.map, levels=levels, autoLevels=False)
        self.bar.setLevels(levels)
        self.plot.setRange(xRange=(0, self.map.shape[1]), yRange=(0, self.map.shape[0]), padding=0.02)

    def _bar_mode(self, on: bool) -> None:
        self.image.setVisible(not on)
        self.bar.setVisible(not on)
        shown = self.bars.scene() is not None
        if on and not shown:
            self.plot.addItem(self.bars)
        elif shown and not on:
            self.plot.removeItem(self.bars)
        self.plot.setAspectLocked(not on)
        self.plot.invertY(not on)
        if on:
            self.plot.showAxis("left")
        else:
            self.plot.hideAxis("left")

    def _show_bars(self, strip: np.ndarray) -> None:
        flat = strip.reshape(-1)
        finite = np.flatnonzero(~np.isnan(flat))
        self.vector = flat[:finite[-1] + 1] if finite.size else flat[:0]
        v = np.nan_to_num(self.vector, nan=0.0, posinf=0.0, neginf=0.0)
        k = v.shape[0]
        top = int(np.argmax(v)) if k else -1
        brushes = [pg.mkBrush(TOP_COLOUR if i == top else BAR_COLOUR) for i in range(k)]
        self._bar_mode(True)
        self.bars.setOpts(x=np.arange(k), height=v, width=0.8, brushes=brushes)
        low, high = (min(0.0, float(v.min())), max(0.0, float(v.max()))) if k else (0.0, 1.0)
        self.plot.setRange(xRange=(-0.6, max(k, 1) - 0.4), yRange=(low, high if high > low else low + 1),
                           padding=0.04)

    def value_at(self, x: float, y: float) -> tuple[int, int, float] | None:
        """(row, col, value) of the map pixel at item coordinates (x, y), or None outside it;
        with bars, the strip cell of the bar at x (any height: the whole column is the bar's)."""
        if self.map is None:
            return None
        if self.vector is not None:
            i = int(np.floor(x + 0.5))
            if not 0 <= i < self.vector.shape[0]:
                return None
            width = self.map.shape[1]
            return i // width, i % width, float(self.vector[i])
        r, c = int(np.floor(y)), int(np.floor(x))
        if 0 <= r < self.map.shape[0] and 0 <= c < self.map.shape[1]:
            return r, c, float(self.map[r, c])
        return None

    def _point(self, scene_pos: QPointF) -> tuple[float, float]:
        """Item coordinates of a scene point: the image's pixels, or the plot's (x = bar index)."""
        if self.vector is not None:
            return _xy(self.plot.getPlotItem().vb.mapSceneToView(scene_pos))
        return _xy(self.image.mapFromScene(scene_pos))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self.value_at(*self._point(scene_pos))
        if hit is None:
            self.hover.setText(" ")
        elif self.vector is not None:
            width = self.map.shape[1] if self.map is not None else 1
            self.hover.setText(f"unit {hit[0] * width + hit[1]}: {hit[2]:.4g} (click: how it was computed)")
        else:
            r, c, v = hit
            self.hover.setText(f"row {r}, column {c}: {v:.4g} (click: how it was computed)")

    def _on_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.row < 0:
            return
        hit = self.value_at(*self._point(ev.scenePos()))
        if hit is not None:
            self.cellClicked.emit(self.row, self.channel, hit[0], hit[1])


def _xy(p: QPointF) -> tuple[float, float]:
    return p.x(), p.y()
