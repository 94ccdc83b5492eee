"""The Explain view: how one cell of one layer was computed, with the engine's own numbers.

It shows what ``Layer.explain`` returns (through ``engine.explain.Explainer``: the same
inference pass, the same dtype) laid out by the explanation's ``kind``; no layer type is
named here. For a convolution, play / step / scrub move the kernel over every position
while the output map fills in, as CNN Explainer does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt, QTimer
from PyQt6.QtGui import QColor, QFont, QFontMetrics
from PyQt6.QtWidgets import (QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                             QSlider, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnnstudio.engine.explain import Explainer
from cnnstudio.engine.layers.explaining import fmt, plus_join, signed
from cnnstudio.gui.common import plot_export
from cnnstudio.gui.explain.glossary import help_button

CELL_PX = 34
PAD_BG = QColor("#e0e0e0")
CHOSEN_BG = QColor("#ffe082")
PLAY_MS = 350


def number_grid(values: Any, padding: Any = None, chosen: Any = None, title: str = "",
                row_labels: list[str] | None = None, col_labels: list[str] | None = None,
                whole_cols: tuple[int, ...] = ()) -> QWidget:
    """A 2-D list of numbers as a small read-only table: padding cells grey, a chosen cell yellow;
    optional row and column headers, and columns of counts (``whole_cols``) written as integers."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    if title:
        label = QLabel(f"<b>{title}</b>")
        layout.addWidget(label)
    table = QTableWidget(a.shape[0], a.shape[1])
    if col_labels:
        table.setHorizontalHeaderLabels(col_labels)
    else:
        table.horizontalHeader().hide()
    if row_labels:
        table.setVerticalHeaderLabels(row_labels)
    else:
        table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    whole = bool(np.all(np.mod(a, 1) == 0))
    # the exact value is the tooltip; a zero is "0.000" even when it is -0.0 (a padding or zero pixel
    # times a negative weight), which showed as "-0.000" among the products
    text = (lambda v: fmt(v)) if whole else (lambda v: f"{v:.3f}" if v != 0 else "0.000")
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    for i in range(a.shape[0]):
        table.setRowHeight(i, 24)
        for j in range(a.shape[1]):
            item = QTableWidgetItem(fmt(a[i, j]) if j in whole_cols else text(a[i, j]))
            item.setToolTip(repr(float(a[i, j])))
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setFont(font)
            if padding is not None and padding[i][j]:
                item.setBackground(PAD_BG)
                item.setToolTip("zero padding: the patch reaches past the border")
            if chosen is not None and [i, j] == list(chosen):
                item.setBackground(CHOSEN_BG)
            table.setItem(i, j, item)
    metrics = QFontMetrics(font)
    width = max([CELL_PX] + [metrics.horizontalAdvance(text(v)) + 12 for v in a.ravel()])   # never elided
    header_metrics = QFontMetrics(table.horizontalHeader().font())
    width = max([width] + [header_metrics.horizontalAdvance(t) + 16 for t in col_labels or []])
    for j in range(a.shape[1]):
        table.setColumnWidth(j, width)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    head_h = table.horizontalHeader().sizeHint().height() if col_labels else 0
    head_w = max(header_metrics.horizontalAdvance(t) for t in row_labels) + 16 if row_labels else 0
    if row_labels:
        table.verticalHeader().setFixedWidth(head_w)
    table.setFixedSize(width * a.shape[1] + head_w + 4, 24 * a.shape[0] + head_h + 4)
    layout.addWidget(table)
    return box


class MapPlot(pg.PlotWidget):
    """One (H, W) map with an outlined window (the patch)."""

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
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.box = pg.QtWidgets.QGraphicsRectItem()
        self.box.setPen(pg.mkPen("#ff5252", width=3))
        self.addItem(self.box)
        self.setFixedSize(300, 240)
        plot_export.install(self, title)   # PNG, SVG, CSV (the map's values)

    def show(self, values: np.ndarray, levels: tuple[float, float], rows: list[int], cols: list[int]) -> None:
        self.image.setImage(np.asarray(values, dtype=np.float32), levels=levels, autoLevels=False)
        self.box.setRect(QRectF(cols[0], rows[0], len(cols), len(rows)))
        self.setRange(xRange=(min(0, cols[0]), max(values.shape[1], cols[-1] + 1)),
                      yRange=(min(0, rows[0]), max(values.shape[0], rows[-1] + 1)), padding=0.03)


