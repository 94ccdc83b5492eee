"""Ask where a project's data went: the folder or file it was trained on is not where it was.

Says what it expects (the folder or file name, its classes, how many images, the last place it
was seen), lets the person pick the new place, loads it in a ``TaskThread`` as recorded
(``project.datasource.load`` of the relocated record: the same images, the same split) and
makes it the current dataset. Data that is not the project's (other classes) is refused with
the reason and the dialog stays open. "Continue without data" closes it; the caller then marks
the data missing.
"""

from __future__ import annotations

import html
from typing import Any

from PyQt6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                             QVBoxLayout, QWidget)

from cnnstudio.gui.common.tasks import TaskThread
from cnnstudio.project.datasource import DataSource, load

ERROR_STYLE = "color: #b03a10"


class LocateDataDialog(QDialog):
    """``loaded`` holds the (train, val) pair once the data was found and loaded (then accepted)."""

    def __init__(self, state: Any, source: DataSource, problem: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Locate the project's data")
        self.setObjectName("locateDataDialog")
        self.state, self.source, self.problem = state, source, problem
        self.loaded: tuple[Any, Any] | None = None
        self._thread: TaskThread | None = None
        self._build()

    @property
    def is_folder(self) -> bool:
        return self.source.kind == "folder"

    def _build(self) -> None:
        src = self.source
        thing = "folder" if self.is_folder else "file"
        self.heading = QLabel(f"<b>Where is this project's data? The {thing} is no longer where it was.</b>")
        val = f", {src.num_val:,} of them for validation" if src.num_val else ""
        self.expects = QLabel(f"It was trained on {html.escape(src.expected(), quote=False)}{val}. It expects "
                              f"them where they were: <tt>{html.escape(src.path or '', quote=False)}</tt>.")
        self.expects.setWordWrap(True)
        # the problem when it says more than "not there" (another folder's classes, unreadable files)
        self.problem_label = QLabel(html.escape(self.problem, quote=False))
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.setVisible(self.problem != src.missing_message())
        self.hint = QLabel(f"Choose the {thing} where it is now: the project then uses the same images and the "
                           "same validation split as before. Without it the project stays open, but it cannot "
                           "be evaluated or trained on its data.")
        self.hint.setWordWrap(True)
        self.path = QLineEdit(src.path or "")
        self.path.setPlaceholderText(f"the {thing}'s new place")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.use_button = QPushButton(f"Use this {thing}")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(lambda: self.try_path(self.path.text()))
        self.cancel_button = QPushButton("Continue without data")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        for w in (self.heading, self.expects, self.problem_label, self.hint):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(560, 280)

    def ask_path(self) -> str | None:
        """The folder or file picker (tests monkeypatch this)."""
        if self.is_folder:
            return QFileDialog.getExistingDirectory(self, "Where is the folder now?") or None
        path, _ = QFileDialog.getOpenFileName(self, "Where is the file now?")
        return path or None

    def _browse(self) -> None:
        path = self.ask_path()
        if path:
            self.path.setText(path)
            self.try_path(path)

    def try_path(self, path: str) -> None:
        """Load the recorded data from ``path`` in the background; on success it becomes the dataset."""
        path = path.strip()
        if not path or self._thread is not None:
            return
        relocated = self.source.relocated(path)
        self._thread = TaskThread(lambda report, cancel: load(
            relocated, progress=lambda done, total: report((done, total)), cancel=cancel))
        self._thread.progressed.connect(self._on_progress)
        self._thread.succeeded.connect(self._on_loaded)
        self._thread.failed.connect(self._on_failed)
        self._thread.cancelled.connect(self._on_failed)
        self._thread.finished.connect(self._on_thread_done)
        self.use_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.message.setText(f"Loading {html.escape(path)}...")
        self._thread.launch()

    def _on_progress(self, p: tuple) -> None:
        done, total = p
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_loaded(self, pair: tuple) -> None:
        self.loaded = (pair[0], pair[1])
        self.state.set_dataset(self.loaded)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.message.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")

    def _on_thread_done(self) -> None:
        self._thread = None
        self.progress.setVisible(False)
        self.use_button.setEnabled(True)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: never leave a reader running
        if self._thread is not None:
            self._thread.succeeded.disconnect(self._on_loaded)
            self._thread.stop_and_wait()
        super().done(result)
