"""One background job in a QThread: loading, importing, downloading, evaluating.

The job is a plain function ``fn(report, cancel) -> result``: ``report(obj)`` sends
progress to the GUI thread (queued signal), ``cancel`` is a ``threading.Event`` the
job checks. Results and errors come back as signals; an exception never escapes the
thread (the GUI shows its message instead).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PyQt6.QtCore import QCoreApplication, QObject, QThread, pyqtSignal

from cnnstudio.data import DownloadCancelled, ImportCancelled

Job = Callable[[Callable[[Any], None], threading.Event], Any]
#: running threads, kept referenced until they end even if the widget that started them is gone
_ALIVE: set["TaskThread"] = set()


class TaskThread(QThread):
    """Runs ``job`` once. Signals (delivered in the GUI thread): progressed(obj),
    succeeded(result), failed(message), cancelled(message)."""

    progressed = pyqtSignal(object)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal(str)

    def __init__(self, job: Job, parent: QObject | None = None):
        super().__init__(parent)
        self.job = job
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            result = self.job(self.progressed.emit, self.cancel_event)
        except (DownloadCancelled, ImportCancelled) as exc:
            self.cancelled.emit(getattr(exc, "problem", None) or str(exc))
        except Exception as exc:  # any failure is shown to the person, never raised in the thread
            self.failed.emit(error_text(exc))
        else:
            if self.cancel_event.is_set():
                self.cancelled.emit("cancelled")
            else:
                self.succeeded.emit(result)

    def launch(self) -> "TaskThread":
        """Start the thread; it stays referenced until it has ended (and is stopped at quit)."""
        _watch_quit()
        _ALIVE.add(self)
        self.finished.connect(self._forget)
        self.start()
        return self

    def _forget(self) -> None:
        self.wait()  # finished is emitted just before run() returns: let it end first
        _ALIVE.discard(self)

    def cancel(self) -> None:
        self.cancel_event.set()

    def stop_and_wait(self, ms: int = 10_000) -> bool:
        """Ask the job to stop and wait for the thread (window closing, dialog closing)."""
        self.cancel_event.set()
        return self.wait(ms)


_quit_watched = False


def _watch_quit() -> None:
    # A QThread destroyed while running aborts the process: stop the jobs when the app quits.
    global _quit_watched
    app = QCoreApplication.instance()
    if app is not None and not _quit_watched:
        app.aboutToQuit.connect(wait_all)
        _quit_watched = True


def wait_all(ms: int = 10_000) -> None:
    """Cancel and wait for every running job (tests, application exit)."""
    for thread in list(_ALIVE):
        thread.stop_and_wait(ms)


def error_text(exc: BaseException) -> str:
    """The loader's message as is; unknown errors get their type so they stay recognisable."""
    text = str(exc)
    from cnnstudio.data import DataError
    if isinstance(exc, (DataError, ValueError, OSError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