def _levels(a: np.ndarray) -> tuple[float, float]:
    finite = a[np.isfinite(a)]
    if not finite.size:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi if hi > lo else lo + 1.0)


class ExplainView(QWidget):
    """Cell ``at`` of layer ``index`` (from 0) of ``network`` for the sample ``image`` (C, H, W)."""

    def __init__(self, network: Any, image: np.ndarray, index: int, at: tuple[int, ...],
                 class_names: list[str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.explainer = Explainer(network, image)
        self.class_names = class_names or []
        self.index, self.at = index, tuple(at)
        self.explanation: dict[str, Any] = {}
        self.title = QLabel()
        self.title.setObjectName("explain-title")
        self.title.setStyleSheet("font-size: 13pt; font-weight: bold")
        self.formula = QLabel()
        self.formula.setObjectName("explain-formula")
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setStyleSheet("font-size: 12pt; color: #0d47a1; font-family: monospace")
        self.body_host = QScrollArea()
        self.body_host.setWidgetResizable(True)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._tick)
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._on_play)
        self.back = QPushButton("< Step")
        self.back.clicked.connect(lambda: self.step(-1))
        self.forward = QPushButton("Step >")
        self.forward.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._on_slider)
        self.position = QLabel()
        # which of a convolution's input channels the left map shows with the patch outlined
        self.channel_label = QLabel("map of input channel")
        self.channel_spin = QSpinBox()
        self.channel_spin.setToolTip("The input channel drawn on the left with the patch outlined "
                                     "(every channel's patch is in the tables below)")
        self.channel_spin.valueChanged.connect(self._on_channel)
        controls = QHBoxLayout()
        for w in (self.back, self.play, self.forward):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position)
        controls.addWidget(self.channel_label)
        controls.addWidget(self.channel_spin)
        self.controls = QWidget()
        self.controls.setLayout(controls)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(help_button("explain"))
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.formula)
        layout.addWidget(self.controls)
        layout.addWidget(self.body_host, 1)
        self.set_cell(index, at)

    # ---- which cell --------------------------------------------------------
    def positions(self) -> list[tuple[int, ...]]:
        """Every cell of the current output map (convolution: the filter's map), in reading order."""
        out = self.explainer.outputs[self.index]
        if out.ndim == 3:
            return [(self.at[0], r, c) for r in range(out.shape[1]) for c in range(out.shape[2])]
        return [(i,) for i in range(out.shape[0])]

    def set_cell(self, index: int, at: tuple[int, ...]) -> None:
        self.index, self.at = index, tuple(int(v) for v in at)
        e = self.explanation = self.explainer.cell(index, self.at)
        cell = ", ".join(map(str, e["at"]))
        self.title.setText(f"Layer {e['layer']} {e['type']}: cell ({cell}) = {fmt(e['value'])}")
        self.formula.setText(e["formula"])
        sliding = e["kind"] in ("convolution", "pooling") and len(self.at) == 3
        self.controls.setVisible(sliding)
        if sliding:
            spots = self.positions()
            self.slider.blockSignals(True)
            self.slider.setRange(0, len(spots) - 1)
            self.slider.setValue(spots.index(self.at))
            self.slider.blockSignals(False)
            self.position.setText(f"position {spots.index(self.at) + 1} of {len(spots)}")
        channels = int(self.explainer.inputs[index].shape[0]) if e["kind"] == "convolution" and sliding else 1
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(0, channels - 1)
        self.channel_spin.blockSignals(False)
        for w in (self.channel_label, self.channel_spin):
            w.setVisible(channels > 1)
        self.window_plot: MapPlot | None = None   # the input image with the cell's window, when shown
        self.body_host.setWidget(self._body(e))

    def _on_channel(self, _c: int) -> None:
        self.body_host.setWidget(self._body(self.explanation))

    def step(self, delta: int) -> None:
        spots = self.positions()
        k = (spots.index(self.at) + delta) % len(spots)
        self.set_cell(self.index, spots[k])

    def _on_slider(self, k: int) -> None:
        self.set_cell(self.index, self.positions()[k])

    def _on_play(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        spots = self.positions()
        if spots.index(self.at) == len(spots) - 1:
            self.play.setChecked(False)
            return
        self.step(1)

    # ---- what it shows -------------------------------------------------------
    def _body(self, e: dict[str, Any]) -> QWidget:
        host = QWidget()
        layout = QVBoxLayout(host)
        kind = e["kind"]
        if kind in ("convolution", "pooling") and len(self.at) == 3:
            layout.addWidget(self._maps_row(e))
        if kind == "convolution":
            grid = QGridLayout()
            for c, (patch, kernel, products) in enumerate(zip(e["patch"], e["kernel"], e["products"])):
                grid.addWidget(number_grid(patch, e["padding"], title=f"input channel {c}: patch"), c, 0)
                grid.addWidget(QLabel("x"), c, 1)
                grid.addWidget(number_grid(kernel, title="kernel"), c, 2)
                grid.addWidget(QLabel("="), c, 3)
                # the channel's sum in the title: beside the table it went past the right edge for
                # lenet5's layer 4 (three 5x5 tables of negative numbers) at 1280 x 800
                grid.addWidget(number_grid(products, title=f"products: sum = {fmt(e['sum'][c])}"), c, 4)
            grid.setColumnStretch(5, 1)
            layout.addLayout(grid)
            sums = plus_join(e["sum"])
            layout.addWidget(_big(f"{sums} + bias {signed(e['bias'])} = {fmt(e['total'])}"))
        elif kind == "pooling":
            layout.addWidget(number_grid(e["window"], chosen=e.get("chosen"),
                                         title=f"channel {e['channel']}: the window, rule: {e['rule']}"))
        elif kind == "elementwise":
            layout.addWidget(self._curve(e))
        elif kind == "weighted_sum":
            rows = [[t["index"], t["input"], t["weight"], t["product"]] for t in e["top"]]
            layout.addWidget(_label(f"unit {e['unit']}: {len(e['inputs'])} inputs x weights; the largest "
                                    "contributions:"))
            layout.addWidget(number_grid(rows, col_labels=["input number", "input", "weight", "input x weight"],
                                         whole_cols=(0,)))
            layout.addWidget(_big(f"sum of all {len(e['inputs'])} products {fmt(e['sum'])} + bias "
                                  f"{fmt(e['bias'])} = {fmt(e['total'])}"))
        elif kind == "softmax":
            names = [self.class_names[i] if i < len(self.class_names) else str(i) for i in range(len(e["logits"]))]
            layout.addWidget(number_grid([e["logits"], e["exps"], e["probabilities"]], chosen=[2, e["class"]],
                                         title="one column per class", col_labels=names,
                                         row_labels=["logit", "e^(logit - max)", "probability"]))
            layout.addWidget(_big(f"sum of the exponentials: {fmt(e['sum'])}"))
        elif kind == "normalise":
            layout.addWidget(_terms([("input x", e["input"]), ("channel", e["channel"]),
                                     ("running mean", e["running_mean"]), ("running variance", e["running_var"]),
                                     ("epsilon", e["epsilon"]),
                                     ("normalised: (x - mean) / sqrt(variance + epsilon)", e["normalised"]),
                                     ("gamma (scale)", e["gamma"]), ("beta (shift)", e["beta"]),
                                     ("output: gamma * normalised + beta", e["total"])]))
        elif kind == "merge":
            reads = e.get("reads", [])
            terms: list[tuple[str, Any]] = []
            for value, (k, *cell) in zip(e["values"], e["sources"]):
                src = reads[k] if k < len(reads) else k
                name = "the input image" if src == 0 else f"layer {src}"
                terms.append((f"{name}, cell ({', '.join(map(str, cell))})", value))
            terms.append(("sum of the values" if e["rule"] == "sum" else "copied", e["total"]))
            layout.addWidget(_terms(terms))
        elif kind == "flatten":
            src = e.get("reads", [0])[0]
            where = ", ".join(f"{n} {v}" for n, v in zip(("channel", "row", "column"), e["source"]))
            layout.addWidget(_terms([(f"element {e['at'][0]} comes from "
                                      f"{'the input image' if src == 0 else f'layer {src}'}", where),
                                     ("its value", e["input"])]))
        else:   # a kind this view has no layout for yet: its numbers, by name
            layout.addWidget(_terms([(k.replace("_", " "), v) for k, v in e.items()
                                     if isinstance(v, (int, float)) and not isinstance(v, bool)
                                     and k not in ("layer", "index", "value")]))
        if e.get("note"):
            layout.addWidget(_label(e["note"]))
        layout.addStretch(1)
        return host

    def _maps_row(self, e: dict[str, Any]) -> QWidget:
        """The input channel with the patch outlined, and the output map filled up to this cell."""
        row = QWidget()
        h = QHBoxLayout(row)
        x = self.explainer.inputs[self.index]
        out = self.explainer.outputs[self.index]
        channel = e["channel"] if "channel" in e else min(self.channel_spin.value(), x.shape[0] - 1)
        inp = MapPlot(f"input channel {channel}" + (f" of {x.shape[0]}" if x.shape[0] > 1 else ""))
        inp.show(x[channel], _levels(x[channel]), e["rows"], e["cols"])
        filled = np.full(out.shape[1:], np.nan, np.float32)
        spots = self.positions()
        k = spots.index(self.at)
        for _, r, c in spots[:k + 1]:
            filled[r, c] = out[self.at[0], r, c]
        res = MapPlot(f"output map {self.at[0]}, filled up to ({self.at[1]}, {self.at[2]})")
        res.show(filled, _levels(out[self.at[0]]), [self.at[1]], [self.at[2]])
        h.addWidget(inp)
        h.addWidget(res)
        seen = self._input_window_plot()
        if seen is not None:
            h.addWidget(seen)
        h.addStretch(1)
        row.setFixedHeight(260)
        return row

    def _input_window_plot(self) -> MapPlot | None:
        """The input image with the part this cell is computed from outlined (its receptive field),
        for a layer deeper than the first; None where the layer reads the image itself."""
        ex = self.explainer
        if ex.sources[self.index] == (-1,):
            return None
        window = ex.input_window(self.index, self.at)
        image = next((ex.inputs[i] for i, s in enumerate(ex.sources) if s == (-1,)), None)
        if window is None or image is None or np.ndim(image) != 3:
            return None
        (r0, r1), (c0, c1) = window
        plot = MapPlot(f"input image: rows {r0}-{r1}, cols {c0}-{c1}")
        grey = np.asarray(image, np.float32).mean(axis=0)
        plot.show(grey, _levels(grey), list(range(r0, r1 + 1)), list(range(c0, c1 + 1)))
        self.window_plot = plot
        return plot

    def _curve(self, e: dict[str, Any]) -> QWidget:
        plot = pg.PlotWidget()
        plot.setBackground("w")
        plot.plot(e["curve"]["x"], e["curve"]["y"], pen=pg.mkPen("#1565c0", width=2))
        plot.plot([e["input"]], [e["output"]], pen=None, symbol="o", symbolBrush="#d32f2f", symbolSize=12)
        plot.setLabel("bottom", "x (input)")
        plot.setLabel("left", e["function"])
        plot.setMinimumHeight(280)
        plot_export.install(plot, f"{e['function']} curve")   # PNG, SVG, CSV (the curve and the point)
        return plot


def _terms(rows: list[tuple[str, Any]]) -> QWidget:
    """Named terms, one per line: the name and the number (4 significant digits; the exact value as tooltip)."""
    box = QWidget()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    for i, (name, value) in enumerate(rows):
        grid.addWidget(QLabel(name), i, 0)
        shown = _big(fmt(value) if isinstance(value, (int, float, np.floating)) else str(value))
        shown.setWordWrap(False)
        if isinstance(value, (int, float, np.floating)):
            shown.setToolTip(repr(float(value)))
        grid.addWidget(shown, i, 1)
    grid.setColumnStretch(2, 1)
    return box


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _big(text: str) -> QLabel:
    label = _label(text)
    label.setStyleSheet("font-size: 12pt; font-family: monospace")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return label


class ExplainDialog(QDialog):
    """The Explain view in its own window (non-modal: the app stays usable)."""

    def __init__(self, network: Any, image: np.ndarray, index: int, at: tuple[int, ...],
                 class_names: list[str] | None = None, parent: QWidget | None = None, caption: str = ""):
        super().__init__(parent)
        self.setWindowTitle(f"Explain{': ' + caption if caption else ''}")
        self.view = ExplainView(network, image, index, at, class_names, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self.resize(1180, 740)


def open_explain(parent: QWidget | None, network: Any, image: np.ndarray, index: int, at: tuple[int, ...],
                 class_names: list[str] | None = None, caption: str = "") -> ExplainDialog:
    dialog = ExplainDialog(network, image, index, at, class_names, parent, caption)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
