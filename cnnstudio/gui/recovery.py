"""Crash recovery: unsaved edits kept in a recovery file, offered back at the next start.

One mechanism for every way the app can end without saving. While the network has unsaved
edits, :class:`RecoveryKeeper` writes them to ``recovery.json`` in the user data dir
(``platformdirs.user_data_dir("cnnstudio")``, beside the app's settings; ``$XDG_DATA_HOME``
moves it), one second after the last edit (debounced: a run of spin-box steps is one write;
the document is read on that timer, never inside the edit, and written with its fsync by one
background thread, so a slow disk never holds up the window). SIGTERM/SIGHUP/Ctrl+C write it at
once (``gui/signals.py``). After a crash, a ``kill -9`` or a power cut, the file is still there,
and the next start asks (``offer``): Restore or Discard, naming the project and the time. A
normal close removes it. Nothing here ever writes the user's own project file: the only file
written is the recovery file, and restored edits stay unsaved until the user saves.

What is kept, and why not the undo stack itself (orange-canvas-core pickles its scheme and
undo stack into a ``.swp`` file): pickle is not allowed here, and serialising every edit command
would tie the file to the command classes' internals. The file holds the network as it is now,
as plain JSON in the model's own format (what Save would write for it), the path of the project
it belongs to (reopened for its weights, runs and data), the descriptions of the unsaved steps
(for the dialog), and the training settings. Restoring reopens the project and applies the kept
network as one undoable step, "Restore unsaved edits", so Undo goes back to the saved file.
Trained weights that were never saved are not kept (arrays do not belong in this JSON file).

The file: ``{"format": "cnnstudio-recovery", "version": 1, "reason" ("autosave", or the signal's
name), "saved_at" (local time, ISO 8601), "pid", "project_path", "project_mtime_ns" (the file's
modification time when the edits began from it: the dialog warns when it changed since),
"network", "edits", "training_config"}``, written atomically (a temporary file in the same
folder, then a rename). A second window running at the same time keeps its own
``recovery-<pid>.json``; only files whose process has ended are offered.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from cnnstudio.model import NetworkSpec, TrainingConfig
from cnnstudio.model.commands import ReplaceNetwork
from cnnstudio.model.naming import UNTITLED, project_name

RECOVERY_NAME = "recovery.json"
RECOVERY_FORMAT = "cnnstudio-recovery"
RECOVERY_VERSION = 1
#: how long after the last edit the recovery file is written
AUTOSAVE_MS = 1000
RESTORE_TEXT = "Restore unsaved edits"


def recovery_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("cnnstudio"))


def recovery_path() -> Path:
    """Where the recovery file goes: ``recovery.json`` in the platform's user data dir."""
    return recovery_dir() / RECOVERY_NAME


# ---- the file --------------------------------------------------------------------------------------
def recovery_document(state: Any, reason: str) -> dict[str, Any]:
    """What the recovery file holds for ``state`` (an AppState) now (see the module docstring)."""
    path = state.path
    try:
        mtime = os.stat(path).st_mtime_ns if path else None
    except OSError:
        mtime = None
    return {"format": RECOVERY_FORMAT, "version": RECOVERY_VERSION, "reason": reason,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pid": os.getpid(),
            "project_path": path, "project_mtime_ns": mtime,
            "network": json.loads(state.spec.to_json()),
            "edits": list(state.document.unsaved_steps),
            "training_config": state.training_config.to_dict()}


def write_document(doc: dict[str, Any], path: Path) -> Path:
    """Write ``doc`` as JSON to ``path`` atomically (temporary file beside it, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".recovery.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_recovery(state: Any, reason: str, path: Path | None = None) -> Path:
    """Write ``state``'s unsaved edits to the recovery file (``path`` or the default one)."""
    return write_document(recovery_document(state, reason), path or recovery_path())


@dataclass
class Recovery:
    """A recovery file found at start: where it is and what it holds."""

    path: Path
    doc: dict[str, Any]

    @property
    def project_path(self) -> str | None:
        value = self.doc.get("project_path")
        return value if isinstance(value, str) and value else None

    @property
    def project_name(self) -> str:
        if self.project_path:
            return os.path.basename(self.project_path)
        try:   # the app's naming rule: a template edited away from itself is "untitled"
            return project_name(self.network())
        except (ValueError, TypeError, KeyError):
            return UNTITLED

    @property
    def edits(self) -> list[str]:
        edits = self.doc.get("edits")
        return [str(e) for e in edits] if isinstance(edits, list) else []

    @property
    def saved_at(self) -> str:
        """When the edits were kept, for people: "2026-12-02 01:40:12"."""
        try:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(str(self.doc["saved_at"]),
                                                                     "%Y-%m-%dT%H:%M:%S%z"))
        except (KeyError, ValueError):
            return "an unknown time"

    @property
    def project_changed_since(self) -> bool:
        """True when the project file was modified after the edits began (e.g. saved elsewhere)."""
        was = self.doc.get("project_mtime_ns")
        if not self.project_path or not isinstance(was, int):
            return False
        try:
            return os.stat(self.project_path).st_mtime_ns != was
        except OSError:
            return False

    def network(self) -> NetworkSpec:
        return NetworkSpec.from_dict(self.doc["network"])

    def training_config(self) -> TrainingConfig | None:
        data = self.doc.get("training_config")
        if not isinstance(data, dict):
            return None
        try:
            return TrainingConfig.from_dict(data)
        except Exception:  # noqa: BLE001 - settings of another version: keep the current ones
            return None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process with that number: not ours to offer
        return True
    return True


