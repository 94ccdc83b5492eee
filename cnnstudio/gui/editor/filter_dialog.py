"""Type a convolution filter's weights in, or pick a preset (identity, box blur, sharpen,
Sobel x and y, Laplacian); Apply writes them into the project's weights (model.filters)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                             QSpinBox, QVBoxLayout, QWidget)

from cnnstudio.gui.state import AppState
from cnnstudio.model.filters import PRESETS, preset, with_filter


class FilterDialog(QDialog):
    """Edits the kernels of layer ``index`` (from 0), one (filter, input channel) at a time."""

    def __init__(self, state: AppState, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.state, self.index = state, index
        self.setWindowTitle(f"Filter weights: layer {index + 1}")
        weights = self._weights()
        self.f, self.c, self.kh, self.kw = weights[f"{index}.W"].shape
        self.filter_spin = QSpinBox()
        self.filter_spin.setRange(0, self.f - 1)
        self.channel_spin = QSpinBox()
        self.channel_spin.setRange(0, self.c - 1)
        for spin in (self.filter_spin, self.channel_spin):
            spin.valueChanged.connect(lambda _v: self.load())
        self.presets = QComboBox()
        self.presets.addItems(["Preset..."] + list(PRESETS))
        self.presets.activated.connect(self._on_preset)
        self.cells = [[QDoubleSpinBox() for _ in range(self.kw)] for _ in range(self.kh)]
        grid = QGridLayout()
        for i, row in enumerate(self.cells):
            for j, box in enumerate(row):
                box.setRange(-1000.0, 1000.0)
                box.setDecimals(4)
                box.setSingleStep(0.1)
                grid.addWidget(box, i, j)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b71c1c")
        self.error.setWordWrap(True)
        apply = QPushButton("Apply")
        apply.clicked.connect(self.apply)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        top = QHBoxLayout()
        for w in (QLabel("Filter"), self.filter_spin, QLabel("input channel"), self.channel_spin, self.presets):
            top.addWidget(w)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(apply)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        layout.addWidget(QLabel("Freeze the layer in the inspector so training keeps these weights."))
        layout.addLayout(buttons)
        self.load()

    def _weights(self) -> dict[str, Any]:
        """The project's weights, or the network's initial ones while it is untrained."""
        if self.state.weights:
            return dict(self.state.weights)
        from cnnstudio.project.session import build_network

        return build_network(self.state.document.spec).get_weights()

    def kernel(self) -> np.ndarray:
        return np.array([[box.value() for box in row] for row in self.cells], np.float32)

    def set_kernel(self, k: np.ndarray) -> None:
        for i, row in enumerate(self.cells):
            for j, box in enumerate(row):
                box.setValue(float(k[i, j]))

    def load(self) -> None:
        w = self._weights()[f"{self.index}.W"]
        self.set_kernel(w[self.filter_spin.value(), self.channel_spin.value()])

    def _on_preset(self, k: int) -> None:
        if k <= 0:
            return
        try:
            self.set_kernel(preset(PRESETS[k - 1], self.kh, self.kw))
            self.error.setText("")
        except ValueError as exc:
            self.error.setText(str(exc))
        self.presets.setCurrentIndex(0)

    def apply(self) -> None:
        new = with_filter(self._weights(), self.index, self.filter_spin.value(), self.channel_spin.value(),
                          self.kernel())
        self.state.set_weights(new)
