"""TrainingController: one training run in the app, between the panel and the worker.

It prepares the run (datasets, trainer) from the AppState's network and a
TrainingConfig, owns the QThread and its TrainingWorker, drains the worker's
batch records at 20 Hz into the plots and the progress display, keeps the run's
history (per-epoch metrics, hyperparameters, dataset, LR changes) and writes the
weights and history into the AppState after every epoch, so Stop, a crash or
closing the window loses at most the current epoch. No widgets here.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Callable

from PyQt6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, pyqtSignal

from cnnstudio.engine import health
from cnnstudio.engine.health import HealthMonitor
from cnnstudio.gui.training import runtools as hist
from cnnstudio.gui.training.worker import PREVIEW_INTERVAL_S, TrainingWorker

DRAIN_MS = 50  # 20 Hz: the GUI reads only the latest buffered batches

#: controllers with a worker thread: a QThread destroyed while running aborts the process,
#: so the app (aboutToQuit) and the tests stop them all before anything is torn down.
_WITH_THREAD: "weakref.WeakSet[TrainingController]" = weakref.WeakSet()


def shutdown_all(timeout_ms: int = 30000) -> None:
    """Stop every training run that still has a worker thread and wait for it."""
    for controller in list(_WITH_THREAD):
        controller.shutdown(timeout_ms)


class TrainingSetupError(Exception):
    """The run cannot start (network does not fit the data, bad file, ...). The message says why."""


class TrainingController(QObject):
    """Start/pause/resume/step/stop a run on ``state.spec``; signals for the panel."""

    runningChanged = pyqtSignal(bool)     # a worker thread exists (running or paused)
    pausedChanged = pyqtSignal(bool)
    progress = pyqtSignal(object)         # dict: latest step record + run totals (for progress bars)
    epochFinished = pyqtSignal(object)    # dict: the epoch record (no weights)
    finished = pyqtSignal(str)            # "completed" | "stopped" | "error"
    failed = pyqtSignal(str)
    healthIssues = pyqtSignal(object)     # list[HealthIssue]
    lrChanged = pyqtSignal(float)         # the LR the run uses now (a fix may change it)
    augmentationChanged = pyqtSignal(bool)
    message = pyqtSignal(str)             # a short note for the status line

    def __init__(self, state: Any, plots: Any = None, parent: QObject | None = None,
                 trainer_factory: Callable[..., Any] | None = None):
        super().__init__(parent)
        self.state = state
        self.plots = plots
        self.trainer_factory = trainer_factory or hist.make_trainer
        app = QCoreApplication.instance()
        if app is not None:  # quitting with a run going: stop it before Qt tears the thread down
            app.aboutToQuit.connect(self.shutdown)
        self.thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.trainer: Any = None
        self.config: Any = None
        self.datasets: tuple[Any, Any] | None = None
        self.history: dict = hist.new_history()
        self.total_steps = 0      # planned batches of the run (grows with +1 epoch)
        self.step_offset = 0      # batches before this worker (continued runs)
        self.epoch_offset = 0
        self._initial_weights: dict | None = None
        self._monitor: HealthMonitor | None = None
        self._spec: Any = None  # the network the current trainer was built from
        self._last_step: dict | None = None
        self.preview_interval_s: float | None = PREVIEW_INTERVAL_S  # mid-epoch weights for live views
        self._started = 0.0
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_MS)
        self._drain.timeout.connect(self.drain)

    # ---- state -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None

    @property
    def last_step(self) -> dict | None:
        """The newest batch record the GUI has drained (global_step, loss, accuracy, lr, ...)."""
        return self._last_step

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.is_paused

    # ---- start ---------------------------------------------------------------------------
    def start(self, config: Any, continue_training: bool = False, paused: bool = False,
              datasets: tuple[Any, Any] | None = None) -> None:
        """Prepare and start a run; raises TrainingSetupError (with the explained problem) instead.

        ``datasets``: (train, val) to use instead of loading ``config.dataset`` (tests, slices).
        """
        if self.running:
            raise TrainingSetupError("A run is already in progress: stop it first")
        spec = self.state.spec
        weights = self.state.weights if continue_training else None
        extra = {}
        if continue_training and hist.resumable_optimizer_state(self.state, config):
            extra["optimizer_state"] = self.state.optimizer_state  # Adam's moments / SGD's momentum go on
        if datasets is None and continue_training:
            datasets = self.datasets
        try:
            train, val = hist.prepare_data(config, spec, datasets)
            trainer = self.trainer_factory(spec, train, val, config, weights=weights, **extra)
        except Exception as exc:  # noqa: BLE001 - the explained error goes to a dialog
            raise TrainingSetupError(str(exc)) from exc
        self.history = hist.new_history(config, train, val)
        if continue_training:  # a reopened project: its epochs stay, new ones follow
            old = hist.saved_history(self.state) or {}
            self.history["epochs"] = list(old.get("epochs", []))
            self.history["lr_changes"] = list(old.get("lr_changes", []))
        self.epoch_offset = len(self.history["epochs"])
        self.step_offset = self.history["epochs"][-1].get("global_step", 0) if self.history["epochs"] else 0
        if self.plots is not None:
            self.plots.load_history(self.history["epochs"])
        self.config, self.trainer, self.datasets = config, trainer, (train, val)
        self._spec = spec.copy() if hasattr(spec, "copy") else spec
        self._initial_weights = trainer.network.get_weights()
        self.total_steps = self.step_offset + hist.planned_steps(trainer)
        self._monitor = HealthMonitor([layer.type for layer in spec.layers], num_classes=train.num_classes,
                                      augmenting=bool(getattr(config, "augment", False)))
        self._launch(TrainingWorker(trainer, self._monitor, start_paused=paused, step_offset=self.step_offset))

    def _launch(self, worker: TrainingWorker) -> None:
        self.thread = QThread(self)
        self.thread.setObjectName("trainingThread")
        self.worker = worker
        worker.preview_interval_s = self.preview_interval_s
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and the GUI thread may be blocked in wait() (shutdown).
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        worker.epochFinished.connect(self._on_epoch)
        worker.weightsPreview.connect(self._on_preview)
        worker.pausedChanged.connect(self._on_paused)
        worker.healthIssues.connect(self._on_issues)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._started = time.perf_counter()
        self.state.set_training(True)
        _WITH_THREAD.add(self)
        self.thread.start()
        self._drain.start()
        self.runningChanged.emit(True)

    def forget_run(self) -> None:
        """Drop the finished run's trainer (another project was opened); nothing to continue."""
        if not self.running:
            self.trainer = self.config = self.datasets = self._spec = None

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
        """+1 epoch: forwarded to the running trainer; after a run ended, the same trainer goes on."""
        if self.trainer is None:
            raise TrainingSetupError("Nothing to continue: start a run first")
        if not self.running and self.state.spec != self._spec:
            raise TrainingSetupError("The network changed since the last run, so that run cannot go on: "
                                     "press Start to train the network as it is now")
        self.total_steps += self.trainer.steps_per_epoch
        if self.worker:
            self.worker.add_epochs(1)
            return
        # Trainer.run() continues exactly where it left off (optimizer state, step count).
        self.trainer.add_epochs(1)
        self._launch(TrainingWorker(self.trainer, self._monitor, step_offset=self.step_offset))

    def set_lr(self, lr: float) -> None:
        """Takes effect at the next batch; recorded in the history with that batch's step."""
        lr = float(lr)
        self._config_lr(lr)
        if self.worker:
            worker = self.worker

            def apply() -> None:
                worker.trainer.set_lr(lr)
                self._record_lr(lr, worker)
            worker.call_in_worker(apply)
        self.lrChanged.emit(lr)

    def _config_lr(self, lr: float) -> None:
        if self.config is None:
            return
        try:
            self.config = hist.with_field(self.config, "lr", lr)
        except ValueError:  # outside the config's range; the trainer takes any finite lr > 0
            pass

    def _record_lr(self, lr: float, worker: TrainingWorker) -> None:
        # Runs in the worker thread: a list append is atomic, the GUI reads it later.
        trainer = worker.trainer
        step = worker.step_offset + int(getattr(trainer, "global_step", worker.steps_done))
        epoch = self.epoch_offset + int(getattr(trainer, "epoch", worker.epochs_done)) + 1  # 1-based
        self.history["lr_changes"].append({"epoch": epoch, "step": step, "lr": lr})

    def set_augmentation(self, enabled: bool, params: dict | None = None) -> None:
        """Turn augmentation on/off; takes effect at the next batch."""
        if self.config is not None:
            self.config = hist.with_field(self.config, "augment", bool(enabled))
        if self.worker:
            self.worker.set_batch_transform(hist.make_augmenter(self.config, params) if enabled else None)
            if self.worker.monitor is not None:
                self.worker.monitor.augmenting = bool(enabled)
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
        if not self.worker:
            return "No run to restore."
        worker, trainer = self.worker, self.trainer
        lr = float(new_lr or trainer.current_lr() / 2)  # the rate in use: a schedule may have lowered it
        good = getattr(trainer, "last_good_weights", None) or self._initial_weights
        done = int(getattr(trainer, "epoch", 0) or 0)  # epochs completed (the trainer keeps their weights)
        which = f"the weights after epoch {done}" if done and getattr(trainer, "last_good_weights", None) \
            else "the initial weights (no epoch had finished)"

        def apply() -> None:
            trainer.network.set_weights(good)
            optimizer = getattr(trainer, "optimizer", None)
            if optimizer is not None and hasattr(optimizer, "set_state"):
                optimizer.set_state({})  # NaN moments would poison the restored weights again
            trainer.set_lr(lr)
            self._record_lr(lr, worker)
            if worker.monitor is not None:
                worker.monitor.reset("nan")
        worker.call_in_worker(apply)
        self._config_lr(lr)
        self.lrChanged.emit(lr)
        return f"Restored {which} and halved the learning rate to {lr:.3g}. Press Resume to go on."

    # ---- worker events ----------------------------------------------------------------------
    def drain(self) -> None:
        """Move buffered batch records to the plots; publish the latest for progress bars."""
        if self.worker is None:
            return
        steps = self.worker.steps
        batch = [steps.popleft() for _ in range(len(steps))]
        if not batch:
            return
        if self.plots is not None:
            self.plots.add_steps(batch)
        self._last_step = batch[-1]
        self.progress.emit(self._progress(batch[-1]))

    def _progress(self, rec: dict) -> dict:
        done = (rec.get("global_step") or 0) + 1
        ips = rec.get("images_per_sec") or 0.0
        bs = rec.get("batch_size") or getattr(self.config, "batch_size", 64)
        remaining = max(0, self.total_steps - done)
        eta = remaining * bs / ips if ips > 0 else None
        return {**rec, "run_done": done, "run_total": self.total_steps, "eta_seconds": eta}

    def _on_epoch(self, record: dict) -> None:
        self.drain()  # the epoch's last batches first, so curves stay in order
        weights = record.pop("weights", None)
        optimizer_state = record.pop("optimizer_state", None)
        record["epoch"] += self.epoch_offset  # 1-based within this run; earlier runs of the project come first
        self.history["epochs"].append(record)
        if weights is not None:
            self.state.set_weights(weights, optimizer_state=optimizer_state)
        hist.store_history(self.state, self.history, self.config)
        if self.plots is not None:
            self.plots.add_epoch(record)
        self.epochFinished.emit(record)

    def _on_preview(self, preview: dict) -> None:
        # Queued from the worker: a preview that arrives after the run ended is stale.
        if self.worker is not None and self.state.training:
            self.state.set_live_weights(preview["weights"])

    def _on_paused(self, paused: bool) -> None:
        self.drain()
        self.pausedChanged.emit(paused)

    def _on_issues(self, issues: list) -> None:
        self.healthIssues.emit(issues)

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def _on_finished(self, reason: str) -> None:
        self.drain()
        self._drain.stop()
        thread = self.thread
        self.thread = self.worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        _WITH_THREAD.discard(self)
        hist.store_history(self.state, self.history, self.config)
        self.state.set_training(False)
        self.runningChanged.emit(False)
        self.finished.emit(reason)

    # ---- shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the worker and wait for its thread (window closing). True when it ended in time."""
        if self.thread is None:
            _WITH_THREAD.discard(self)
            return True
        self.worker.stop()
        thread = self.thread
        ok = thread.wait(timeout_ms)  # the worker stops after its current batch
        # finished() was queued to this thread: deliver it now so history and state are final.
        QCoreApplication.sendPostedEvents(self)
        QCoreApplication.processEvents()
        if self.thread is thread:  # the queued signal did not arrive (timeout): tidy up anyway
            self._on_finished("stopped")
        return bool(ok)
