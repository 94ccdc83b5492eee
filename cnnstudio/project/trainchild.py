"""The training process: one ``project.run.Run`` pumped outside the app's interpreter. No Qt.

Started by ``project.trainproc.TrainingProcess`` as ``python -m cnnstudio.project.trainchild FD``
(a fresh interpreter, never a fork of the app), it talks to the app over one socket with
``wire`` messages (JSON and raw array bytes; nothing is pickled):

app -> here: ``start`` (network, settings, history, weights, optimizer state, where the
datasets lie in shared memory), then ``continue`` {paused} to pump the run, and controls
between batches: ``pause``, ``resume``, ``step`` {n}, ``stop``, ``add_epochs`` {n},
``set_lr`` {lr}, ``set_augmentation`` {settings}, ``restore_last_good`` {lr}, ``quit``.

here -> app: ``attached`` (the app unlinks the datasets' segment), ``ready``, ``steps``
{records} (batched at most every STEP_FLUSH_S), ``epoch`` {record, lr_changes} + weights
and optimizer state, ``preview`` {global_step} + weights (throttled as the in-process worker
does), ``paused`` {paused}, ``issues`` {issues}, ``history`` {lr_changes, lr} (after a
control), ``failed`` {message} and ``finished`` {reason, lr_changes}. ``lr_changes`` are the
ones not sent before: the app keeps its own copy of the history and adds what it is sent. After ``finished`` the process waits
for ``continue`` (+1 epoch goes on exactly where the run left off) or ``quit``.

It never outlives the app: the socket's EOF (the app died or closed it) stops the run at
the next batch and ends the process, and a watchdog sees the parent change (reparenting
after a SIGKILL) and ends it too, hard if the run does not stop in time.
"""

from __future__ import annotations

import dataclasses
import math
import mmap
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any, Callable

import numpy as np

from cnnstudio.project import wire

#: publish the weights mid-epoch at most this often (seconds) ...
PREVIEW_INTERVAL_S = 0.5
#: ... and spend at most about 1/PREVIEW_COST_FACTOR of the time copying them
PREVIEW_COST_FACTOR = 50
#: batch records go out at most this often (one message for many fast batches)
STEP_FLUSH_S = 0.04
#: how often the watchdog looks at the parent, and how long a stop may take before a hard exit
WATCHDOG_S = 0.25
GRACE_S = 10.0
#: the training process is "nicer" than the app, so the GUI thread wins a core when it wakes
CHILD_NICE = 5


