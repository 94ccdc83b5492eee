"""Get a standard dataset (MNIST, Fashion-MNIST, KMNIST, CIFAR-10): download it with
progress (bytes, rate, ETA) and Cancel, or read it from the cache.

The data layer does the work (``load_standard``: mirrors, checksums, resume) in a
``TaskThread``; this dialog shows its progress and its messages. Only a complete,
verified dataset replaces ``AppState``'s dataset: an error or a cancel leaves the open
project and the current dataset as they were.
"""

from __future__ import annotations

import html
from typing import Any

from PyQt6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                             QWidget)

from cnnstudio.data import DATASETS, format_progress, is_downloaded, load_standard
from cnnstudio.data.registry import dataset_dir
from cnnstudio.gui.common.tasks import TaskThread
from cnnstudio.gui.wording import in_app_terms

ERROR_STYLE = "color: #b03a10"


class DownloadDialog(QDialog):
    """``loaded`` holds (train, val) once a dataset is in; ``progress_text`` the last progress line."""

    def __init__(self, state: Any, parent: QWidget | None = None, key: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Standard datasets")
        self.setObjectName("downloadDialog")
        self.state = state
        self.loaded: tuple[Any, Any] | None = None
        self.last_progress: tuple | None = None
        self._thread: TaskThread | None = None
        self._build()
        if key is not None:
            self.choice.setCurrentIndex(self.choice.findData(key))
        self._on_choice()

    def _build(self) -> None:
        self.choice = QComboBox()
        for key, info in DATASETS.items():
            self.choice.addItem(info.title, key)
        self.choice.currentIndexChanged.connect(self._on_choice)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setOpenExternalLinks(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_label = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.get_button = QPushButton("Download")
        self.get_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.get_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choice)
        layout.addWidget(self.about)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.resize(520, 260)

    @property
    def key(self) -> str:
        return self.choice.currentData()

    def _on_choice(self) -> None:
        info = DATASETS[self.key]
        cached = is_downloaded(self.key)
        self.about.setText(f"{info.title}: {len(info.class_names)} classes. Licence: {info.licence}. "
                           f"<a href='{info.homepage}'>{info.homepage}</a><br>"
                           + ("Already downloaded: it is read from the cache." if cached else
                              "Not downloaded yet: the files are fetched once, checked against their "
                              "published checksums and kept in the cache."))
        self.get_button.setText("Load" if cached else "Download")
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.get_button.setEnabled(not running)
        self.choice.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # ---- work ---------------------------------------------------------------------------
    def start(self) -> None:
        """Download (or read from the cache) the chosen dataset in the background."""
        key = self.key
        self._files = sum(not (dataset_dir(key) / f.filename).is_file() for f in DATASETS[key].files)
        self._file = 0
        self.last_progress = None
        self.message.setText("")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.progress_label.setText("Reading from the cache..." if is_downloaded(key) else "Connecting...")

        def job(report, cancel):
            return load_standard(key, progress=lambda *p: report(p), cancel=cancel)

        self._thread = TaskThread(job)
        self._thread.progressed.connect(self._on_progress)
        self._thread.succeeded.connect(self._on_loaded)
        self._thread.failed.connect(self._on_failed)
        self._thread.cancelled.connect(self._on_cancelled)
        self._thread.finished.connect(self._on_thread_done)
        self._set_running(True)
        self._thread.launch()

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
            self.progress_label.setText("Cancelling...")

    def _on_progress(self, p: tuple) -> None:
        done, total, rate, eta = p
        previous = self.last_progress
        if previous is None or total != previous[1] or done < previous[0]:
            self._file += 1  # the data layer reports per file: a new total or a restart is the next one
        self.last_progress = p
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
        prefix = f"File {min(self._file, self._files)} of {self._files}: " if self._files > 1 else ""
        self.progress_label.setText(prefix + format_progress(done, total, rate, eta))

    def _on_loaded(self, result: tuple) -> None:
        train, val = result
        self.loaded = (train, val)
        self.state.set_dataset((train, val))
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.message.setText(f"{DATASETS[self.key].title} is now the current dataset: {len(train):,} training "
                             f"and {len(val):,} validation images.")

    def _on_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.progress_label.setText("")
        message = in_app_terms(message)
        self.message.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")

    def _on_cancelled(self, message: str) -> None:
        self.progress.setVisible(False)
        self.progress_label.setText("")
        self.message.setText(message[:1].upper() + message[1:] + ". The current dataset is unchanged.")

    def _on_thread_done(self) -> None:
        self._thread = None
        self._set_running(False)
        self._on_choice_label()

    def _on_choice_label(self) -> None:
        self.get_button.setText("Load" if is_downloaded(self.key) else "Download")

    def done(self, result: int) -> None:  # Qt override: closing cancels a running download
        if self._thread is not None:
            self._thread.succeeded.disconnect(self._on_loaded)
            self._thread.stop_and_wait()
        super().done(result)
