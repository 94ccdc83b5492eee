"""The background worker: pumps a training run's generator in a QThread.

It pumps ``project.run.Run.reports()`` (the engine Trainer's generator with the run's
bookkeeping around it; DESIGN principle 5, in superqt's ``GeneratorWorker`` shape) and does
nothing else:
- start (``run``, the thread's slot), pause, resume, step (n batches, then pause) and stop
  are checked between batches; a paused worker sleeps on a condition variable (no busy loop);
- controls from the GUI thread (``call_in_worker``: a new learning rate, augmentation,
  +epochs, a health fix) run in the worker thread before the next batch, so the trainer is
  never touched by two threads at once;
- batch records go into a deque the GUI drains on its own timer (no signal per batch: a
  signal flood would keep the GUI busy); the end of an epoch (``EpochDone``: its record and
  weights), pauses, errors and the end are signals; between epochs a throttled host copy of
  the weights (``weightsPreview``) lets views show filters forming;
- exceptions in the run become a ``failed(str)`` signal, never swallowed.
Health rules, epoch records and LR bookkeeping are the Run's (no Qt), not the worker's.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot
from threadpoolctl import threadpool_limits

from cnnstudio.project.run import EpochDone, StepRecord


WORKER_NICE = 5
#: publish the weights mid-epoch at most this often (seconds), so views can show filters forming
PREVIEW_INTERVAL_S = 0.5
#: ... and spend at most about 1/PREVIEW_COST_FACTOR of the time copying them (VGG16: ~550 MB a copy)
PREVIEW_COST_FACTOR = 50


class TrainingWorker(QObject):
    """Pumps ``source.reports()`` (a ``project.run.Run``) batch by batch; ``source.network`` gives
    the previews. Create, ``moveToThread``, connect ``thread.started`` to ``run``."""

    epochFinished = pyqtSignal(object)   # project.run.EpochDone: the record, weights and optimizer state
    pausedChanged = pyqtSignal(bool)     # True when the worker has stopped pulling batches
    weightsPreview = pyqtSignal(object)  # dict: "weights" (host copies) and "global_step", mid-epoch, throttled
    failed = pyqtSignal(str)             # the error message (type and text)
    finished = pyqtSignal(str)           # "completed", "stopped" or "error"

    def __init__(self, source: Any, blas_threads: int | None = None, start_paused: bool = False,
                 nice: int | None = None, preview_interval_s: float | None = PREVIEW_INTERVAL_S):
        super().__init__()
        # Linux: a slightly "nicer" trainer thread lets the GUI thread preempt it at once when it
        # wakes (measured: p99 lateness ~37 -> ~20 ms on the shared 2-core machine); no cost when idle.
        self.nice = nice if nice is not None else int(os.environ.get("CNNSTUDIO_WORKER_NICE", WORKER_NICE))
        self.source = source
        # While the GUI is up, leave it a core: BLAS gets at most cores-1 threads.
        self.blas_threads = blas_threads if blas_threads is not None else max(1, (os.cpu_count() or 2) - 1)
        self.steps: collections.deque[StepRecord] = collections.deque()  # drained by the GUI
        self.steps_done = 0
        self.epochs_done = 0
        self._cond = threading.Condition()
        self._paused = start_paused
        self._stop = False
        self._step_budget = 0           # >0: run this many batches, then pause
        self._commands: list[Callable[[], object]] = []
        self.preview_interval_s = preview_interval_s  # None: no mid-epoch weights
        self.previews_sent = 0
        self._preview_wait = preview_interval_s or 0.0
        self._last_preview: float | None = None
        self._last_global_step: int | None = None

    # ---- controls (GUI thread; pause also from the worker thread: a health rule) -----------
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

    def call_in_worker(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the worker thread before the next batch (also while paused)."""
        with self._cond:
            self._commands.append(fn)
            self._cond.notify_all()

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
                reason = self._pump(self.source.reports())
        except Exception as exc:  # noqa: BLE001 - every failure goes to the GUI, with its type
            self.failed.emit(_describe(exc))
            reason = "error"
        self.finished.emit(reason)

    def _pump(self, gen: Iterator[StepRecord | EpochDone]) -> str:
        finish_epoch = False  # the last batch of an epoch was stepped: also pull its EpochDone
        while True:
            if not finish_epoch and not self._wait_until_runnable():
                gen.close()  # type: ignore[attr-defined]
                return "stopped"
            try:
                item = next(gen)
            except StopIteration:
                self._run_commands()
                return "stopped" if self._stop else "completed"
            if isinstance(item, EpochDone):
                finish_epoch = False
                self.epochs_done += 1
                self.epochFinished.emit(item)
            else:
                finish_epoch = self._on_step(item)

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

    def _on_step(self, record: StepRecord) -> bool:
        """Buffer one batch record; True when it was the last batch of its epoch."""
        self.steps.append(record)
        self.steps_done += 1
        self._last_global_step = record["global_step"]
        self._maybe_preview(record)
        with self._cond:
            if self._step_budget > 0:
                self._step_budget -= 1
                if self._step_budget == 0:
                    self._paused = True
        return bool(record["step_in_epoch"] + 1 >= record["steps_per_epoch"])

    def _maybe_preview(self, record: dict[str, Any], force: bool = False) -> None:
        """Emit a host copy of the weights when the throttle allows (first after one batch) or ``force``."""
        if self.preview_interval_s is None:
            return
        now = time.perf_counter()
        if not force and self._last_preview is not None and now - self._last_preview < self._preview_wait:
            return
        weights = self.source.network.get_weights()  # host copies: later steps cannot change what the GUI holds
        cost = time.perf_counter() - now
        # Copying costs time the trainer would spend learning: a big network waits longer.
        self._preview_wait = max(self.preview_interval_s, PREVIEW_COST_FACTOR * cost)
        self._last_preview = time.perf_counter()
        self.previews_sent += 1
        self.weightsPreview.emit({"weights": weights, "global_step": record.get("global_step")})


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    loc = f" (in {where[0].name}, {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{loc}"


def _lower_thread_priority(nice: int) -> None:
    """Raise this thread's nice value (Linux: per thread), so the GUI thread wins the CPU when it wakes."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, tid := threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:  # not permitted or not supported: training still runs, at normal priority
        pass
