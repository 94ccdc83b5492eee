"""Live training curves: loss, accuracy and learning rate (pyqtgraph).

Curve items are created once; data lands in growable NumPy buffers and a QTimer
(``REFRESH_MS``, at most 10 Hz) pushes only what changed with ``setData``. The
worker's updates never redraw directly: pyqtgraph holds the GIL while painting,
so redrawing per batch would starve the trainer (DESIGN, measured facts).
Downsampling ('peak') and clip-to-view keep 100k-point runs smooth.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QTimer
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QGridLayout, QWidget

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.common.buffers import EMA, Series

REFRESH_MS = 100  # 10 Hz: a refresh and its paint cost the GUI 8-14 ms (three plots, measured); at
# 20 Hz that was a sixth of a core, taken from the training processes on a two-core machine
LR_EVERY = 10    # the LR plot: at most 2 Hz unless the rate changes
STEP_AXIS = "training step (batch)"
#: from this width the three plots go in one row (below: the learning rate under the other two)
WIDE_PX = 840

RAW_PEN = pg.mkPen((120, 150, 200, 90), width=1)
SMOOTH_PEN = pg.mkPen((30, 90, 200), width=2)
TRAIN_EPOCH_PEN = pg.mkPen((20, 60, 160), width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
VAL_PEN = pg.mkPen((230, 120, 20), width=2)
LR_PEN = pg.mkPen((60, 140, 60), width=2)


class TrainingPlots(QWidget):
    """Loss and accuracy (per batch raw + smoothed, per epoch train/validation) and the learning rate.

    Feed it with ``add_steps`` (batch records) and ``add_epoch``; it redraws on its own timer.
    """

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.05):
        super().__init__(parent)
        self.setObjectName("trainingPlots")
        self.series = {name: Series() for name in (
            "loss", "loss_ema", "acc", "acc_ema", "lr",
            "epoch_train_loss", "epoch_val_loss", "epoch_train_acc", "epoch_val_acc")}
        self._ema_loss = EMA(smoothing)
        self._ema_acc = EMA(smoothing)
        self._dirty = False
        self.redraws = 0  # how often data was pushed to the curves (tests check throttling)
        self._drawn: dict[str, int] = {}  # points each curve showed at its last setData
        self._lr_drawn: float | None = None
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        pg.setConfigOptions(antialias=False)
        layout = QGridLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self._grid = layout
        self.loss_plot = _plot("Loss", "cross-entropy loss", legend="top")
        self.acc_plot = _plot("Accuracy", "accuracy (%)", legend="bottom")
        self.lr_plot = _plot("Learning rate", "learning rate", legend=None)
        # A constant LR would otherwise be centred in a meaningless +-range: start the axis at 0.
        self.lr_plot.getPlotItem().enableAutoRange(axis="y", enable=False)
        self.lr_plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.acc_plot.setYRange(0, 100, padding=0.02)
        self._place_plots(wide=False)
        self.curves = {}
        for metric, plot in (("loss", self.loss_plot), ("acc", self.acc_plot)):
            item = plot.getPlotItem()  # the same four curves on the loss and the accuracy plot
            self.curves[metric] = item.plot(pen=RAW_PEN, name="batch")
            self.curves[f"{metric}_ema"] = item.plot(pen=SMOOTH_PEN, name="batch (smoothed)")
            self.curves[f"epoch_train_{metric}"] = item.plot(pen=TRAIN_EPOCH_PEN, symbol="o", symbolSize=6,
                                                             symbolBrush=(20, 60, 160), name="epoch train")
            self.curves[f"epoch_val_{metric}"] = item.plot(pen=VAL_PEN, symbol="s", symbolSize=6,
                                                           symbolBrush=(230, 120, 20), name="epoch validation")
        self.curves["lr"] = self.lr_plot.getPlotItem().plot(pen=LR_PEN, name="learning rate", symbolSize=6,
                                                            symbolBrush=(60, 140, 60), symbolPen=None)
        for plot, title in ((self.loss_plot, "Loss plot"), (self.acc_plot, "Accuracy plot"),
                            (self.lr_plot, "Learning rate plot")):
            plot_export.install(plot, title)   # PNG, SVG, CSV: button and right-click
        self._lr_symbols = True   # symbolSize above gave the curve 'o' markers: off until a saved run
        self._lr_markers(False)

    def _place_plots(self, wide: bool) -> None:
        """Wide: the three plots in a row. Narrow (a 560 px dock): loss and accuracy side by side,
        the learning rate under them across the width; in a row it was squeezed to its minimum
        width and clipped at 1280x800."""
        grid = self._grid
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            grid.removeWidget(plot)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.acc_plot, 0, 1)
        grid.addWidget(self.lr_plot, 0, 2) if wide else grid.addWidget(self.lr_plot, 1, 0, 1, 2)
        for col, stretch in enumerate((3, 3, 2) if wide else (1, 1, 0)):
            grid.setColumnStretch(col, stretch)
        grid.setRowStretch(0, 1 if wide else 2)
        grid.setRowStretch(1, 0 if wide else 1)
        self._wide = wide

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        wide = event.size().width() >= WIDE_PX
        if wide != self._wide:
            self._place_plots(wide)

    # ---- feeding ------------------------------------------------------------------
    def add_steps(self, steps: Iterable[Mapping[str, Any]]) -> None:
        """Append batch records {global_step, loss, accuracy (0..1), lr}; drawn at the next refresh."""
        self._lr_markers(False)  # a live run has an LR per batch: a marker on each would be clutter
        for s in steps:
            x = float(s["global_step"])
            loss = _finite_or_nan(s.get("loss"))
            acc = _finite_or_nan(s.get("accuracy"))
            self.series["loss"].append(x, loss)
            self.series["loss_ema"].append(x, self._ema_loss.update(loss))
            if not math.isnan(acc):
                self.series["acc"].append(x, 100 * acc)
                self.series["acc_ema"].append(x, 100 * self._ema_acc.update(acc))
            if s.get("lr") is not None:
                self.series["lr"].append(x, float(s["lr"]))
            self._dirty = True

    def add_epoch(self, record: Mapping[str, Any]) -> None:
        """Append one epoch {global_step (at its end), train_loss, train_acc, val_loss, val_acc}."""
        x = float(record.get("global_step", record.get("epoch", 0) + 1))
        for key, name, scale in (("train_loss", "epoch_train_loss", 1), ("val_loss", "epoch_val_loss", 1),
                                 ("train_acc", "epoch_train_acc", 100), ("val_acc", "epoch_val_acc", 100)):
            if record.get(key) is not None:
                self.series[name].append(x, scale * _finite_or_nan(record[key]))
        self._dirty = True

    def load_history(self, epochs: Iterable[Mapping[str, Any]], lr_changes: Iterable[Mapping[str, Any]] = (),
                     steps: Iterable[Mapping[str, Any]] = ()) -> None:
        """Show a saved run again: per-batch curves (``steps``: batch records {global_step, loss,
        accuracy, lr}, as the project keeps them), per-epoch curves and the learning rate: per
        batch where the steps carry it, else (files before per-batch rates were kept) at each epoch."""
        self.clear()
        steps = list(steps)
        self.add_steps(steps)
        per_batch_lr = self.series["lr"].n > 0
        # One value per epoch: markers make a one-epoch run visible (a line needs two points).
        self._lr_markers(not per_batch_lr)
        for record in epochs:
            self.add_epoch(record)
            if record.get("lr") is not None and not per_batch_lr:
                self.series["lr"].append(float(record.get("global_step", record.get("epoch", 0) + 1)),
                                         float(record["lr"]))
        self.refresh()

    def _lr_markers(self, on: bool) -> None:
        if self._lr_symbols != on:
            self._lr_symbols = on
            self.curves["lr"].setSymbol("o" if on else None)

    def clear(self) -> None:
        for s in self.series.values():
            s.clear()
        self._drawn.clear()
        self._lr_drawn = None
        self._ema_loss.reset()
        self._ema_acc.reset()
        self.curves["lr"].setData([], [])  # refresh holds the LR plot back between changes: empty it now
        self._drawn["lr"] = 0
        self._dirty = True
        self.refresh()

    # ---- drawing --------------------------------------------------------------------
    def refresh(self) -> None:
        """Push buffered data to the curves that changed (called by the timer).

        The learning-rate plot is a step function that rarely changes: it is redrawn when
        its value changes, otherwise only every ``LR_EVERY`` refreshes.
        """
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        lr_due = self._lr_changed() or self.redraws % LR_EVERY == 0
        for name, curve in self.curves.items():
            s = self.series[name]
            if self._drawn.get(name) == s.n or (name == "lr" and not lr_due):
                continue
            self._drawn[name] = s.n
            curve.setData(s.x, s.y, connect="finite")
        if lr_due and self.series["lr"].n:
            self._lr_drawn = float(self.series["lr"].y[-1])
            self._scale_lr_axis()
        elif self.series["lr"].n != self._drawn.get("lr"):
            self._dirty = True  # come back for the LR points held back

    def _lr_changed(self) -> bool:
        lr = self.series["lr"]
        return lr.n > 0 and (self._lr_drawn is None or float(lr.y[-1]) != self._lr_drawn)

    def _scale_lr_axis(self) -> None:
        lr = self.series["lr"].y
        top = float(np.nanmax(lr)) if np.isfinite(lr).any() else 1.0
        self.lr_plot.getPlotItem().setYRange(0, top * 1.15 if top > 0 else 1.0, padding=0)

    def stop_timer(self) -> None:
        self._timer.stop()


def _plot(title: str, y_label: str, legend: str | None = "top") -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    item = w.getPlotItem()
    item.setTitle(title, color="k", size="10pt")
    item.setLabel("bottom", STEP_AXIS, color="k")
    item.setLabel("left", y_label, color="k")
    # No grid: translucent grid lines tripled the paint cost (measured), and painting holds the GIL.
    # Long runs: draw at most about one point per pixel (peak keeps spikes visible), skip off-screen data.
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen("k")
        item.getAxis(axis).setPen("k")
        # a loss between 0.25 and 0.5 read "250 ... 500" with "(x0.001)" in the label: plain numbers
        item.getAxis(axis).enableAutoSIPrefix(False)
    if legend:
        # Loss falls and accuracy rises: put the legend where the curves will not be.
        offset = (-5, 5) if legend == "top" else (-5, -5)
        item.addLegend(offset=offset, labelTextColor="k", brush=(255, 255, 255, 200), labelTextSize="8pt")
    w.setMinimumSize(160, 140)
    return w


def _finite_or_nan(v: Any) -> float:
    if v is None:
        return float("nan")
    v = float(v)
    return v if np.isfinite(v) else float("nan")
