"""Temporary save files: a recognisable name, a lock while written, removal once abandoned.

A save writes ``.NAME.<pid>.<random>.cnnstudio-tmp`` beside ``NAME`` and renames it over
``NAME`` when complete (see ``project.file.save_project``). A writer killed with SIGKILL
(or a power cut) leaves that file behind; :func:`remove_leftovers`, called at the next save
or open of ``NAME``, deletes it unless it is still in use:

- the writer holds an ``flock`` on it from creation until it is closed (the kernel releases
  the lock when the writer dies, however it dies), and
- its pid is in the name: a file whose writer is still running and that changed in the
  last ``FRESH_SECONDS`` is kept (this covers the instant between creation and locking, the
  instant between closing and renaming, and systems without ``flock``).

Files named by earlier versions (``.NAME.XXXXXXXX.tmp``, no pid) are removed once they are
``LEGACY_AGE_SECONDS`` old.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from pathlib import Path

from cnnstudio.project.limits import TEMP_SUFFIX

try:
    import fcntl
except ImportError:  # Windows: pid and age only
    fcntl = None  # type: ignore[assignment]

FRESH_SECONDS = 600
LEGACY_AGE_SECONDS = 3600

_active: set[str] = set()  # temp files this process is writing now
_active_lock = threading.Lock()


def create(directory: Path, name: str) -> tuple[int, str]:
    """(fd, path) of a new, locked temporary file for saving ``directory/name``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=directory)
    with _active_lock:
        _active.add(os.path.abspath(tmp))
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: the pid and age rules still protect it
    return fd, tmp


def finished(tmp: str) -> None:
    """``tmp`` was renamed or removed: this process no longer writes it."""
    with _active_lock:
        _active.discard(os.path.abspath(tmp))


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


def _locked(path: str) -> bool:
    """True if another open file holds an flock on ``path`` (False where flock is unavailable)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True  # cannot look: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our lock, if we got it
    return False


def _in_use(path: str, pid: int | None, mtime: float, now: float) -> bool:
    if pid is None:  # an earlier version's name
        return now - mtime < LEGACY_AGE_SECONDS
    if pid == os.getpid():
        with _active_lock:
            if os.path.abspath(path) in _active:
                return True
        return _locked(path)
    if _locked(path):
        return True
    return _pid_alive(pid) and now - mtime < FRESH_SECONDS


def leftovers(directory: Path, name: str) -> list[tuple[str, int | None]]:
    """(path, writer pid or None) of the temporary save files of ``directory/name``."""
    ours = re.compile(re.escape(f".{name}.") + r"(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))
    legacy = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    found: list[tuple[str, int | None]] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        m = ours.fullmatch(entry.name)
        if m is not None:
            found.append((entry.path, int(m.group(1))))
        elif legacy.fullmatch(entry.name):
            found.append((entry.path, None))
    return found


def remove_leftovers(target: Path) -> list[str]:
    """Delete abandoned temporary save files of ``target``; the paths removed. Never raises."""
    removed = []
    now = time.time()
    for path, pid in leftovers(target.parent, target.name):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not os.path.isfile(path) or os.path.islink(path) or _in_use(path, pid, st.st_mtime, now):
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed
