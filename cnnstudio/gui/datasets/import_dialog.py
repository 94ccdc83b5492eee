"""Import a folder of class sub-folders: preview, options, import in a worker thread.

The preview (class names and file counts) comes from ``scan_image_folder`` before
anything is decoded. The import reads, resizes and converts in a ``TaskThread``,
splits off a validation part, and makes the result ``AppState``'s dataset. Files
that cannot be read are listed by name; the rest are imported.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PyQt6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView,
                             QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox,
                             QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnnstudio.data import read_image_folder, scan_image_folder
from cnnstudio.data.folder import IMAGE_SUFFIXES
from cnnstudio.gui.common.tasks import TaskThread
from cnnstudio.project.datasource import record_split

#: the seed an imported folder is split with (recorded in the project with the fraction)
IMPORT_SPLIT_SEED = 0

ERROR_STYLE = "color: #b03a10"


def import_folder(root: str, size: tuple[int, int], channels: int, val_fraction: float,
                  progress=None, cancel=None) -> tuple[Any, Any, Any]:
    """Read ``root`` -> (train, val, ImportReport); no Qt (runs in the worker).

    The pair carries its record (project.datasource: the folder, size, grayscale or colour, the
    split and its validation files), which the project saves. progress(done, total) after each
    file; ``cancel`` (threading.Event) stops it."""
    ds, report = read_image_folder(root, size=size, channels=channels, progress=progress, cancel=cancel)
    train, val = record_split(ds, val_fraction, IMPORT_SPLIT_SEED, kind="folder", path=root, image_size=size,
                              read_channels=channels)
    train.source = val.source = os.path.abspath(root)  # the folder, as the record names it
    return train, val, report


class ImportFolderDialog(QDialog):
    """``imported`` holds (train, val) after a successful import; ``report`` the ImportReport."""

    def __init__(self, state: Any, parent: QWidget | None = None, folder: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import image folder")
        self.setObjectName("importFolderDialog")
        self.state = state
        self.imported: tuple[Any, Any] | None = None
        self.report: Any = None
        self.classes: dict[str, list] = {}
        self._thread: TaskThread | None = None
        self._build()
        if folder:
            self.set_folder(folder)

    def _build(self) -> None:
        self.path = QLineEdit()
        self.path.setPlaceholderText("a folder with one sub-folder per class (PNG, JPEG, BMP)")
        self.path.editingFinished.connect(lambda: self.set_folder(self.path.text()))
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Class (sub-folder)", "Images"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(160)
        self.summary = QLabel("Choose a folder to see its classes.")
        self.summary.setWordWrap(True)
        h, w, c = (int(v) for v in self.state.spec.input.hwc)
        self.height_spin, self.width_spin = QSpinBox(), QSpinBox()
        for spin, value in ((self.height_spin, h), (self.width_spin, w)):
            spin.setRange(4, 512)
            spin.setValue(value)
        size = QHBoxLayout()
        size.addWidget(self.height_spin)
        size.addWidget(QLabel("x"))
        size.addWidget(self.width_spin)
        size.addWidget(QLabel("pixels (height x width; the network's input by default)"))
        self.channels = QComboBox()
        self.channels.addItem("Grayscale (1 channel)", 1)
        self.channels.addItem("Colour (3 channels)", 3)
        self.channels.setCurrentIndex(0 if c == 1 else 1)
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.05, 0.5)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.2)
        form = QFormLayout()
        form.addRow("Image size", size)
        form.addRow("Colour", self.channels)
        form.addRow("Validation fraction", self.val_fraction)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.skipped = QListWidget()
        self.skipped.setWordWrap(True)
        self.skipped.setVisible(False)
        self.import_button = QPushButton("Import")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.close_button = QPushButton("Cancel")
        self.close_button.clicked.connect(self._close_or_stop)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.skipped)
        layout.addLayout(buttons)
        self.resize(560, 520)

    def _browse(self) -> None:
        folder = self.ask_folder()
        if folder:
            self.set_folder(folder)

    def ask_folder(self) -> str | None:
        """The folder picker (tests monkeypatch this)."""
        return QFileDialog.getExistingDirectory(self, "Folder with one sub-folder per class") or None

    # ---- preview ---------------------------------------------------------------------
    def set_folder(self, folder: str) -> bool:
        """Preview ``folder``: class names and image counts; an unusable folder is explained."""
        self.path.setText(folder)
        self.table.setRowCount(0)
        try:
            self.classes = scan_image_folder(folder)
        except Exception as exc:  # the loader's message names the folder and the expected layout
            self.classes = {}
            self.summary.setText(f"<span style='{ERROR_STYLE}'>{html.escape(str(exc))}</span>")
            self.import_button.setEnabled(False)
            return False
        counts = self.preview_counts()
        self.table.setRowCount(len(counts))
        for row, (name, n) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(f"{n:,}"))
        self.summary.setText(f"{len(counts)} classes, {sum(counts.values()):,} image files (PNG, JPEG, BMP) in "
                             f"{os.path.basename(os.path.normpath(folder))}.")
        self.import_button.setEnabled(True)
        return True

    def preview_counts(self) -> dict[str, int]:
        """Class name -> number of image files (by name; decoding happens at import)."""
        return {name: sum(f.suffix.lower() in IMAGE_SUFFIXES for f in files) for name, files in self.classes.items()}

    # ---- import --------------------------------------------------------------------------
    def start_import(self) -> None:
        folder = self.path.text()
        self.report = None   # a second import starts clean: no skipped files of an earlier one
        self.skipped.clear()
        self.skipped.setVisible(False)
        size = (self.height_spin.value(), self.width_spin.value())
        channels, frac = int(self.channels.currentData()), float(self.val_fraction.value())
        self._thread = TaskThread(lambda report, cancel: import_folder(
            folder, size, channels, frac, progress=lambda done, total: report((done, total)), cancel=cancel))
        self._thread.progressed.connect(self._on_progress)
        self._thread.succeeded.connect(self._on_imported)
        self._thread.failed.connect(self._on_failed)
        self._thread.cancelled.connect(self._on_cancelled)
        self._thread.finished.connect(self._on_thread_done)
        self.import_button.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first file is counted
        self.progress.setVisible(True)
        self.close_button.setText("Stop")
        self.message.setText(f"Importing {sum(self.preview_counts().values()):,} images...")
        self._thread.launch()

    def _on_progress(self, p: tuple) -> None:
        done, total = p
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_thread_done(self) -> None:
        self._thread = None
        self.progress.setVisible(False)
        # an earlier import is the current dataset: closing keeps it; otherwise nothing was imported
        self.close_button.setText("Close" if self.imported is not None else "Cancel")

    def _on_cancelled(self, message: str) -> None:
        self.message.setText(f"Stopped: {message}. The current dataset is unchanged.")
        self.import_button.setEnabled(True)

    def _close_or_stop(self) -> None:
        if self._thread is not None:  # importing: stop it, keep the dialog open
            self._thread.cancel()
        elif self.imported is not None:
            self.accept()
        else:
            self.reject()

    def _on_imported(self, result: tuple) -> None:
        train, val, report = result
        self.imported, self.report = (train, val), report
        self.state.set_dataset((train, val))
        n = sum(report.counts.values())
        text = (f"Imported {n:,} images of {len(report.counts)} classes as {train.image_shape[0]} x "
                f"{train.image_shape[1]} x {train.image_shape[2]}: {len(train):,} training, {len(val):,} validation. "
                "It is now the current dataset.")
        if report.skipped:
            text += f" {len(report.skipped)} file(s) could not be read and were skipped:"
            self.skipped.clear()
            for path, reason in report.skipped:
                item = QListWidgetItem(f"{os.path.basename(path)}: {reason}")
                item.setToolTip(path)
                self.skipped.addItem(item)
            self.skipped.setVisible(True)
        self.message.setText(text)
        self.close_button.setText("Close")

    def _on_failed(self, message: str) -> None:
        end = "" if message.rstrip().endswith(".") else "."
        kept = " The current dataset is unchanged." if self.imported is not None else ""
        self.message.setText(f"<span style='{ERROR_STYLE}'>Import failed: {html.escape(message)}{end}</span>{kept}")
        self.import_button.setEnabled(True)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: never leave a reader running
        if self._thread is not None:
            self._thread.succeeded.disconnect(self._on_imported)  # closed before it finished: import nothing
            self._thread.stop_and_wait()
        super().done(result)
