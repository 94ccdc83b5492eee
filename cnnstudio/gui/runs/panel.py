"""The Runs panel: every training run of the project in a sortable table, the curves of the
selected runs overlaid, the settings that differ between them highlighted, and Restore.

A view of ``state.runs`` (``project.runs.RunRecord``); it writes only through the state
(``state.restore_run``). Questions go through ``ask_confirm`` / ``ask_csv_path`` so tests
can answer them.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor, QPalette
from PyQt6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                             QPushButton, QSplitter, QStyle, QStyledItemDelegate, QTableWidget, QTableWidgetItem,
                             QVBoxLayout, QWidget)

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.state import AppState
from cnnstudio.project.runs import RunRecord, differing_settings, run_row, runs_csv, setting_label

#: one colour per run, by its number (the same run keeps its colour whatever is selected)
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34)]
DIFFER_BRUSH = QBrush(QColor(255, 236, 150))
SMOOTH = 0.1  # EMA weight of the per-batch curves drawn (raw batches are too noisy to compare)


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * v:.1f}%"


def _num(fmt: str) -> Callable[[Any], str]:
    return lambda v: "" if v is None else format(v, fmt)


#: (title, row key, text, hyperparameter compared or None)
COLUMNS: list[tuple[str, str, Callable[[Any], str], str | None]] = [
    ("Run", "number", str, None),
    ("Best val acc", "best_val_acc", _pct, None),
    ("Final val acc", "final_val_acc", _pct, None),
    ("Learning rate", "lr", _num("g"), "lr"),
    ("Optimizer", "optimizer", lambda v: v or "", "optimizer"),
    ("Batch", "batch_size", lambda v: "" if v is None else str(v), "batch_size"),
    ("Epochs", "epochs", str, "epochs"),
    ("Val loss", "final_val_loss", _num(".4f"), None),
    ("Time (s)", "seconds", _num(".1f"), None),
    ("Images/s", "images_per_sec", _num(",.0f"), None),
    ("Started", "started", lambda v: (v or "").replace("T", " ")[5:16], None),
    ("Schedule", "schedule", lambda v: v or "", "schedule"),
    ("Augment", "augment", lambda v: "" if v is None else ("on" if v else "off"), "augment"),
    ("Train loss", "final_train_loss", _num(".4f"), None),
    ("Network", "network", lambda v: v or "", "network"),
]
DIFFER_TEXT = QColor(120, 50, 0)
#: item data role marking a cell whose setting differs between the selected runs
DIFFER_ROLE = Qt.ItemDataRole.UserRole + 1


class _DifferDelegate(QStyledItemDelegate):
    """Draws a differing setting of a selected run in yellow with dark bold text (the selection
    colour would hide an item's own background)."""

    def initStyleOption(self, option: Any, index: Any) -> None:  # noqa: N802 - Qt override
        super().initStyleOption(option, index)
        if index.data(DIFFER_ROLE):
            option.state &= ~QStyle.StateFlag.State_Selected
            option.backgroundBrush = DIFFER_BRUSH
            option.palette.setColor(QPalette.ColorRole.Text, DIFFER_TEXT)
            option.font.setBold(True)


class _Item(QTableWidgetItem):
    """A cell that sorts by its value (numbers as numbers, unknown last), not by its text."""

    def __init__(self, text: str, key: Any):
        super().__init__(text)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.key, getattr(other, "key", None)
        if a is None or b is None:
            return a is not None
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)


