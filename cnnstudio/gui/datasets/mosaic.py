"""Sample grids for the dataset browser: pick a few images per class, pack them into
one image, and show it with one pyqtgraph ImageItem (class names on the left axis)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from cnnstudio.gui.common import plot_export

GAP = 2
GAP_VALUE = 96


def pick_per_class(y: np.ndarray, num_classes: int, per_class: int, seed: int = 0) -> list[np.ndarray]:
    """For each class, up to ``per_class`` row indices (a seeded random choice, in dataset order)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(num_classes):
        rows = np.flatnonzero(y == c)
        if rows.size > per_class:
            rows = np.sort(rng.choice(rows, per_class, replace=False))
        picks.append(rows)
    return picks


def pack_rows(rows: list[np.ndarray], height: int, width: int, channels: int) -> np.ndarray:
    """rows: per row, uint8 (n_i, H, W, C) images -> one uint8 (R*(H+gap)-gap, cols*(W+gap)-gap, C).

    Short rows are padded with the gap colour, so each class stays on its own row.
    """
    cols = max((len(r) for r in rows), default=0)
    n_rows = len(rows)
    if n_rows == 0 or cols == 0:
        return np.full((height, width, channels), GAP_VALUE, np.uint8)
    out = np.full((n_rows * (height + GAP) - GAP, cols * (width + GAP) - GAP, channels), GAP_VALUE, np.uint8)
    for i, imgs in enumerate(rows):
        for j, img in enumerate(imgs):
            y0, x0 = i * (height + GAP), j * (width + GAP)
            out[y0:y0 + height, x0:x0 + width] = img
    return out


def float_to_uint8(x: np.ndarray) -> np.ndarray:
    """x: float (N, C, H, W) in [0, 1] -> uint8 (N, H, W, C)."""
    return np.clip(np.rint(x.transpose(0, 2, 3, 1) * 255.0), 0, 255).astype(np.uint8)


class ImageGrid:
    """A packed grid of images with a label per row (``widget`` goes into layouts)."""

    def __init__(self, min_height: int = 160, title: str = "Sample images"):
        self.widget = pg.PlotWidget()
        self.widget.setBackground("w")
        self.widget.setMenuEnabled(False)
        self.widget.setMouseEnabled(x=False, y=False)
        self.widget.hideButtons()
        self.widget.setMinimumHeight(min_height)
        self.widget.hideAxis("bottom")
        self.widget.getAxis("left").setTextPen("#202020")
        self.widget.getAxis("left").setPen(None)
        vb = self.widget.getViewBox()
        vb.invertY(True)
        vb.setAspectLocked(True)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.widget.addItem(self.item)
        self.image = np.zeros((1, 1, 1), np.uint8)
        self.row_labels: list[str] = []
        plot_export.install(self.widget, title, kinds=(plot_export.PNG, plot_export.SVG))

    def set_rows(self, rows: list[np.ndarray], labels: list[str], shape: tuple[int, int, int]) -> None:
        """rows: per row uint8 (n_i, H, W, C); labels: one per row; shape: (H, W, C)."""
        h, w, c = shape
        self.image = pack_rows(rows, h, w, c)
        self.row_labels = list(labels)
        self.item.setImage(self.image[..., 0] if c == 1 else self.image, levels=(0, 255), autoLevels=False)
        self.widget.getAxis("left").setTicks([[((i + 0.5) * (h + GAP) - GAP / 2, str(t))
                                               for i, t in enumerate(labels)]])
        self.widget.getViewBox().autoRange(padding=0.01)