def plain(value: Any) -> Any:
    """NumPy scalars and tuples as JSON values (health fixes carry them)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def issue_to_json(issue: Any) -> dict[str, Any]:
    """A health.HealthIssue as plain JSON (its fixes too)."""
    out = {f.name: plain(getattr(issue, f.name)) for f in dataclasses.fields(issue) if f.name != "fixes"}
    out["fixes"] = [{"action": f.action, "label": f.label, "params": plain(dict(f.params)),
                     "needs_stopped": bool(f.needs_stopped)} for f in issue.fixes]
    return out


def issue_from_json(data: dict[str, Any]) -> Any:
    from cnnstudio.engine.health import Fix, HealthIssue

    fixes = tuple(Fix(f["action"], f["label"], dict(f.get("params") or {}), bool(f.get("needs_stopped")))
                  for f in data.get("fixes") or [])
    return HealthIssue(**{k: v for k, v in data.items() if k != "fixes"}, fixes=fixes)


def attach(name: str, size: int) -> mmap.mmap:
    """Map the app's shared-memory segment ``name`` without registering it anywhere (the app
    owns and unlinks it; a resource tracker here would unlink it a second time)."""
    try:
        import _posixshmem  # the module SharedMemory itself uses

        fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
    except ImportError:  # pragma: no cover - non-POSIX
        fd = os.open(os.path.join("/dev/shm", name), os.O_RDWR)
    try:
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)


class Child:
    """The run and its controls; ``serve`` is the process's life."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._quit = False          # the app is gone or said quit: end the process
        self._continue = False      # ``continue`` arrived: pump (again)
        self._step_budget = 0
        self._commands: list[Callable[[], object]] = []
        self.run: Any = None
        self.config: Any = None
        self.preview_interval_s: float | None = PREVIEW_INTERVAL_S
        self._preview_wait = 0.0
        self._last_preview: float | None = None
        self._last_global_step: int | None = None
        self._pending: list[dict[str, Any]] = []
        self._lr_changes_sent = 0
        self._last_flush = 0.0

    # ---- sending ------------------------------------------------------------------------
    def send(self, kind: str, data: Any = None, arrays: dict[str, Any] | None = None) -> None:
        payload = wire.encode(kind, data, arrays)
        with self._send_lock:
            try:
                self.conn.send_bytes(payload)
            except (OSError, ValueError):   # the app is gone: stop at the next batch
                self._gone()

    def _gone(self) -> None:
        with self._cond:
            self._stop = self._quit = True
            self._cond.notify_all()

    # ---- controls (the reader thread) ------------------------------------------------------
    def read_controls(self) -> None:
        while True:
            try:
                msg = wire.decode(self.conn.recv_bytes())
            except (EOFError, OSError, wire.WireError):   # EOF: the app closed the socket or died
                self._gone()
                return
            self.control(msg)
            if msg.kind == "quit":
                return

    def control(self, msg: wire.Message) -> None:
        data = msg.data or {}
        with self._cond:
            if msg.kind == "pause":
                self._paused, self._step_budget = True, 0
            elif msg.kind == "resume":
                self._paused, self._step_budget = False, 0
            elif msg.kind == "step":
                self._paused, self._step_budget = False, int(data.get("n", 1))
            elif msg.kind == "stop":
                self._stop = True
            elif msg.kind == "quit":
                self._stop = self._quit = True
            elif msg.kind == "continue":
                self._continue, self._stop = True, False
                self._paused, self._step_budget = bool(data.get("paused", False)), 0
            elif msg.kind in ("add_epochs", "set_lr", "set_augmentation", "restore_last_good"):
                self._commands.append(lambda: self._command(msg.kind, data))
            self._cond.notify_all()

    def _command(self, kind: str, data: dict[str, Any]) -> None:
        run = self.run
        if kind == "add_epochs":
            run.add_epochs(int(data.get("n", 1)))
        elif kind == "set_lr":
            run.set_lr(float(data["lr"]))
        elif kind == "restore_last_good":
            run.restore_last_good(float(data["lr"]))
        elif kind == "set_augmentation":
            from cnnstudio.project import session

            self.config = dataclasses.replace(self.config, **data)
            run.set_batch_transform(session.make_augmenter(self.config))
        self.send("history", {"lr_changes": self._new_lr_changes(), "lr": float(run.trainer.current_lr())})

    def _new_lr_changes(self) -> list[dict[str, Any]]:
        """The LR changes the app has not been sent yet (it keeps its copy of the history)."""
        changes = self.run.history.lr_changes
        new, self._lr_changes_sent = changes[self._lr_changes_sent:], len(changes)
        return [plain(c.to_dict()) for c in new]

    def watchdog(self, parent: int) -> None:
        """Ends the process when the app that started it is gone (SIGKILL: no EOF needed)."""
        while True:
            time.sleep(WATCHDOG_S)
            if os.getppid() != parent:
                self._gone()
                time.sleep(GRACE_S)   # the run stops at its next batch; this one may be stuck in a long one
                os._exit(3)

    # ---- the run ----------------------------------------------------------------------------
    def setup(self, msg: wire.Message) -> None:
        from cnnstudio.data import Dataset
        from cnnstudio.engine.health import HealthMonitor
        from cnnstudio.engine.kernels import cpu_cores
        from cnnstudio.model import NetworkSpec, TrainingConfig
        from cnnstudio.project import session
        from cnnstudio.project.run import Run, RunHistory

        data = msg.data
        shm = data["shm"]
        buf = attach(shm["name"], int(shm["size"])) if shm["size"] else None
        self.send("attached")

        def dataset(d: dict[str, Any]) -> Dataset:
            arrays = {}
            for key in ("x", "y"):
                offset, shape, dtype = d[key]
                count = math.prod(shape)
                if count and buf is not None:
                    arrays[key] = np.frombuffer(buf, dtype=np.dtype(dtype), count=count, offset=offset).reshape(shape)
                else:
                    arrays[key] = np.zeros(shape, np.dtype(dtype))
            return Dataset(d["name"], arrays["x"], arrays["y"], list(d["class_names"]), d.get("source", ""),
                           dict(d.get("meta") or {}))

        spec = NetworkSpec.from_dict(data["spec"])
        self.config = config = TrainingConfig.from_dict(data["config"])
        train, val = dataset(data["train"]), dataset(data["val"])
        workers = data.get("workers", "auto")
        count = cpu_cores() if workers == "auto" else max(1, int(workers))
        weights = wire.copies(msg.arrays["weights"]) if msg.arrays.get("weights") else None
        opt = wire.copies(msg.arrays["optimizer_state"]) if msg.arrays.get("optimizer_state") else None
        prepared = session.make_trainer(spec, train, val, config, weights=weights, optimizer_state=opt,
                                        threads=count, processes=count > 1)
        monitor = HealthMonitor([layer.type for layer in spec.layers], num_classes=train.num_classes,
                                augmenting=config.augment, val_size=len(val))
        previous = RunHistory.from_dict(data["previous"]) if data.get("previous") is not None else None
        self.run = Run(prepared, previous, monitor)
        self._lr_changes_sent = len(self.run.history.lr_changes)
        self.run.request_pause = self.pause
        self.preview_interval_s = data.get("preview_interval_s", PREVIEW_INTERVAL_S)
        self._preview_wait = self.preview_interval_s or 0.0
        self.send("ready", {"steps_per_epoch": int(self.run.trainer.steps_per_epoch),
                            "planned_steps": int(self.run.planned_steps), "workers": count,
                            "processes": int(prepared.network.__dict__.get("_process_count", 0)) > 1})

    def pause(self) -> None:
        with self._cond:
            self._paused, self._step_budget = True, 0
            self._cond.notify_all()

    def serve(self) -> None:
        """Pump the run on each ``continue`` until ``quit`` or the app is gone."""
        while True:
            with self._cond:
                while not self._continue and not self._quit:
                    if self._commands:
                        break
                    self._cond.wait()
                go, quitting = self._continue, self._quit
                self._continue = False
            self._run_commands()
            if quitting:
                return
            if go:
                reason = self.pump()
                self.send("finished", {"reason": reason, "lr_changes": self._new_lr_changes()})

    def pump(self) -> str:
        from cnnstudio.project.run import EpochDone

        gen = self.run.reports()
        finish_epoch = False
        try:
            while True:
                if not finish_epoch and not self._wait_until_runnable():
                    return "stopped"
                try:
                    item = next(gen)
                except StopIteration:
                    self._run_commands()
                    return "stopped" if self._stop else "completed"
                if isinstance(item, EpochDone):
                    finish_epoch = False
                    self._flush()
                    self.send("epoch", {"record": item.record.to_dict(), "lr_changes": self._new_lr_changes()},
                              {"weights": item.weights, "optimizer_state": item.optimizer_state})
                    self._send_issues()
                else:
                    finish_epoch = self._on_step(item)
        except Exception as exc:  # noqa: BLE001 - every failure goes to the app, with its type
            self._flush()
            self.send("failed", {"message": describe(exc)})
            return "error"
        finally:
            gen.close()
            self._flush()

    def _wait_until_runnable(self) -> bool:
        announced = False
        while True:
            ran = self._run_commands()
            with self._cond:
                if self._stop:
                    return False
                if not self._paused:
                    if announced:
                        self.send("paused", {"paused": False})
                    return True
                first, announced = not announced, True
            if first or ran:
                self._flush()
                self._send_issues()
                self._maybe_preview(force=True)
            if first:
                self.send("paused", {"paused": True})
            with self._cond:
                if self._paused and not self._commands and not self._stop:
                    self._cond.wait()

    def _run_commands(self) -> bool:
        with self._cond:
            commands, self._commands = self._commands, []
        for fn in commands:
            fn()
        return bool(commands)

    def _on_step(self, record: dict[str, Any]) -> bool:
        self._pending.append(record)
        self._last_global_step = record["global_step"]
        now = time.perf_counter()
        if now - self._last_flush >= STEP_FLUSH_S:
            self._flush(now)
            self._send_issues()
        self._maybe_preview()
        with self._cond:
            if self._step_budget > 0:
                self._step_budget -= 1
                if self._step_budget == 0:
                    self._paused = True
        return bool(record["step_in_epoch"] + 1 >= record["steps_per_epoch"])

    def _flush(self, now: float | None = None) -> None:
        self._last_flush = time.perf_counter() if now is None else now
        if self._pending:
            records, self._pending = self._pending, []
            self.send("steps", {"records": [plain(r) for r in records]})

    def _send_issues(self) -> None:
        issues = self.run.issues
        found = [issues.popleft() for _ in range(len(issues))]
        if found:
            self.send("issues", {"issues": [issue_to_json(i) for i in found]})

    def _maybe_preview(self, force: bool = False) -> None:
        if self.preview_interval_s is None:
            return
        now = time.perf_counter()
        if not force and self._last_preview is not None and now - self._last_preview < self._preview_wait:
            return
        weights = self.run.network.get_weights()
        self._flush()   # the batches before these weights first, so the views stay in order
        self.send("preview", {"global_step": self._last_global_step}, {"weights": weights})
        cost = time.perf_counter() - now
        self._preview_wait = max(self.preview_interval_s, PREVIEW_COST_FACTOR * cost)
        self._last_preview = time.perf_counter()


def describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    loc = f" (in {where[0].name}, {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{loc}"


def main(argv: list[str]) -> int:
    """``python -m cnnstudio.project.trainchild FD [PARENT_PID]``: FD is the app's socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C in the app's terminal is the app's to handle
    parent = int(argv[2]) if len(argv) > 2 else os.getppid()
    conn = Connection(int(argv[1]))
    child = Child(conn)
    if os.getppid() != parent:   # the app died before this interpreter was up
        return 3
    threading.Thread(target=child.watchdog, args=(parent,), name="parent-watchdog", daemon=True).start()
    try:   # CNNSTUDIO_WORKER_NICE: the in-process worker thread's setting, the same meaning here
        os.nice(int(os.environ.get("CNNSTUDIO_WORKER_NICE", CHILD_NICE)))
    except (OSError, ValueError):
        pass
    try:
        first = wire.decode(conn.recv_bytes())
        if first.kind != "start":
            raise wire.WireError(f"expected a start message, got {first.kind!r}")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):   # the engine's threads/processes fill the cores
            child.setup(first)
            threading.Thread(target=child.read_controls, name="controls", daemon=True).start()
            child.serve()
    except (EOFError, OSError):
        return 0   # the app went away before the run began
    except Exception as exc:  # noqa: BLE001 - setup errors are reported, then the process ends
        child.send("failed", {"message": describe(exc)})
        child.send("finished", {"reason": "error", "lr_changes": []})
        return 1
    finally:
        if child.run is not None:
            try:
                child.run.network.close_workers()   # engine worker processes end with the run
            except Exception:  # noqa: BLE001 - exiting anyway
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