def _read(path: Path) -> Recovery | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != RECOVERY_FORMAT or not isinstance(doc.get("network"), dict):
        return None
    return Recovery(path, doc)


def find_recoveries(folder: Path | None = None) -> list[Recovery]:
    """Recovery files left by processes that have ended, newest first (a damaged one is skipped)."""
    folder = folder or recovery_dir()
    found = []
    for path in sorted(folder.glob("recovery*.json")) if folder.is_dir() else []:
        rec = _read(path)
        if rec is not None and not _alive(rec.doc.get("pid")):
            found.append(rec)
    return sorted(found, key=lambda r: r.path.stat().st_mtime_ns, reverse=True)


# ---- keeping it up to date ---------------------------------------------------------------------------
class RecoveryKeeper(QObject):
    """Keeps ``window.state``'s unsaved network edits in the recovery file (debounced).

    ``written(path)`` after each write, ``removed(path)`` after the file was removed because the
    edits were saved or undone. ``write_now(reason)`` writes at once (signals); ``discard()``
    removes the file (a normal close).
    """

    written = pyqtSignal(str)
    removed = pyqtSignal(str)
    _done = pyqtSignal(str, str)   # (path, error) from the writer thread, delivered in the GUI thread

    def __init__(self, state: Any, parent: QObject | None = None, delay_ms: int = AUTOSAVE_MS):
        super().__init__(parent)
        self.state = state
        self.path = self._own_path()
        self.owns_file = False   # True once this process wrote it (a crashed run's file is not ours)
        self.last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)
        # one writer thread: writes land in the order they were asked for, never two at once (its
        # idle thread ends when the keeper is collected, or at stop())
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnstudio-recovery")
        self._stopped = False
        self._done.connect(self._on_done)
        state.projectChanged.connect(self._schedule)
        state.networkChanged.connect(self._schedule)

    @staticmethod
    def _own_path() -> Path:
        shared = recovery_path()
        other = _read(shared) if shared.exists() else None
        if other is not None and other.doc.get("pid") != os.getpid() and _alive(other.doc.get("pid")):
            return shared.with_name(f"recovery-{os.getpid()}.json")   # another window is running
        return shared

    def _schedule(self, *args: Any) -> None:
        if not self._stopped:
            self._timer.start()   # restarts: the file is written once the edits pause

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def flush(self) -> None:
        """Write the file (in the writer thread) if the network has unsaved edits, else remove ours."""
        self._timer.stop()
        if self._stopped:
            return
        if self.state.document.is_dirty:
            doc = recovery_document(self.state, "autosave")   # read here, in the GUI thread
            self.owns_file = True
            self._pool.submit(self._write, doc)
        elif self.owns_file:
            self.discard()

    def _write(self, doc: dict[str, Any]) -> None:
        try:
            write_document(doc, self.path)
            error = ""
        except OSError as exc:   # a full disk must not break editing; the next edit tries again
            error = f"could not write {self.path} ({exc.strerror or exc})"
        try:
            self._done.emit(str(self.path), error)
        except RuntimeError:   # the window (and this keeper) closed meanwhile
            pass

    def _on_done(self, path: str, error: str) -> None:
        self.last_error = error or None
        if not error:
            self.written.emit(path)

    def _wait_for_writes(self) -> None:
        if not self._stopped:
            self._pool.submit(lambda: None).result()

    def write_now(self, reason: str) -> Path | None:
        """Write the recovery file now, in this thread (a signal, a restore); None (and
        ``last_error``) when it could not be written."""
        self._timer.stop()
        self._wait_for_writes()
        try:
            write_recovery(self.state, reason, self.path)
        except OSError as exc:   # a full disk must not break editing; the next edit tries again
            self.last_error = f"could not write {self.path} ({exc.strerror or exc})"
            return None
        self.owns_file = True
        self.last_error = None
        self.written.emit(str(self.path))
        return self.path

    def discard(self) -> None:
        """Remove the recovery file (a normal close, or the edits were saved)."""
        self._timer.stop()
        self._wait_for_writes()   # a write still under way must not bring it back
        if self.owns_file or self.path.exists():
            self.path.unlink(missing_ok=True)
            self.owns_file = False
            self.removed.emit(str(self.path))

    def stop(self) -> None:
        """No more writes (the app is ending): the timer stops, a write under way finishes."""
        self._timer.stop()
        self._stopped = True
        self._pool.shutdown(wait=True)


