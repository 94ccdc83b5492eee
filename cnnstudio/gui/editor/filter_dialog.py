"""Type a convolution filter's weights in, or pick a preset (identity, box blur, sharpen,
Sobel x and y, Laplacian); Apply writes them into the project's weights (model.filters) as one
undoable command ("Undo Set filter 0 of layer 1 (Conv2D) to Sobel x")."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                             QSpinBox, QVBoxLayout, QWidget)

from cnnstudio.gui.editor import edits
from cnnstudio.gui.state import AppState
from cnnstudio.model.errors import ModelError
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
        self._preset: tuple[str, np.ndarray] | None = None   # the last preset picked (names the undo step)
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
        self.apply_button = apply = QPushButton("Apply")
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
            kernel = preset(PRESETS[k - 1], self.kh, self.kw)
            self.set_kernel(kernel)
            self._preset = (PRESETS[k - 1], self.kernel())
            self.error.setText("")
        except ValueError as exc:
            self.error.setText(str(exc))
        self.presets.setCurrentIndex(0)

    def undo_text(self) -> str:
        """What Edit > Undo will say: the filter, the layer and the preset if it is one."""
        f, c = self.filter_spin.value(), self.channel_spin.value()
        layer = self.state.document.spec.layers[self.index]
        where = f"filter {f}" + (f", input channel {c}" if self.c > 1 else "")
        text = f"Set {where} of layer {self.index + 1} ({layer.type})"
        if self._preset is not None and np.array_equal(self._preset[1], self.kernel()):
            text += f" to {self._preset[0]}"
        return text

    def apply(self) -> None:
        """Write the kernel into the weights: one undoable command of the document."""
        kernel = self.kernel()
        new = with_filter(self._weights(), self.index, self.filter_spin.value(), self.channel_spin.value(), kernel)
        try:
            edits.set_filter_weights(self.state.document, self.state.workspace, new, self.undo_text())
        except ModelError as exc:   # e.g. training runs: the network is read-only
            self.error.setText(str(exc))
            return
        self.error.setText("")
