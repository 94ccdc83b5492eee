"""One feature map, enlarged, with a colour bar and the value under the mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.inside.feature_maps import ACTIVATION_CMAP


class MapViewer(QWidget):
    """Shows one (H, W) map; ``hover_text`` says the value under the mouse.

    ``cellClicked(row, channel, r, c)`` when a pixel of the map is clicked (the panel opens
    the Explain view for it).
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
        cmap = pg.colormap.get(ACTIVATION_CMAP)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, interactive=False, width=14)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        plot_export.install(self.plot, "Enlarged map")   # CSV: the map's values
        self.map: np.ndarray | None = None   # (H, W) raw values shown
        self.row = self.channel = -1
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)

    def show_map(self, row: int, channel: int, title: str, values: np.ndarray,
                 levels: tuple[float, float]) -> None:
        """values: (H, W) raw activations; levels: colour range (this map's or the layer's)."""
        self.row, self.channel = row, channel
        self.map = np.asarray(values, dtype=np.float32)
        self.title.setText(title)
        self.image.setImage(self.map, levels=levels, autoLevels=False)
        self.bar.setLevels(levels)
        self.plot.setRange(xRange=(0, self.map.shape[1]), yRange=(0, self.map.shape[0]), padding=0.02)

    def value_at(self, x: float, y: float) -> tuple[int, int, float] | None:
        """(row, col, value) of the map pixel at item coordinates (x, y), or None outside it."""
        if self.map is None:
            return None
        r, c = int(np.floor(y)), int(np.floor(x))
        if 0 <= r < self.map.shape[0] and 0 <= c < self.map.shape[1]:
            return r, c, float(self.map[r, c])
        return None

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self.value_at(*_xy(self.image.mapFromScene(scene_pos)))
        if hit is None:
            self.hover.setText(" ")
        else:
            r, c, v = hit
            self.hover.setText(f"row {r}, column {c}: {v:.4g} (click: how it was computed)")

    def _on_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.row < 0:
            return
        cell = _click_cell(self, ev.scenePos())
        if cell is not None:
            self.cellClicked.emit(self.row, self.channel, *cell)


def _click_cell(viewer: MapViewer, scene_pos: QPointF) -> tuple[int, int] | None:
    hit = viewer.value_at(*_xy(viewer.image.mapFromScene(scene_pos)))
    return None if hit is None else (hit[0], hit[1])


def _xy(p: QPointF) -> tuple[float, float]:
    return p.x(), p.y()
