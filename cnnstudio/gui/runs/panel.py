"""The Runs panel: every training run of the project in a sortable table, the curves of the
selected runs overlaid, the settings (and the data) that differ between them highlighted,
Restore (the network, the weights and, unless the user keeps the current ones, the training
settings), rename and delete (the table's context menu). The run training now shows as it goes
(its row and curves are updated after each epoch, from the state's runsChanged).

A view of ``state.runs`` (``project.runs.RunRecord``); it writes only through the state
(``state.restore_run``, ``rename_run``, ``delete_run``). Questions go through ``ask_confirm`` /
``ask_restore`` / ``ask_name`` / ``ask_csv_path`` so tests can answer them.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPoint, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QPalette
from PyQt6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog,
                             QLabel, QMainWindow, QMenu, QMessageBox, QPushButton, QSplitter, QStyle,
                             QStyledItemDelegate, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnnstudio.gui.common import plot_export
from cnnstudio.gui.common.buffers import EMA
from cnnstudio.gui.state import AppState
from cnnstudio.project.runs import (KEY_SETTINGS, RunRecord, data_description, differing_settings, lr_text, run_row,
                                    runs_csv, setting_label)

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
    ("Data", "dataset", lambda v: v or "", "data"),
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
    """Table of runs (multi-select), overlaid curves, differing settings, Restore, rename, delete
    and CSV export."""

    #: what a finished action did, in the user's words (also shown in the window's status bar)
    message = pyqtSignal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        # Interactive, fitted once per refresh (_on_selection): with ResizeToContents every setItem and
        # setData measured every cell again, O(cells^2): 100 runs took 20 s a refresh (measured)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setSortingEnabled(True)
        self.table.setToolTip("Select runs (Ctrl/Shift+click) to compare their curves; click a heading to sort.")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.setItemDelegate(_DifferDelegate(self.table))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.current_label = QLabel()
        self.current_label.setWordWrap(True)   # unwrapped, its one line held the dock at 770 px (cut at 1024x640)

        self.differ_label = QLabel()
        self.differ_label.setWordWrap(True)
        self.restore_last = QPushButton("Restore last")
        self.restore_last.setToolTip("Make the selected run's network, its weights after its last epoch and "
                                     "(unless you keep yours) its training settings the current ones")
        self.restore_best = QPushButton("Restore best")
        self.restore_best.setToolTip("Make the selected run's network, its weights after its best epoch "
                                     "(highest validation accuracy) and (unless you keep yours) its training "
                                     "settings the current ones")
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

        #: run number -> (loss curve item, accuracy curve item) drawn now, and the plan they were made for
        self.curves: dict[int, tuple[Any, Any]] = {}
        self._plan: list[tuple[int, str, bool, bool]] | None = None
        self._smoothed = _Smoothed()
        self._shown: tuple[Any, ...] | None = None
        self.last_message = ""
        state.runsChanged.connect(self.refresh)
        state.historyChanged.connect(self._on_history)
        state.trainingStateChanged.connect(self.refresh)
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

    def _shown_key(self) -> tuple[Any, ...]:
        """What the table and curves show: the same key, nothing to redo."""
        return (self.state.history.run, self.state.training_run, self.state.training,
                tuple((r.number, r.name, len(r.epochs), len(r.curve), id(r)) for r in self.state.runs))

    def _on_history(self, *_: Any) -> None:
        """An epoch sends the runs and then the history: the second finds nothing new to show."""
        if self._shown_key() != self._shown:
            self.refresh()

    def refresh(self, *_: Any) -> None:
        """Rebuild the table from the state's runs, keeping the selection (new runs: the newest)."""
        self._shown = self._shown_key()
        before = self.selected_numbers()
        known = {int(getattr(self.table.item(r, 0), "key", 0)) for r in range(self.table.rowCount())}
        runs = self.runs
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(runs))
        current = self.state.history.run
        training = self.state.training_run
        for r, run in enumerate(runs):
            row = run_row(run)
            for c, (_title, key, text, _setting) in enumerate(COLUMNS):
                shown = text(row[key])
                if key == "number" and run.continued_from:
                    shown += f" ← {run.continued_from}"
                if key == "number" and run.number == training:
                    shown += " (training)"
                if key == "lr":
                    shown = lr_text(run)   # with the changes made during the run; sorted by the start
                item = _Item(shown, row[key])
                if key == "lr" and run.lr_changes:
                    item.setToolTip(f"Learning rate {shown}: started at {text(row[key])}, changed during the run "
                                    "(sorted by the starting rate)")
                if run.number == current or run.number == training:
                    font = item.font()
                    font.setBold(run.number == current)
                    font.setItalic(run.number == training)
                    item.setFont(font)
                if key == "dataset":
                    item.setToolTip(data_description(run))
                if key not in ("optimizer", "schedule", "network", "started", "dataset"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setToolTip(self._tooltip(run, runs))
        self.table.setSortingEnabled(True)
        self.current_label.setText(self._current_text(current, training, bool(runs)))
        new = [r.number for r in runs if r.number not in known]
        keep = [n for n in before if any(r.number == n for r in runs)]
        self.select(keep + new if new and keep else (keep or new or [r.number for r in runs[-3:]]))

    def _current_text(self, current: int | None, training: int | None, any_runs: bool) -> str:
        if training is not None:
            return (f"Run {training} (italic) is training: its row and curves are updated after each epoch. "
                    "A ← B: continued from run B's weights.")
        if self.state.training:
            return "A run is training: it appears here after its first epoch."
        if current is not None and any_runs:
            return "Run {} (bold) is the current network and weights. A ← B: continued from run B's weights. " \
                   "Right-click a run to rename or delete it.".format(current)
        return "No training runs yet: each Start (or cnnstudio train) adds one." if not any_runs else ""

    @staticmethod
    def _tooltip(run: RunRecord, runs: list[RunRecord]) -> str:
        named = f" \"{run.name}\"" if run.name else ""
        parts = [f"Run {run.number}{named}: {run.network_name}, {len(run.epochs)} epoch(s) in {run.seconds:.1f} s"]
        if run.continued_from:
            gone = "" if any(r.number == run.continued_from for r in runs) else " (since deleted)"
            parts.append(f"continued from run {run.continued_from}'s weights{gone}")
        parts.append(data_description(run))
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
        self.table.resizeColumnsToContents()   # once, after every cell is set (see __init__)
        self._draw(chosen)
        self._update_buttons()

    def _draw(self, chosen: list[RunRecord]) -> None:
        """Overlay the chosen runs' curves. The plot items are made again only when the set of
        curves (runs, labels) changes; an epoch of the training run only updates its data (each
        epoch refreshes this panel, and remaking pyqtgraph items with their legend took 20-30 ms
        of the GUI's time per epoch)."""
        self._smoothed.keep_only({r.number for r in self.runs})
        shown = []
        for run in chosen:
            label = f"run {run.number} (lr {lr_text(run)})" if isinstance(
                run.hyperparameters.get("lr"), (int, float)) else f"run {run.number}"
            curve = run.curve.arrays()
            loss = None
            if len(curve["step"]):
                loss = (curve["step"] - curve["step"][0] + 1, self._smoothed.get(run.number, curve["loss"]))
            epochs = [e for e in run.epochs if e.get("val_acc") is not None]
            acc = None
            if epochs:
                first = run.epochs[0]["epoch"] - 1
                acc = ([e["epoch"] - first for e in epochs], [100 * e["val_acc"] for e in epochs])
            shown.append((run.number, label, loss, acc))
        plan = [(number, label, loss is not None, acc is not None) for number, label, loss, acc in shown]
        if plan != self._plan:
            self._plan = plan
            self.curves = {}
            for plot in (self.loss_plot, self.acc_plot):
                item = plot.getPlotItem()
                item.clear()
                if item.legend is not None:
                    item.legend.clear()
            for number, label, loss, acc in shown:
                colour = COLOURS[(number - 1) % len(COLOURS)]
                loss_item = acc_item = None
                if loss is not None:
                    loss_item = self.loss_plot.getPlotItem().plot(*loss, pen=pg.mkPen(colour, width=2), name=label)
                if acc is not None:
                    acc_item = self.acc_plot.getPlotItem().plot(*acc, pen=pg.mkPen(colour, width=2), symbol="o",
                                                                symbolSize=7, symbolBrush=colour, symbolPen=None,
                                                                name=label)
                self.curves[number] = (loss_item, acc_item)
            return
        for number, _label, loss, acc in shown:   # the same curves: new points only
            loss_item, acc_item = self.curves[number]
            if loss_item is not None and loss is not None and not (
                    np.array_equal(loss[0], loss_item.xData) and np.array_equal(loss[1], loss_item.yData,
                                                                                equal_nan=True)):
                loss_item.setData(*loss)
            if acc_item is not None and acc is not None and not (
                    np.array_equal(acc[0], acc_item.xData) and np.array_equal(acc[1], acc_item.yData)):
                acc_item.setData(*acc)

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
        changes = self._settings_changes(run)
        settings_text = ("Also restore its training settings" + (f" ({changes})" if changes else
                                                                  " (the same as the current ones)"))
        answer = self.ask_restore(f"Restore run {run.number}", text, settings_text)
        if answer is None:
            return False
        try:
            self.state.restore_run(run.number, which, settings=answer)
        except ValueError as exc:
            self.show_error("Cannot restore the run", str(exc))
            return False
        said = f"Restored run {run.number}: its network and its weights after epoch {epoch} ({which})"
        if answer:
            said += ", and its training settings" + (f" ({changes})" if changes else " (the same as before)") + \
                    " in the training form"
        else:
            said += "; the training settings are yours as they were"
        self.tell(said + ".")
        return True

    def _settings_changes(self, run: RunRecord) -> str:
        """The training settings restoring ``run`` would change, e.g. "Learning rate 0.004 → 0.001"."""
        try:
            theirs = self.state.workspace.run_settings(run).to_dict()
        except ValueError:
            return ""
        ours = self.state.training_config.to_dict()
        names = [n for n in KEY_SETTINGS if n in ours] + sorted(n for n in ours if n not in KEY_SETTINGS)
        out = [f"{setting_label(n)} {_shown(ours[n])} → {_shown(theirs[n])}" for n in names if theirs[n] != ours[n]]
        return ", ".join(out[:4]) + (f" and {len(out) - 4} more" if len(out) > 4 else "")

    # ---- rename and delete (the table's context menu) -------------------------------------------
    def _context_menu(self, pos: QPoint) -> None:
        item = self.table.itemAt(pos)
        if item is None:
            return
        head = self.table.item(item.row(), 0)
        if not isinstance(head, _Item):
            return
        number = int(head.key)
        if number not in self.selected_numbers():
            self.select([number])
        menu = self.run_menu(number)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def run_menu(self, number: int) -> QMenu:
        """The context menu of run ``number``: Rename…, Delete… (disabled, saying why, for a run
        that must stay)."""
        menu = QMenu(self)
        rename = menu.addAction(f"Rename run {number}…")
        rename.triggered.connect(lambda: self.rename(number))
        why = self.state.why_not_delete(number)
        delete = menu.addAction(f"Delete run {number}…" if why is None else f"Delete run {number} (not possible)")
        delete.setEnabled(why is None)
        delete.setToolTip(why or "Remove the run, its curves and its kept weights (on the next save)")
        delete.setStatusTip(why or "")
        menu.setToolTipsVisible(True)
        delete.triggered.connect(lambda: self.delete(number))
        if why is not None:
            menu.addSeparator()
            note = menu.addAction(why + ".")
            note.setEnabled(False)
        return menu

    def rename(self, number: int) -> bool:
        """Ask for run ``number``'s new name and set it (blank: "run N"); True when renamed."""
        run = next((r for r in self.runs if r.number == number), None)
        if run is None:
            return False
        name = self.ask_name(f"Rename run {number}", f"Name of run {number} (blank: \"run {number}\"):", run.name)
        if name is None:
            return False
        try:
            self.state.rename_run(number, name)
        except ValueError as exc:
            self.show_error("Cannot rename the run", str(exc))
            return False
        self.tell(f"Run {number} is now called \"{run.title}\" (saved with the project).")
        return True

    def delete(self, number: int) -> bool:
        """Delete run ``number`` after asking; a run that must stay is explained instead. True when deleted."""
        why = self.state.why_not_delete(number)
        if why is not None:
            self.show_error(f"Run {number} cannot be deleted", why + ".")
            return False
        run = next(r for r in self.runs if r.number == number)
        kept = [w for w in ("last", "best") if run.weights_of(w) is not None]
        later = [r.number for r in self.runs if r.continued_from == number]
        text = (f"Delete {run.title} ({run.network_name}, {len(run.epochs)} epoch(s), best validation accuracy "
                f"{_pct(run.best.get('val_acc')) or 'unknown'})?\n\nIts record, curves"
                + (" and kept weights" if kept else "") + " leave the project when you save it. This cannot be undone."
                + (f"\n\nRun(s) {', '.join(map(str, later))} continued from it and keep their own epochs and weights."
                   if later else ""))
        if not self.ask_confirm(f"Delete run {number}", text):
            return False
        try:
            self.state.delete_run(number)
        except ValueError as exc:
            self.show_error(f"Run {number} cannot be deleted", str(exc))
            return False
        self.tell(f"Deleted run {number}; save the project to remove it from the file.")
        return True

    def tell(self, text: str) -> None:
        """Say what an action did: the window's status bar and ``message``."""
        self.last_message = text
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 15_000)
        self.message.emit(text)

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

    def ask_restore(self, title: str, text: str, settings_text: str) -> bool | None:
        """Yes/Cancel with a checkbox (checked: restore the run's training settings too).
        None: cancelled; else whether to restore the settings."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        check = QCheckBox(settings_text)
        check.setToolTip("Unchecked: keep the training settings you have now. The data choice, backend and "
                         "workers always stay as they are.")
        check.setChecked(True)
        box.setCheckBox(check)
        if box.exec() != QMessageBox.StandardButton.Yes:
            return None
        return check.isChecked()

    def ask_name(self, title: str, label: str, current: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, label, text=current)
        return text if ok else None

    def ask_csv_path(self) -> str | None:
        start = os.path.splitext(self.state.path)[0] + "-runs.csv" if self.state.path else "runs.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export runs as CSV", start, "CSV files (*.csv)")
        return path or None

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return format(value, "g") if isinstance(value, float) else str(value)


class _Smoothed:
    """The smoothed loss curve of each run (NaN batches left as gaps), kept between draws: a run's
    curve only grows while it trains, so each epoch smooths only its new batches (smoothing the
    whole curve every epoch made the GUI's work per epoch grow with the run's length)."""

    def __init__(self, alpha: float = SMOOTH) -> None:
        self.alpha = alpha
        self._kept: dict[int, tuple[np.ndarray, np.ndarray, EMA]] = {}

    def get(self, number: int, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        kept = self._kept.get(number)
        if kept is None or len(kept[0]) > len(values) or not np.array_equal(kept[0], values[:len(kept[0])],
                                                                              equal_nan=True):
            kept = (values[:0], values[:0], EMA(self.alpha))   # new, or not the same curve grown (a reused number)
        raw, done, ema = kept
        out = np.concatenate([done, np.full(len(values) - len(done), np.nan)])
        for i in range(len(done), len(values)):
            if math.isfinite(values[i]):
                out[i] = ema.update(float(values[i]))
        self._kept[number] = (values.copy(), out, ema)
        return out

    def keep_only(self, numbers: set[int]) -> None:
        """Forget the curves of runs that are gone (deleted)."""
        for number in [n for n in self._kept if n not in numbers]:
            del self._kept[number]
