"""Why did it say 7? Saliency for one image and one or two classes, side by side.

Per class: the input gradient, Grad-CAM on a chosen layer with feature maps, and occlusion
(``engine.saliency``: each from real forward passes of the user's network, in float64),
each overlaid on the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox, QDialog, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnstudio.engine import saliency
from cnnstudio.engine.backend import to_host
from cnnstudio.gui.common import plot_export
from cnnstudio.gui.explain.glossary import attach_corner_help

METHODS = (("input gradient", "saliency"), ("Grad-CAM", "grad_cam"), ("occlusion", "occlusion"))


def map_layers(network: Any) -> list[int]:
    """Indices of the layers whose output is feature maps and that slide a learned window
    (Grad-CAM's usual choice: convolutions), last first; any map layer if there is none."""
    maps = [i for i, s in enumerate(network.shapes[1:]) if len(s) == 3]
    learned = [i for i in maps if network.layers[i].affine and network.layers[i].window() is not None]
    return list(reversed(learned or maps))


def upsample(m: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of (h, w) to ``hw`` (Grad-CAM's coarse map onto the image)."""
    rows = (np.arange(hw[0]) * m.shape[0] // hw[0]).clip(0, m.shape[0] - 1)
    cols = (np.arange(hw[1]) * m.shape[1] // hw[1]).clip(0, m.shape[1] - 1)
    return m[np.ix_(rows, cols)]


class OverlayPlot(pg.PlotWidget):
    """The image in grey with a heat map over it."""

    def __init__(self, title: str):
        super().__init__()
        self.setBackground("#202020")
        self.setAspectLocked(True)
        self.invertY(True)
        self.hideAxis("bottom")
        self.hideAxis("left")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.setTitle(title, color="#e0e0e0", size="10pt")
        self.base = pg.ImageItem(axisOrder="row-major")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setColorMap(pg.colormap.get("inferno"))
        self.heat.setOpacity(0.6)
        self.addItem(self.base)
        self.addItem(self.heat)
        self.setMinimumSize(170, 170)
        plot_export.install(self, title)   # CSV: the heat map's values

    def show(self, image: np.ndarray, heat: np.ndarray) -> None:
        grey = image.mean(axis=0)
        self.base.setImage(grey, levels=(float(grey.min()), float(grey.max()) or 1.0), autoLevels=False)
        top = float(np.abs(heat).max()) or 1.0
        self.heat.setImage(np.abs(heat), levels=(0.0, top), autoLevels=False)
        self.setRange(xRange=(0, image.shape[2]), yRange=(0, image.shape[1]), padding=0.02)


class SaliencyView(QWidget):
    """``image``: (C, H, W) preprocessed; ``classes``: the one or two classes to explain; ``truth``:
    the image's true class when known (a validation image), which names its row "true label"."""

    def __init__(self, network: Any, image: np.ndarray, classes: list[int], class_names: list[str] | None = None,
                 parent: QWidget | None = None, truth: int | None = None):
        super().__init__(parent)
        self.truth = truth
        self.net64 = saliency.float64_copy(network)
        self.image = np.asarray(image, dtype=np.float64)
        self.classes = list(classes)
        self.names = class_names or []
        probs = np.asarray(to_host(self.net64.forward(self.image[None])), dtype=np.float64)[0]
        if not self.net64.fused_softmax:
            probs = np.exp(probs - probs.max())
            probs /= probs.sum()
        self.probs = probs
        self.layer = QComboBox()
        self.layer.setToolTip("The layer whose feature maps Grad-CAM weighs")
        for i in map_layers(self.net64):
            self.layer.addItem(f"layer {i + 1} {self.net64.layers[i].type_name}", i)
        self.layer.currentIndexChanged.connect(lambda _k: self.compute())
        bar = QHBoxLayout()
        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 12pt; font-weight: bold")
        bar.addWidget(self.heading, 1)
        bar.addWidget(QLabel("Grad-CAM on"))
        bar.addWidget(self.layer)
        self.grid = QGridLayout()
        self.plots: dict[tuple[int, str], OverlayPlot] = {}
        for row, cls in enumerate(self.classes):
            label = QLabel(f"<b>{self.name(cls)}</b><br>{self.role(cls)}<br>p = {self.probs[cls]:.3f}")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumWidth(90)
            self.grid.addWidget(label, row, 0)
            for col, (title, key) in enumerate(METHODS):
                plot = self.plots[(cls, title)] = OverlayPlot(title)
                if row == 0:   # each method's "?" on its own map (three in the top bar did not say which was which)
                    attach_corner_help(plot, key)
                self.grid.addWidget(plot, row, col + 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(self.grid, 1)
        self.maps: dict[tuple[int, str], np.ndarray] = {}
        self.compute()

    def name(self, k: int) -> str:
        return self.names[k] if k < len(self.names) else str(k)

    def role(self, k: int) -> str:
        """What row ``k`` is: the network's answer, the true label (both when it is right), or the runner-up."""
        answer, truth = int(self.probs.argmax()), self.truth
        if k == answer:
            return "the answer" if truth is None else ("the answer<br>(right)" if k == truth else "the answer<br>(wrong)")
        return "true label" if k == truth else "runner-up"

    def compute(self) -> None:
        pred = int(self.probs.argmax())
        others = [c for c in self.classes if c != pred]
        self.heading.setText(f"Why {self.name(pred)}" + (f" and not {self.name(others[0])}?" if others else "?"))
        hw = self.image.shape[1:]
        index = self.layer.currentData()
        for cls in self.classes:
            grad = saliency.input_gradient(self.net64, self.image, cls).sum(axis=0)
            cam = (upsample(saliency.grad_cam(self.net64, self.image, cls, index), hw)
                   if index is not None else np.zeros(hw))
            occ = np.maximum(saliency.occlusion(self.net64, self.image, cls, size=max(2, hw[0] // 5),
                                                stride=max(1, hw[0] // 14)), 0)
            for (title, _), heat in zip(METHODS, (grad, cam, occ)):
                self.maps[(cls, title)] = heat
                self.plots[(cls, title)].show(self.image, heat)


class SaliencyDialog(QDialog):
    def __init__(self, network: Any, image: np.ndarray, classes: list[int], class_names: list[str] | None = None,
                 parent: QWidget | None = None, caption: str = "", truth: int | None = None):
        super().__init__(parent)
        self.setWindowTitle("Why?" + (f" {caption}" if caption else ""))
        self.view = SaliencyView(network, image, classes, class_names, self, truth=truth)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self.resize(820, 200 + 240 * len(classes))


def open_saliency(parent: QWidget | None, network: Any, image: np.ndarray, classes: list[int],
                  class_names: list[str] | None = None, caption: str = "", truth: int | None = None) -> SaliencyDialog:
    dialog = SaliencyDialog(network, image, classes, class_names, parent, caption, truth)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def why_classes(probs: np.ndarray, other: int | None = None) -> list[int]:
    """The predicted class and the one to compare it with (``other``, else the runner-up)."""
    order = list(np.argsort(-np.asarray(probs)))
    pred = int(order[0])
    second = other if other is not None and other != pred else (int(order[1]) if len(order) > 1 else None)
    return [pred] if second is None else [pred, int(second)]
