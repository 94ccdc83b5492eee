"""The app's side of a training process (``project.trainchild``): start it, talk to it, end it. No Qt.

:class:`TrainingProcess` starts ``python -m cnnstudio.project.trainchild`` with
``subprocess`` (a fresh interpreter: fork + exec at once, as multiprocessing's ``spawn``
does; the app's Qt process never forks a copy of itself) and one socket pair between
them; messages are ``wire`` bytes sent with ``Connection.send_bytes`` (no pickle).

The datasets go through one shared-memory segment made here: the child maps it and says
``attached``, and :meth:`receive` unlinks it right then, so /dev/shm keeps nothing whatever
happens later; ``close`` unlinks it too if the child never attached, and Python's resource
tracker does if this process is killed before. Weights and optimizer state go as array
bytes in the messages.

The child ends when its socket reaches EOF (``close``, or this process dying) and when its
parent changes (a watchdog); ``close`` asks it to quit, then terminates and kills it if it
does not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any, Mapping

import numpy as np

import cnnstudio
from cnnstudio.project import wire

#: seconds ``close`` waits for the child to quit before terminating it
QUIT_TIMEOUT_S = 10.0


class TrainingProcessError(RuntimeError):
    """The training process could not start or stopped unexpectedly; the message says why."""


def _json_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset's meta entries that are plain JSON (the rest stays in the app)."""
    out = {}
    for key, value in meta.items():
        try:
            wire.encode("meta", {str(key): value})
        except wire.WireError:
            continue
        out[str(key)] = value
    return out


class TrainingProcess:
    """One training process for one run.

    ``spec``/``config``: the NetworkSpec and TrainingConfig; ``train``/``val``: prepared
    Datasets; ``weights``/``optimizer_state``: to continue from (or None); ``previous``: the
    history dict the run continues (or None); ``workers``: "auto" (every core) or a count.
    """

    def __init__(self, spec: Any, config: Any, train: Any, val: Any, weights: Mapping[str, np.ndarray] | None = None,
                 optimizer_state: Mapping[str, Any] | None = None, previous: dict[str, Any] | None = None,
                 workers: int | str = "auto", preview_interval_s: float | None = 0.5):
        self._shm: shared_memory.SharedMemory | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.closed = False
        self.ended = False   # EOF seen: the child is gone
        parts, size = [], 0
        layout: dict[str, dict[str, Any]] = {}
        for role, ds in (("train", train), ("val", val)):
            entry: dict[str, Any] = {"name": ds.name, "class_names": [str(c) for c in ds.class_names],
                                     "source": str(ds.source or ""), "meta": _json_meta(ds.meta or {})}
            for key in ("x", "y"):
                arr = np.ascontiguousarray(getattr(ds, key))
                entry[key] = [size, list(arr.shape), arr.dtype.str]
                parts.append((size, arr))
                size += -(-arr.nbytes // 64) * 64
            layout[role] = entry
        try:
            if size:
                self._shm = shared_memory.SharedMemory(create=True, size=size)
                assert self._shm.buf is not None
                for offset, arr in parts:
                    np.frombuffer(self._shm.buf, dtype=arr.dtype, count=arr.size, offset=offset)[:] = arr.ravel()
            ours, theirs = socket.socketpair()
            self.conn = Connection(ours.detach())
            fd = theirs.detach()
            try:
                env = dict(os.environ)
                root = os.path.dirname(os.path.dirname(os.path.abspath(cnnstudio.__file__)))
                env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
                self.proc = subprocess.Popen([sys.executable, "-m", "cnnstudio.project.trainchild", str(fd),
                                              str(os.getpid())], pass_fds=(fd,), env=env, close_fds=True)
            finally:
                os.close(fd)
            self.pid = self.proc.pid
            start = {"spec": spec.to_dict(), "config": config.to_dict(), "previous": previous, "workers": workers,
                     "preview_interval_s": preview_interval_s,
                     "shm": {"name": self._shm.name if self._shm else "", "size": size}, **layout}
            arrays = {"weights": dict(weights or {}), "optimizer_state": dict(optimizer_state or {})}
            self.conn.send_bytes(wire.encode("start", start, arrays))
        except BaseException:
            self.close()
            raise
        self._finalizer = weakref.finalize(self, _cleanup, self.proc, self.conn, self._shm)

    # ---- talking ---------------------------------------------------------------------------
    def send(self, kind: str, data: Any = None) -> bool:
        """Send one control; False when the child is gone (the reader reports why)."""
        try:
            with self._lock:
                self.conn.send_bytes(wire.encode(kind, data))
            return True
        except (OSError, ValueError):
            return False

    def receive(self) -> wire.Message | None:
        """The next message from the child (blocks); None once it is gone (EOF)."""
        while True:
            try:
                msg = wire.decode(self.conn.recv_bytes())
            except (EOFError, OSError):
                self.ended = True
                self._unlink()
                return None
            if msg.kind == "attached":   # the child has mapped the datasets: nothing stays in /dev/shm
                self._unlink()
                continue
            return msg

    def wait(self, timeout: float | None = None) -> int | None:
        """The child's exit status once it has ended (None: still running after ``timeout``)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def exit_description(self, timeout: float = 5.0) -> str:
        """How the child ended, in words (it is waited for up to ``timeout`` seconds)."""
        code = self.wait(timeout)
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"it was killed by {name}"
        return f"it exited with code {code}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    # ---- ending ------------------------------------------------------------------------------
    def _unlink(self) -> None:
        shm, self._shm = self._shm, None
        if shm is not None:
            _release(shm)

    def close(self, timeout: float = QUIT_TIMEOUT_S) -> None:
        """Ask the child to quit, wait for it (terminate, then kill, if it will not); idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.proc is not None and self.proc.poll() is None:
            self.send("quit")
        try:
            self.conn.close()   # EOF for the child, whatever it is doing
        except (AttributeError, OSError):
            pass
        _end(self.proc, timeout)
        self._unlink()
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()


def _release(shm: shared_memory.SharedMemory) -> None:
    try:
        shm.unlink()
    except FileNotFoundError:
        pass
    try:
        shm.close()
    except BufferError:
        pass


def _end(proc: "subprocess.Popen[bytes] | None", timeout: float) -> None:
    if proc is None:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cleanup(proc: Any, conn: Any, shm: Any) -> None:
    try:
        conn.close()
    except OSError:
        pass
    _end(proc, 5.0)
    if shm is not None:
        _release(shm)
