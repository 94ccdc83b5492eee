"""TrainingController: one training run in the app, between the panel and the worker.

It prepares the run (datasets, a ``project.run.Run`` over the engine Trainer) from the
AppState's network and a TrainingConfig, owns the QThread and its TrainingWorker, drains the
worker's batch records and the run's health issues at 20 Hz into the plots and the progress
display, and writes the weights and the run's history into the workspace after every epoch,
so Stop, a crash or closing the window loses at most the current epoch. The bookkeeping
(epoch records, offsets of a continued run, LR changes, health rules) is the Run's, shared
with the CLI. No widgets here.

The run trains in a process of its own (``remote.ProcessRun`` over
``project.trainproc.TrainingProcess``, the default: the GUI's interpreter only draws) or, with
``out_of_process`` False, in a QThread here (``worker.TrainingWorker`` pumping the Run). The
in-process path is kept for the GUI tests that reach into the live Trainer (call_in_worker with
Python callables, ``controller.trainer``); set ``CNNSTUDIO_TRAIN_IN_PROCESS=1`` to choose it.
"""

from __future__ import annotations

import os
import time
import weakref
from typing import Any

from PyQt6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, pyqtSignal
from threadpoolctl import threadpool_limits

from cnnstudio.engine import health
from cnnstudio.engine.health import HealthMonitor
from cnnstudio.engine.trainer import Trainer
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training import runtools as hist
from cnnstudio.gui.training.plots import TrainingPlots
from cnnstudio.gui.training.remote import ProcessRun, ProcessWorker
from cnnstudio.gui.training.worker import PREVIEW_INTERVAL_S, TrainingWorker
from cnnstudio.model import NetworkSpec, TrainingConfig
from cnnstudio.project.run import EpochDone, Run, StepRecord
from cnnstudio.project.trainproc import TrainingProcess
from cnnstudio.project.workspace import DatasetPair, TrainingStatus

DRAIN_MS = 100  # 10 Hz (the plots' rate): the GUI reads only the latest buffered batches
#: BLAS threads in the GUI process while a training process runs (the child has the cores)
GUI_BLAS_THREADS = 1

#: controllers with a worker thread: a QThread destroyed while running aborts the process,
#: so the app (aboutToQuit) and the tests stop them all before anything is torn down.
_WITH_THREAD: "weakref.WeakSet[TrainingController]" = weakref.WeakSet()
#: ... and controllers with a training process (running or idle after a run, for +1 epoch)
_WITH_PROCESS: "weakref.WeakSet[TrainingController]" = weakref.WeakSet()


def out_of_process_default() -> bool:
    """The app trains in a process of its own unless CNNSTUDIO_TRAIN_IN_PROCESS is set (tests)."""
    return os.environ.get("CNNSTUDIO_TRAIN_IN_PROCESS", "").strip() in ("", "0")


def shutdown_all(timeout_ms: int = 30000) -> None:
    """Stop every training run that still has a worker thread or process and wait for it."""
    for controller in list(_WITH_THREAD) + list(_WITH_PROCESS):
        controller.shutdown(timeout_ms)


class TrainingSetupError(Exception):
    """The run cannot start (network does not fit the data, bad file, ...). The message says why."""