# ---- offering it back -----------------------------------------------------------------------------------
def describe(rec: Recovery) -> str:
    """The dialog's text: which project, when, which edits, what Restore does."""
    where = rec.project_path or "a project not saved yet"
    edits = rec.edits
    if edits:
        shown = ", ".join(edits[:8]) + (f" and {len(edits) - 8} more" if len(edits) > 8 else "")
        what = f"{len(edits)} unsaved edit(s): {shown}."
    else:
        what = "Unsaved changes to the network."
    text = (f"CNN Studio ended without saving your edits to {rec.project_name} ({where}) "
            f"at {rec.saved_at}.\n\n{what}\n\n"
            "Restore them? They come back unsaved: your project file is not changed until you save.")
    if rec.project_changed_since:
        text += "\n\nNote: the project file was changed after these edits began."
    if rec.project_path and not os.path.exists(rec.project_path):
        text += ("\n\nThe project file is no longer there: the network comes back as a new, "
                 "unsaved project.")
    return text


def ask_restore(parent: QWidget | None, rec: Recovery) -> bool:
    """Restore (True) or Discard (False): a question with both buttons named."""
    box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved edits?", describe(rec),
                      QMessageBox.StandardButton.NoButton, parent)
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore


class _RestoreEdits(ReplaceNetwork):
    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        new = super().redo(spec)
        self.text = RESTORE_TEXT
        return new


def restore(window: Any, rec: Recovery) -> bool:
    """Reopen the project the edits belong to and apply them as one undoable step (unsaved)."""
    spec = rec.network()
    path = rec.project_path
    if path and os.path.exists(path):
        if not window.open_path(path):   # a damaged file: the loader's error was shown
            return False
    elif window.state.path is not None:
        # edits of a project never saved (or whose file is gone) while the window has a file open
        # (cnnstudio gui PROJECT): they come back in a new untitled project, never over that file's
        # network, weights and runs
        if not window.new_from_template("blank"):
            return False
    config = rec.training_config()
    if config is not None:
        window.state.set_training_config(config)
    window.state.document.execute(_RestoreEdits(spec))
    return True


def offer(window: Any, keeper: RecoveryKeeper | None = None,
          ask: Callable[[Any, Recovery], bool] | None = None) -> Recovery | None:
    """At start: offer the newest recovery file left by an ended process; Restore or Discard it.

    Returns the recovery restored, or None. A restored file is taken over by ``keeper`` (or
    replaced by its next write); a discarded one is deleted. Older files wait for the next start.
    """
    found = find_recoveries(keeper.path.parent if keeper is not None else None)
    if not found:
        return None
    rec = found[0]
    try:
        rec.network()
    except Exception:  # noqa: BLE001 - a network this version cannot read: nothing to restore
        rec.path.unlink(missing_ok=True)
        return None
    if not (ask or ask_restore)(window, rec):
        rec.path.unlink(missing_ok=True)
        return None
    if not restore(window, rec):
        return None
    if keeper is not None:
        keeper.write_now("restored")   # the edits are safe again before the old file goes
        if keeper.path != rec.path:
            rec.path.unlink(missing_ok=True)
    count = len(rec.edits)
    window.statusBar().showMessage(
        f"Restored {count or 'the'} unsaved edit(s) to {rec.project_name} from {rec.saved_at}; "
        "save to keep them", 15_000)
    return rec


def offer_when_free(window: Any, keeper: RecoveryKeeper | None = None,
                    ask: Callable[[Any, Recovery], bool] | None = None) -> None:
    """``offer`` once no other dialog is open: a project opened at start whose data has moved
    shows the locate dialog first, and the restore question stacked on top of it (two questions
    about two projects at once; Restore then left the locate dialog on the old project's data)."""
    busy = [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
    if busy:
        busy[0].finished.connect(lambda *_: QTimer.singleShot(0, lambda: offer_when_free(window, keeper, ask)))
        return
    offer(window, keeper, ask)


def install(window: Any) -> RecoveryKeeper:
    """Keep ``window``'s unsaved edits from now on (``window.recovery``); returns the keeper."""
    keeper = RecoveryKeeper(window.state, window)
    window.recovery = keeper
    return keeper