class RunsPanel(QWidget):
    """Table of runs (multi-select), overlaid curves, differing settings, Restore and CSV export."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.setToolTip("Select runs (Ctrl/Shift+click) to compare their curves; click a heading to sort.")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.setItemDelegate(_DifferDelegate(self.table))
        self.current_label = QLabel()

        self.differ_label = QLabel()
        self.differ_label.setWordWrap(True)
        self.restore_last = QPushButton("Restore last")
        self.restore_last.setToolTip("Make the selected run's network and its weights after its last epoch the "
                                     "current ones")
        self.restore_best = QPushButton("Restore best")
        self.restore_best.setToolTip("Make the selected run's network and its weights after its best epoch "
                                     "(highest validation accuracy) the current ones")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the runs table as a CSV file (every run, all columns)")
        self.restore_last.clicked.connect(lambda: self.restore("last"))
        self.restore_best.clicked.connect(lambda: self.restore("best"))
        self.export_button.clicked.connect(self._export_clicked)
        buttons = QHBoxLayout()
        for b in (self.restore_last, self.restore_best):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)

        self.loss_plot = self._plot("Training loss per batch (smoothed)", "loss")
        self.acc_plot = self._plot("Validation accuracy per epoch", "accuracy (%)")
        self.acc_plot.getPlotItem().getAxis("bottom").setLabel("epoch of the run", color="k")
        plots = QWidget()
        row = QHBoxLayout(plots)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.loss_plot)
        row.addWidget(self.acc_plot)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table)
        top_layout.addWidget(self.current_label)
        top_layout.addWidget(self.differ_label)
        top_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(plots)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        self.curves: dict[int, tuple[Any, Any]] = {}
        state.runsChanged.connect(self.refresh)
        state.historyChanged.connect(self.refresh)
        state.trainingStateChanged.connect(lambda _: self._update_buttons())
        self.refresh()

    @staticmethod
    def _plot(title: str, y_label: str) -> pg.PlotWidget:
        w = pg.PlotWidget(background="w")
        item = w.getPlotItem()
        item.setTitle(title, color="k", size="9pt")
        item.setLabel("left", y_label, color="k")
        item.setLabel("bottom", "batch of the run", color="k")
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen("k")
            item.getAxis(axis).setPen("k")
            item.getAxis(axis).enableAutoSIPrefix(False)
        item.addLegend(offset=(-5, 5), labelTextColor="k", brush=(255, 255, 255, 200), labelTextSize="8pt")
        w.setMinimumSize(180, 150)
        plot_export.install(w, f"{title} of the selected runs")   # PNG, SVG, CSV of every run's curve
        return w

    # ---- the table ----------------------------------------------------------------------------
    @property
    def runs(self) -> list[RunRecord]:
        return list(self.state.runs)

    def selected_numbers(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        out = []
        for r in rows:
            item = self.table.item(r, 0)
            if isinstance(item, _Item):
                out.append(int(item.key))
        return out

    def selected_runs(self) -> list[RunRecord]:
        chosen = set(self.selected_numbers())
        return [r for r in self.runs if r.number in chosen]

    def select(self, numbers: list[int]) -> None:
        """Select the runs with these numbers (the rest unselected)."""
        self.table.blockSignals(True)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if isinstance(item, _Item) and item.key in numbers:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)
        self.table.blockSignals(False)
        self._on_selection()

    def refresh(self, *_: Any) -> None:
        """Rebuild the table from the state's runs, keeping the selection (new runs: the newest)."""
        before = self.selected_numbers()
        known = {int(getattr(self.table.item(r, 0), "key", 0)) for r in range(self.table.rowCount())}
        runs = self.runs
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(runs))
        current = self.state.history.run
        for r, run in enumerate(runs):
            row = run_row(run)
            for c, (_title, key, text, _setting) in enumerate(COLUMNS):
                shown = text(row[key])
                if key == "number" and run.continued_from:
                    shown += f" ← {run.continued_from}"
                item = _Item(shown, row[key])
                if run.number == current:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if key not in ("optimizer", "schedule", "network", "started"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setToolTip(self._tooltip(run))
        self.table.setSortingEnabled(True)
        self.current_label.setText(
            f"Run {current} (bold) is the current network and weights. A ← B: continued from run B's weights."
            if current is not None and runs else ("No training runs yet: each Start (or cnnstudio train) adds one."
                                                  if not runs else ""))
        new = [r.number for r in runs if r.number not in known]
        keep = [n for n in before if any(r.number == n for r in runs)]
        self.select(keep + new if new and keep else (keep or new or [r.number for r in runs[-3:]]))

    @staticmethod
    def _tooltip(run: RunRecord) -> str:
        parts = [f"Run {run.number}: {run.network_name}, {len(run.epochs)} epoch(s) in {run.seconds:.1f} s"]
        if run.continued_from:
            parts.append(f"continued from run {run.continued_from}'s weights")
        if run.dataset:
            parts.append(f"data: {run.dataset.get('name')}")
        kept = [w for w in ("last", "best") if run.weights_of(w) is not None]
        parts.append("weights kept: " + (", ".join(kept) if kept else "none"))
        return "\n".join(parts)

    # ---- comparing ----------------------------------------------------------------------------
    def differing(self) -> list[str]:
        """The settings (and "network") that differ between the selected runs."""
        return differing_settings(self.selected_runs())

    def _on_selection(self) -> None:
        chosen = self.selected_runs()
        differ = set(self.differing())
        numbers = {r.number for r in chosen}
        for r in range(self.table.rowCount()):
            item0 = self.table.item(r, 0)
            selected_row = isinstance(item0, _Item) and item0.key in numbers
            for c, (_, _key, _text, setting) in enumerate(COLUMNS):
                item = self.table.item(r, c)
                if item is None:
                    continue
                hit = selected_row and setting is not None and setting in differ
                item.setData(DIFFER_ROLE, hit)
        header = self.table.horizontalHeader()
        for c, (title, _key, _text, setting) in enumerate(COLUMNS):
            head = self.table.horizontalHeaderItem(c)
            if head is not None:
                head.setText(f"{title} ≠" if setting is not None and setting in differ else title)
        header.viewport().update()
        if len(chosen) < 2:
            self.differ_label.setText("Select two or more runs to see which settings differ.")
        elif differ:
            names = ", ".join(setting_label(n) for n in self.differing())
            self.differ_label.setText(f"<b>Differ between the selected runs:</b> {names}")
        else:
            self.differ_label.setText("The selected runs used the same network and settings.")
        self._draw(chosen)
        self._update_buttons()

    def _draw(self, chosen: list[RunRecord]) -> None:
        for plot in (self.loss_plot, self.acc_plot):
            item = plot.getPlotItem()
            item.clear()
            if item.legend is not None:
                item.legend.clear()
        for run in chosen:
            colour = COLOURS[(run.number - 1) % len(COLOURS)]
            label = f"run {run.number} (lr {run.hyperparameters.get('lr', '?'):g})" if isinstance(
                run.hyperparameters.get("lr"), (int, float)) else f"run {run.number}"
            curve = run.curve.arrays()
            if len(curve["step"]):
                x = curve["step"] - curve["step"][0] + 1
                self.loss_plot.getPlotItem().plot(x, _ema(curve["loss"]), pen=pg.mkPen(colour, width=2), name=label)
            epochs = [e for e in run.epochs if e.get("val_acc") is not None]
            if epochs:
                first = run.epochs[0]["epoch"] - 1
                xs = [e["epoch"] - first for e in epochs]
                ys = [100 * e["val_acc"] for e in epochs]
                self.acc_plot.getPlotItem().plot(xs, ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=7,
                                                 symbolBrush=colour, symbolPen=None, name=label)

    # ---- actions ------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        chosen = self.selected_runs()
        one = chosen[0] if len(chosen) == 1 else None
        idle = not self.state.training
        self.restore_last.setEnabled(idle and one is not None and one.last_weights is not None)
        self.restore_best.setEnabled(idle and one is not None and one.best_weights is not None)
        why = "Select one run to restore it." if one is None else ("Stop training first." if not idle else "")
        for b in (self.restore_last, self.restore_best):
            b.setStatusTip(why)
        self.export_button.setEnabled(bool(self.runs))

    def restore(self, which: str) -> bool:
        """Restore the selected run's network and ``which`` weights after asking; True when done."""
        chosen = self.selected_runs()
        if len(chosen) != 1:
            return False
        run = chosen[0]
        epoch = run.best_epoch if which == "best" else run.final.get("epoch")
        text = (f"Make run {run.number}'s network and its weights after epoch {epoch} ({which}) the current "
                "ones?\n\nThe current weights are replaced (the runs that made them keep theirs); the network "
                "change can be undone with Edit > Undo.")
        if not self.ask_confirm(f"Restore run {run.number}", text):
            return False
        try:
            self.state.restore_run(run.number, which)
        except ValueError as exc:
            self.show_error("Cannot restore the run", str(exc))
            return False
        return True

    def export_csv(self, path: str) -> None:
        """Write the runs table (every run, all columns) to ``path`` as CSV."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(runs_csv(self.runs))

    def _export_clicked(self) -> None:
        path = self.ask_csv_path()
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            self.show_error("Cannot export the runs", f"{path}: {exc.strerror or exc}")

    # ---- questions (monkeypatched in tests) -----------------------------------------------------
    def ask_confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def ask_csv_path(self) -> str | None:
        start = os.path.splitext(self.state.path)[0] + "-runs.csv" if self.state.path else "runs.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export runs as CSV", start, "CSV files (*.csv)")
        return path or None

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)


def _ema(values: np.ndarray, alpha: float = SMOOTH) -> np.ndarray:
    """Bias-corrected exponential moving average (NaN batches skipped, shown as gaps)."""
    out = np.full(len(values), np.nan)
    avg, count = 0.0, 0
    for i, v in enumerate(values.astype(np.float64)):
        if not math.isfinite(v):
            continue
        count += 1
        avg = (1 - alpha) * avg + alpha * v
        out[i] = avg / (1 - (1 - alpha) ** count)
    return out
