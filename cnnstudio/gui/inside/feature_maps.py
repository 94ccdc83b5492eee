"""Every layer's activation maps as labelled mosaics: one ImageItem per layer.

Items are created once per network structure and updated with ``setImage``;
one packed image per layer keeps the redraw cheap (DESIGN.md: ~900 updates/s
for a 32-map layer as one item, 120 as 32 items).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.inside.mosaic import (MosaicLayout, as_maps, layout_for, levels_of, normalise_each,
                                         pack, unpack)

#: height in pixels of a row of maps, and of a row showing a vector; the panel scrolls past that
ROW_PX = 84
FLAT_ROW_PX = 46
LABEL_PX = 150
ACTIVATION_CMAP = "viridis"
#: a layer's mosaic shows at most this many maps and pixels (64 maps of 224 x 224 would be 3 M)
MAX_TILES = 64
MAX_PIXELS = 400_000
GAP_COLOUR = "#3a3a3a"


class FillWidthLayoutWidget(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget whose layout always spans the view's width.

    Re-activating a top-level graphics layout (after rows are added to a visible view)
    resizes it to its minimum width, which leaves the image columns 0 pixels wide; a
    minimum width that follows the view keeps the layout full width.
    """

    def resizeEvent(self, ev) -> None:  # noqa: N802
        ci = getattr(self, "ci", None)  # a resize can arrive while the base class is being built
        if ci is not None:
            ci.setMinimumWidth(self.viewport().width())
        super().resizeEvent(ev)


def shown_count(channels: int, height: int, width: int) -> int:
    """How many of a layer's maps to show: all, unless that would be a huge image (e.g. VGG16)."""
    return max(1, min(channels, MAX_TILES, MAX_PIXELS // (height * width)))


class TileImage(pg.ImageItem):
    """An ImageItem that reports which tile of its mosaic was clicked."""

    def __init__(self, row: int, on_click):
        super().__init__(axisOrder="row-major")
        self.row = row
        self.layout: MosaicLayout | None = None
        self._on_click = on_click

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        if ev.button() != Qt.MouseButton.LeftButton or self.layout is None:
            return
        pos = ev.pos()  # item coordinates: x = column, y = row of the packed array
        k = self.layout.tile_at(pos.y(), pos.x())
        if k is not None:
            ev.accept()
            self._on_click(self.row, k)


class FeatureMapView(QWidget):
    """Rows of (label, mosaic). ``tileClicked(row, channel)`` when a tile is clicked.

    Row 0 is the input image, row i+1 the output of layer i.
    """

    tileClicked = pyqtSignal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.per_map = False
        self.graphics = FillWidthLayoutWidget()
        self.graphics.setBackground("#202020")
        self.graphics.ci.layout.setColumnFixedWidth(0, LABEL_PX)
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.graphics.ci.layout.setVerticalSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.graphics)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.items: list[TileImage] = []
        self.labels: list[pg.LabelItem] = []
        self.mosaics: list[np.ndarray] = []    # what each item shows, (rows_px, cols_px)
        self.layouts: list[MosaicLayout] = []
        plot_export.install(self, "Feature maps", kinds=(plot_export.PNG,), target=self.graphics)

    # ---- structure ----------------------------------------------------------
    def set_rows(self, labels: list[str], shapes: list[tuple[int, ...]]) -> None:
        """Create one label and one image item per row; shapes: (C, H, W) or (F,) per row."""
        self.graphics.clear()
        self.items, self.labels, self.mosaics, self.layouts = [], [], [], []
        cmap = pg.colormap.get(ACTIVATION_CMAP)
        total = 0
        for row, (text, shape) in enumerate(zip(labels, shapes)):
            maps_shape = as_maps(np.zeros(shape, np.float32)).shape
            count = shown_count(*maps_shape)
            lay = layout_for(count, maps_shape[1], maps_shape[2])
            if count < maps_shape[0]:
                text += f" (first {count})"
            label = pg.LabelItem(_label_html(text), justify="right")
            self.graphics.addItem(label, row=row, col=0)
            view = self.graphics.addViewBox(row=row, col=1, lockAspect=True, invertY=True,
                                            enableMouse=False, enableMenu=False)
            view.setBackgroundColor(GAP_COLOUR)
            height = ROW_PX if len(shape) == 3 else FLAT_ROW_PX
            self.graphics.ci.layout.setRowFixedHeight(row, height)
            total += height
            item = TileImage(row, self.tileClicked.emit)
            item.layout = lay
            item.setColorMap(cmap)
            view.addItem(item)
            view.setRange(xRange=(0, lay.shape[1]), yRange=(0, lay.shape[0]), padding=0.02)
            self.items.append(item)
            self.labels.append(label)
            self.layouts.append(lay)
            self.mosaics.append(np.full(lay.shape, np.nan, np.float32))
        need = self.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()  # rows + spacing
        self.graphics.setMinimumHeight(int(max(ROW_PX, total + 10, need + 2)))

    # ---- data ---------------------------------------------------------------
    def set_activations(self, activations: list[np.ndarray]) -> None:
        """activations: one per row, (C, H, W) or (F,); shapes must match ``set_rows``."""
        for row, act in enumerate(activations[:len(self.items)]):
            maps = as_maps(act)[:self.layouts[row].count]
            levels = levels_of(maps)
            if self.per_map and maps.shape[0] > 1:
                maps, levels = normalise_each(maps), (0.0, 1.0)
            self.mosaics[row] = pack(maps, self.layouts[row], out=self.mosaics[row])
            self.items[row].setImage(self.mosaics[row], levels=levels, autoLevels=False)

    def tile(self, row: int, k: int) -> np.ndarray:
        """The (H, W) values shown for channel k of row ``row`` (for vectors: the strip)."""
        return unpack(self.mosaics[row], self.layouts[row], k)

    def clear_images(self) -> None:
        for row, item in enumerate(self.items):
            self.mosaics[row][:] = np.nan
            item.setImage(self.mosaics[row], levels=(0.0, 1.0), autoLevels=False)


def _label_html(text: str) -> str:
    name, _, shape = text.partition("  ")
    return (f"<span style='color:#e0e0e0; font-size:10pt'><b>{name}</b></span><br>"
            f"<span style='color:#a0a0a0; font-size:9pt'>{shape}</span>")
