"""The background worker: pumps the engine's training generator in a QThread.

The engine's ``Trainer.run()`` yields one ``StepReport`` per batch and an
``EpochReport`` at the end of each epoch; this worker only pumps it (DESIGN
principle 5, after napari's ``thread_worker`` / superqt's ``GeneratorWorker``):
- pause, stop and single steps are checked between batches; a paused worker
  sleeps on a condition variable (no busy loop);
- controls from the GUI thread (learning rate, augmentation, +epochs, any callable)
  are queued and run in the worker thread before the next batch, so the trainer
  is never touched by two threads at once;
- batch records go into a deque the GUI drains on its own timer (no signal per
  batch: a signal flood would keep the GUI busy); epoch ends, pauses, health
  issues, errors and the end are signals; everything sent is plain Python or a
  host NumPy copy;
- exceptions in the trainer become a ``failed(str)`` signal, never swallowed.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot
from threadpoolctl import threadpool_limits

from cnnstudio.engine.health import HealthMonitor, layer_stats_of
from cnnstudio.project import session


WORKER_NICE = 5
#: publish the weights mid-epoch at most this often (seconds), so views can show filters forming
PREVIEW_INTERVAL_S = 0.5
#: ... and spend at most about 1/PREVIEW_COST_FACTOR of the time copying them (VGG16: ~550 MB a copy)
PREVIEW_COST_FACTOR = 50


class TrainingWorker(QObject):
    """Runs ``trainer.run()`` batch by batch. Create, ``moveToThread``, connect ``thread.started`` to ``run``."""

    epochFinished = pyqtSignal(object)   # dict: the epoch record, plus "weights" (host copies) when available
    pausedChanged = pyqtSignal(bool)     # True when the worker has stopped pulling batches
    weightsPreview = pyqtSignal(object)  # dict: "weights" (host copies) and "global_step", mid-epoch, throttled
    healthIssues = pyqtSignal(object)    # list[HealthIssue] newly raised
    failed = pyqtSignal(str)             # the error message (type and text)
    finished = pyqtSignal(str)           # "completed", "stopped" or "error"

    def __init__(self, trainer: Any, monitor: HealthMonitor | None = None,
                 blas_threads: int | None = None, start_paused: bool = False, step_offset: int = 0,
                 nice: int | None = None, preview_interval_s: float | None = PREVIEW_INTERVAL_S):
        super().__init__()
        # Linux: a slightly "nicer" trainer thread lets the GUI thread preempt it at once when it
        # wakes (measured: p99 lateness ~37 -> ~20 ms on the shared 2-core machine); no cost when idle.
        self.nice = nice if nice is not None else int(os.environ.get("CNNSTUDIO_WORKER_NICE", WORKER_NICE))
        self.trainer = trainer
        self.monitor = monitor
        # While the GUI is up, leave it a core: BLAS gets at most cores-1 threads.
        self.blas_threads = blas_threads if blas_threads is not None else max(1, (os.cpu_count() or 2) - 1)
        self.step_offset = step_offset  # global step of the first batch (continued runs)
        self.steps: collections.deque[dict] = collections.deque()  # drained by the GUI
        self.steps_done = 0
        self.epochs_done = 0
        self._cond = threading.Condition()
        self._paused = start_paused
        self._stop = False
        self._step_budget = 0           # >0: run this many batches, then pause
        self._commands: list[Callable[[], None]] = []
        self.preview_interval_s = preview_interval_s  # None: no mid-epoch weights
        self.previews_sent = 0
        self._preview_wait = preview_interval_s or 0.0
        self._last_preview: float | None = None
        self._last_global_step: int | None = None

    # ---- controls (GUI thread) ----------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._step_budget = 0
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._step_budget = 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Run exactly ``n`` batches, then pause again."""
        with self._cond:
            self._step_budget = n
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the current batch; completed epochs are kept, the current one is dropped."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def call_in_worker(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the worker thread before the next batch (also while paused)."""
        with self._cond:
            self._commands.append(fn)
            self._cond.notify_all()

    def set_lr(self, lr: float) -> None:
        self.call_in_worker(lambda: self.trainer.set_lr(float(lr)))

    def set_batch_transform(self, fn: Callable | None) -> None:
        self.call_in_worker(lambda: _set_batch_transform(self.trainer, fn))

    def add_epochs(self, n: int = 1) -> None:
        self.call_in_worker(lambda: self.trainer.add_epochs(int(n)))

    @property
    def is_paused(self) -> bool:
        return self._paused

    # ---- the loop (worker thread) ---------------------------------------------------------
    @pyqtSlot()
    def run(self) -> None:
        reason = "completed"
        _lower_thread_priority(self.nice)
        try:
            with threadpool_limits(limits=self.blas_threads, user_api="blas"):
                reason = self._pump(self.trainer.run())
        except Exception as exc:  # noqa: BLE001 - every failure goes to the GUI, with its type
            self.failed.emit(_describe(exc))
            reason = "error"
        self.finished.emit(reason)

    def _pump(self, gen: Any) -> str:
        finish_epoch = False  # the last batch of an epoch was stepped: also pull its EpochReport
        while True:
            if not finish_epoch and not self._wait_until_runnable():
                _close(gen, self.trainer)
                return "stopped"
            try:
                report = next(gen)
            except StopIteration:
                self._run_commands()
                return "stopped" if self._stop else "completed"
            if is_epoch_report(report):
                finish_epoch = False
                self._on_epoch(report)
            else:
                finish_epoch = self._on_step(report)

    def _wait_until_runnable(self) -> bool:
        """Run queued commands; sleep while paused. False when stop was requested."""
        announced = False
        while True:
            ran = self._run_commands()
            with self._cond:
                if self._stop:
                    return False
                if not self._paused:
                    return True
                first, announced = not announced, True
            if first or ran:
                # Paused (also after a step, or a fix that restored weights): the views show exactly
                # the weights it stopped at, whatever the throttle says.
                self._maybe_preview({"global_step": self._last_global_step}, force=True)
            with self._cond:
                if first:
                    self.pausedChanged.emit(True)
                if self._paused and not self._commands and not self._stop:
                    self._cond.wait()
                paused = self._paused
            if not paused and announced:
                self.pausedChanged.emit(False)

    def _run_commands(self) -> bool:
        """Run the queued commands; True when there were any."""
        with self._cond:
            commands, self._commands = self._commands, []
        for fn in commands:
            fn()
        return bool(commands)

    def _on_step(self, report: Any) -> bool:
        record = step_record(report, self.step_offset)
        self.steps.append(record)
        self.steps_done += 1
        self._last_global_step = record.get("global_step")
        self._maybe_preview(record)
        if self.monitor is not None:
            issues = self.monitor.observe(report)
            if issues:
                if any(i.pause for i in issues):
                    self.pause()
                self.healthIssues.emit(issues)
        with self._cond:
            if self._step_budget > 0:
                self._step_budget -= 1
                if self._step_budget == 0:
                    self._paused = True
        spe = record.get("steps_per_epoch")
        return spe is not None and record.get("step_in_epoch") is not None and \
            record["step_in_epoch"] + 1 >= spe

    def _maybe_preview(self, record: dict, force: bool = False) -> None:
        """Emit a host copy of the weights when the throttle allows (first after one batch) or ``force``."""
        if self.preview_interval_s is None:
            return
        now = time.perf_counter()
        if not force and self._last_preview is not None and now - self._last_preview < self._preview_wait:
            return
        net = getattr(self.trainer, "network", None)
        if net is None:
            return
        weights = net.get_weights()  # host copies: later steps cannot change what the GUI holds
        cost = time.perf_counter() - now
        # Copying costs time the trainer would spend learning: a big network waits longer.
        self._preview_wait = max(self.preview_interval_s, PREVIEW_COST_FACTOR * cost)
        self._last_preview = time.perf_counter()
        self.previews_sent += 1
        self.weightsPreview.emit({"weights": weights, "global_step": record.get("global_step")})

    def _on_epoch(self, report: Any) -> None:
        done = getattr(self.trainer, "global_step", None)
        # the history's epoch record, as the CLI saves it (epoch from 1; the controller adds earlier runs)
        record = session.epoch_record(report)
        record["global_step"] = self.step_offset + (done if isinstance(done, int) else self.steps_done)
        net = getattr(self.trainer, "network", None)
        if net is not None:
            # get_weights gives host arrays; copy so later steps cannot mutate what the GUI holds.
            record["weights"] = {k: np.array(v, copy=True) for k, v in net.get_weights().items()}
        optimizer = getattr(self.trainer, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_state"):
            record["optimizer_state"] = optimizer.get_state()  # host copies (saved with the weights)
        self.epochs_done += 1
        if self.monitor is not None:
            issues = self.monitor.observe(report)
            if issues:
                self.healthIssues.emit(issues)
        self.epochFinished.emit(record)


# ---- report conversion (plain Python only crosses the thread boundary) --------------
STEP_FIELDS = ("epoch", "step_in_epoch", "steps_per_epoch", "global_step", "loss", "accuracy", "lr",
               "images_per_sec", "batch_size")


def is_epoch_report(report: Any) -> bool:
    return _get(report, "train_loss") is not None or type(report).__name__ == "EpochReport"


def step_record(report: Any, step_offset: int = 0) -> dict:
    """A StepReport as a dict of Python numbers (+ per-layer stats as dicts of floats)."""
    rec = {k: _plain(_get(report, k)) for k in STEP_FIELDS}
    if rec["global_step"] is not None:
        rec["global_step"] += step_offset
    if _get(report, "finite") is False and rec["loss"] is not None and math.isfinite(rec["loss"]):
        rec["loss"] = float("nan")
    stats = layer_stats_of(report)
    if stats:
        rec["layer_stats"] = {i: _plain_stats(s) for i, s in stats.items()}
    return rec


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    try:
        return float(v)  # NumPy/CuPy 0-d arrays and scalars become host floats
    except (TypeError, ValueError):
        return None


def _plain_stats(stats: Any) -> dict:
    items = stats.items() if isinstance(stats, dict) else vars(stats).items()
    return {k: (v if isinstance(v, str) else _plain(v)) for k, v in items}


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _set_batch_transform(trainer: Any, fn: Callable | None) -> None:
    if hasattr(trainer, "set_batch_transform"):
        trainer.set_batch_transform(fn)
    else:
        trainer.batch_transform = fn


def _close(gen: Any, trainer: Any) -> None:
    stop = getattr(trainer, "stop", None)
    if stop is not None:
        stop()
    close = getattr(gen, "close", None)
    if close is not None:
        close()


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    loc = f" (in {where[0].name}, {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{loc}"


def _lower_thread_priority(nice: int) -> None:
    """Raise this thread's nice value (Linux: per thread), so the GUI thread wins the CPU when it wakes."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:  # not permitted or not supported: training still runs, at normal priority
        pass