class TrainingController(QObject):
    """Start/pause/resume/step/stop a run on ``state.spec``; signals for the panel."""

    runningChanged = pyqtSignal(bool)     # a worker thread exists (running or paused)
    pausedChanged = pyqtSignal(bool)
    progress = pyqtSignal(object)         # dict: latest step record + run totals (for progress bars)
    epochFinished = pyqtSignal(object)    # dict: the epoch record (project-file JSON, no weights)
    finished = pyqtSignal(str)            # "completed" | "stopped" | "error"
    failed = pyqtSignal(str)
    healthIssues = pyqtSignal(object)     # list[HealthIssue]
    lrChanged = pyqtSignal(float)         # the LR the run uses now (a fix may change it)
    augmentationChanged = pyqtSignal(bool)
    message = pyqtSignal(str)             # a short note for the status line

    def __init__(self, state: AppState, plots: TrainingPlots | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.plots = plots
        app = QCoreApplication.instance()
        if app is not None:  # quitting with a run going: stop it before Qt tears the thread down
            app.aboutToQuit.connect(self.shutdown)
        self.worker_thread: QThread | None = None
        self.worker: TrainingWorker | ProcessWorker | None = None
        self.run: Run | ProcessRun | None = None
        self.out_of_process = out_of_process_default()
        self._blas_limit: Any = None   # threadpoolctl's limit while a training process runs
        self.config: TrainingConfig | None = None  # the run's settings, with the live LR/augmentation
        self.datasets: DatasetPair | None = None
        self.total_steps = 0      # planned batches of the run, earlier runs included (grows with +1 epoch)
        self._spec: NetworkSpec | None = None  # the network the current run was built from
        self._last_step: StepRecord | None = None
        self.preview_interval_s: float | None = PREVIEW_INTERVAL_S  # mid-epoch weights for live views
        self._started = 0.0
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_MS)
        self._drain.timeout.connect(self.drain)

    # ---- state -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def trainer(self) -> Trainer | None:
        """The engine Trainer of the current (or last) in-process run, or None (also when the run
        trains in a process of its own)."""
        return self.run.trainer if self.run is not None else None

    def current_lr(self) -> float | None:
        """The learning rate the run uses now (the latest a batch reported, out of process)."""
        run = self.run
        if run is None:
            return None
        return run.current_lr() if isinstance(run, ProcessRun) else run.trainer.current_lr()

    def _steps_per_epoch(self) -> int:
        run = self.run
        assert run is not None
        return run.steps_per_epoch if isinstance(run, ProcessRun) else run.trainer.steps_per_epoch

    @property
    def history(self) -> dict[str, Any]:
        """The run's history as the project file writes it (plain JSON, for display; the typed
        one is ``run.history``); without a run, the open project's."""
        return (self.run.history if self.run is not None else self.state.history).to_dict()

    @property
    def last_step(self) -> StepRecord | None:
        """The newest batch record the GUI has drained (global_step, loss, accuracy, lr, ...)."""
        return self._last_step

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.is_paused

    # ---- start ---------------------------------------------------------------------------
    def start(self, config: TrainingConfig, continue_training: bool = False, paused: bool = False,
              datasets: DatasetPair | None = None) -> None:
        """Prepare and start a run; raises TrainingSetupError (with the explained problem) instead.

        ``datasets``: (train, val) to use instead of loading ``config.dataset`` (tests, slices).
        ``continue_training``: from the project's weights (and optimizer state, same optimizer
        kind); its epochs stay in the history and new ones follow.
        """
        if self.running:
            raise TrainingSetupError("A run is already in progress: stop it first")
        spec = self.state.spec
        weights = self.state.weights if continue_training else None
        optimizer_state = None
        if continue_training and hist.resumable_optimizer_state(self.state, config):
            optimizer_state = self.state.optimizer_state  # Adam's moments / SGD's momentum go on
        if datasets is None and continue_training:
            datasets = self.datasets
        try:
            train, val = hist.prepare_data(config, spec, datasets)
            prepared = hist.prepare_run(spec, train, val, config, weights=weights, optimizer_state=optimizer_state)
        except Exception as exc:  # noqa: BLE001 - the explained error goes to a dialog
            raise TrainingSetupError(str(exc)) from exc
        monitor = HealthMonitor([layer.type for layer in spec.layers], num_classes=train.num_classes,
                                augmenting=config.augment, val_size=len(val) if val is not None else None)
        previous = self.state.history if continue_training else None
        self._close_process()
        if self.out_of_process:
            # The setup above checked the network and data here (errors go to a dialog); the run
            # itself is rebuilt from the same settings in its own process.
            local = Run(prepared, previous)
            workers: int | str = config.workers if config.workers == "auto" else int(config.workers)
            try:
                process = TrainingProcess(spec, config, train, val, weights=weights, optimizer_state=optimizer_state,
                                          previous=previous.to_dict() if previous is not None else None,
                                          workers=workers, preview_interval_s=self.preview_interval_s)
            except Exception as exc:  # noqa: BLE001 - cannot start a process: the message says why
                raise TrainingSetupError(f"The training process could not start: {exc}") from exc
            self.run = ProcessRun(local, process)
            _WITH_PROCESS.add(self)
        else:
            self.run = Run(prepared, previous, monitor)
        if self.plots is not None:
            self.plots.load_history([e.to_dict() for e in self.run.history.epochs],
                                    steps=self.run.history.batches.records())   # a continued run's batches stay
        self.config, self.datasets = config, (train, val)
        self._spec = spec.copy()
        self.total_steps = self.run.planned_steps
        self._launch(start_paused=paused)

    def _launch(self, start_paused: bool = False) -> None:
        assert self.run is not None
        if isinstance(self.run, ProcessRun):
            self._launch_process(self.run, start_paused)
            return
        worker = TrainingWorker(self.run, start_paused=start_paused, preview_interval_s=self.preview_interval_s)
        self.run.request_pause = worker.pause  # a health rule (NaN) pauses before the next batch
        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("trainingThread")
        self.worker = worker
        worker.moveToThread(self.worker_thread)
        self.worker_thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and the GUI thread may be blocked in wait() (shutdown).
        worker.finished.connect(self.worker_thread.quit, Qt.ConnectionType.DirectConnection)  # type: ignore[call-arg]  # PyQt6's stubs omit connect's connection type
        self._follow(worker, start_paused)
        _WITH_THREAD.add(self)
        self.worker_thread.start()
        self._drain.start()
        self.runningChanged.emit(True)

    def _launch_process(self, run: ProcessRun, start_paused: bool) -> None:
        if not run.alive:
            raise TrainingSetupError("The training process of the last run has ended, so that run cannot go on: "
                                     "press Start to train again (Continue goes on from the saved weights)")
        worker = ProcessWorker(run, start_paused=start_paused)
        self.worker = worker
        # queued: the worker emits from its reader thread; the slots run in the GUI thread
        self._follow(worker, start_paused)
        _WITH_PROCESS.add(self)
        # The GUI's own inference (feature maps from the live weights) runs with one BLAS thread while
        # the child trains, as it did beside the in-process worker (threadpoolctl's limits are per
        # process): OpenBLAS threads that spin after a GEMM took the child's and the GUI thread's cores.
        self._blas_limit = threadpool_limits(limits=GUI_BLAS_THREADS, user_api="blas")
        worker.start()
        self._drain.start()
        self.runningChanged.emit(True)

    def _follow(self, worker: TrainingWorker | ProcessWorker, start_paused: bool) -> None:
        """Connect a worker's reports (thread or process: the same signals) and mark the run started."""
        worker.epochFinished.connect(self._on_epoch)
        worker.weightsPreview.connect(self._on_preview)
        worker.pausedChanged.connect(self._on_paused)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._started = time.perf_counter()
        self.state.set_status(TrainingStatus.PAUSED if start_paused else TrainingStatus.RUNNING)

    def _close_process(self) -> None:
        """End the training process of the previous run, if any (it waits for +1 epoch after a run)."""
        if isinstance(self.run, ProcessRun):
            self.run.close()
        _WITH_PROCESS.discard(self)

    def forget_run(self) -> None:
        """Drop the finished run (another project was opened); nothing to continue."""
        if not self.running:
            self._close_process()
            self.run = None
            self.config = self.datasets = self._spec = None

    # ---- controls -------------------------------------------------------------------------
    def pause(self) -> None:
        if self.worker:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker:
            self.worker.resume()

    def step(self) -> None:
        """Exactly one batch, then pause."""
        if self.worker:
            self.worker.step(1)

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()

    def add_epoch(self) -> None:
        """+1 epoch: forwarded to the running trainer; after a run ended, the same run goes on."""
        run = self.run
        if run is None:
            raise TrainingSetupError("Nothing to continue: start a run first")
        if not self.running and self.state.spec != self._spec:
            raise TrainingSetupError("The network changed since the last run, so that run cannot go on: "
                                     "press Start to train the network as it is now")
        if isinstance(run, ProcessRun) and not self.running and not run.alive:
            self._launch_process(run, False)   # raises the explained error
        self.total_steps += self._steps_per_epoch()
        if isinstance(run, ProcessRun):
            run.add_epochs(1)
            if not self.running:
                self._launch()
            return
        if isinstance(self.worker, TrainingWorker):
            self.worker.call_in_worker(lambda: run.add_epochs(1))
            return
        # Trainer.run() continues exactly where it left off (optimizer state, step count).
        run.add_epochs(1)
        self._launch()

    def set_lr(self, lr: float) -> None:
        """Takes effect at the next batch; recorded in the history with that batch's step."""
        lr = float(lr)
        self._config_lr(lr)
        if self.worker and isinstance(self.run, ProcessRun):
            self.run.set_lr(lr)
        elif isinstance(self.worker, TrainingWorker) and self.run is not None:
            run = self.run
            self.worker.call_in_worker(lambda: run.set_lr(lr))
        self.lrChanged.emit(lr)

    def _config_lr(self, lr: float) -> None:
        """The run's settings and the workspace's follow a changed rate (one the config can hold)."""
        if self.config is None:
            return
        try:
            self.config = hist.with_field(self.config, "lr", lr)
            self.state.update_training_config(lr=lr)
        except ValueError:  # outside the config's range; the trainer takes any finite lr > 0
            pass

    def set_augmentation(self, enabled: bool, params: dict[str, Any] | None = None) -> None:
        """Turn augmentation on/off (``params``: the Augmenter's settings, else the config's);
        takes effect at the next batch."""
        changes = {**(params or {}), "augment": bool(enabled)}
        if self.config is not None:
            self.config = hist.with_fields(self.config, changes)
        self.state.update_training_config(**changes)  # the form and the Dataset panel show it
        if self.worker and isinstance(self.run, ProcessRun):
            self.run.set_augmentation(changes)
        elif isinstance(self.worker, TrainingWorker) and self.run is not None and self.config is not None:
            run, fn = self.run, hist.make_augmenter(self.config) if enabled else None
            self.worker.call_in_worker(lambda: run.set_batch_transform(fn))
        self.augmentationChanged.emit(bool(enabled))

    # ---- health fixes ---------------------------------------------------------------------
    def apply_fix(self, fix: health.Fix) -> str:
        """Carry out a health fix; returns what was done (for the status line)."""
        if fix.action == health.RESTORE_AND_HALVE_LR:
            return self._restore_and_halve(fix.params.get("lr"))
        if fix.action == health.SET_LR:
            self.set_lr(fix.params["lr"])
            return f"Learning rate set to {fix.params['lr']:.3g} from the next batch."
        if fix.action == health.ENABLE_AUGMENTATION:
            self.set_augmentation(True)
            return "Data augmentation is on from the next batch."
        if fix.needs_stopped and self.running:
            return "Stop training first: the network cannot be edited while it trains."
        return hist.edit_network(self.state, fix)

    def _restore_and_halve(self, new_lr: float | None) -> str:
        if not self.worker or self.run is None:
            return "No run to restore."
        run = self.run
        lr = float(new_lr or (self.current_lr() or 0.0) / 2)  # the rate in use: a schedule may have lowered it
        done = run.epochs_done_here  # epochs completed (the trainer keeps their weights)
        which = f"the weights after epoch {done}" if done else "the initial weights (no epoch had finished)"
        if isinstance(run, ProcessRun):
            run.restore_last_good(lr)
        elif isinstance(self.worker, TrainingWorker):
            in_process = run
            self.worker.call_in_worker(lambda: in_process.restore_last_good(lr))
        self._config_lr(lr)
        self.lrChanged.emit(lr)
        return f"Restored {which} and halved the learning rate to {lr:.3g}. Press Resume to go on."

    # ---- worker events ----------------------------------------------------------------------
    def drain(self) -> None:
        """Move buffered batch records to the plots; publish the latest for progress bars and
        the run's new health issues."""
        if self.worker is None:
            return
        steps = self.worker.steps
        batch = [steps.popleft() for _ in range(len(steps))]
        if batch:
            if self.plots is not None:
                self.plots.add_steps(batch)
            self._last_step = batch[-1]
            self.progress.emit(self._progress(batch[-1]))
        self._drain_issues()

    def _drain_issues(self) -> None:
        if self.run is None:
            return
        issues = self.run.issues
        found = [issues.popleft() for _ in range(len(issues))]
        if found:
            self.healthIssues.emit(found)

    def _progress(self, rec: StepRecord) -> dict[str, Any]:
        done = rec["global_step"] + 1
        ips = rec.get("images_per_sec") or 0.0
        bs = rec.get("batch_size") or (self.config.batch_size if self.config is not None else 64)
        remaining = max(0, self.total_steps - done)
        eta = remaining * bs / ips if ips > 0 else None
        return {**rec, "run_done": done, "run_total": self.total_steps, "eta_seconds": eta}

    def _on_epoch(self, done: EpochDone) -> None:
        self.drain()  # the epoch's last batches first, so curves stay in order
        self.state.set_weights(done.weights, optimizer_state=done.optimizer_state)
        self._store_history()
        record = done.record.to_dict()
        if self.plots is not None:
            self.plots.add_epoch(record)
        self.epochFinished.emit(record)

    def _store_history(self) -> None:
        if self.run is not None:  # a copy: the worker thread goes on appending to the run's own
            self.state.set_history(self.run.history.copy())

    def _on_preview(self, preview: dict[str, Any]) -> None:
        # Queued from the worker: a preview that arrives after the run ended is stale.
        if self.worker is not None and self.state.training:
            self.state.set_live_weights(preview["weights"])

    def _on_paused(self, paused: bool) -> None:
        self.drain()
        if self.worker is not None:
            self.state.set_status(TrainingStatus.PAUSED if paused else TrainingStatus.RUNNING)
        self.pausedChanged.emit(paused)

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def _on_finished(self, reason: str) -> None:
        self.drain()
        self._drain.stop()
        limit, self._blas_limit = self._blas_limit, None
        if limit is not None:
            limit.restore_original_limits()
        thread = self.worker_thread
        self.worker_thread = self.worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        _WITH_THREAD.discard(self)
        self._store_history()
        self.state.set_status(TrainingStatus.IDLE)
        self.runningChanged.emit(False)
        self.finished.emit(reason)

    # ---- shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the worker and wait for its thread (window closing). True when it ended in time.
        A training process ends too (the run cannot go on after this)."""
        if isinstance(self.worker, ProcessWorker):
            worker = self.worker
            worker.stop()
            ok = worker.wait(timeout_ms / 1000)
            QCoreApplication.sendPostedEvents(self)
            QCoreApplication.processEvents()
            if self.worker is worker:   # the queued finished did not arrive (timeout): tidy up anyway
                self._on_finished("stopped")
            self._close_process()
            return ok
        if self.worker_thread is None or self.worker is None:
            _WITH_THREAD.discard(self)
            self._close_process()
            return True
        self.worker.stop()
        thread = self.worker_thread
        ok = thread.wait(timeout_ms)  # the worker stops after its current batch
        # finished() was queued to this thread: deliver it now so history and state are final.
        QCoreApplication.sendPostedEvents(self)
        QCoreApplication.processEvents()
        if self.worker_thread is thread:  # the queued signal did not arrive (timeout): tidy up anyway
            self._on_finished("stopped")
        return bool(ok)
