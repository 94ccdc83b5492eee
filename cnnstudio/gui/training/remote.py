"""The app's training run in a process of its own: the GUI process only draws.

:class:`ProcessRun` stands where the in-process ``project.run.Run`` stands for the controller
(history, health issues, planned steps, the controls), with the run itself in a
``project.trainproc.TrainingProcess``. :class:`ProcessWorker` has ``TrainingWorker``'s
signals, buffer and controls: a reader thread receives the child's messages (it spends its
time blocked on the socket, not holding the GUI's GIL), buffers batch records for the
controller's 20 Hz drain and emits the rest as signals, queued to the GUI thread.

When the child dies (killed, out of memory, a crash) the socket reaches EOF without a
``finished``: the worker emits ``failed`` with how it ended and ``finished("error")``.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from cnnstudio.project import wire
from cnnstudio.project.run import EpochDone, EpochRecord, LrChange, Run, RunHistory, StepRecord
from cnnstudio.project.trainchild import issue_from_json
from cnnstudio.project.trainproc import TrainingProcess


class ProcessRun:
    """One run in a training process, as the controller sees it.

    ``local``: the in-process ``Run`` built to check the setup (its bookkeeping gives the
    starting history and step counts; its trainer never trains). The process stays up after
    the run finishes, so +1 epoch goes on where it left off; ``close`` ends it.
    """

    trainer = None   # the engine Trainer lives in the child

    def __init__(self, local: Run, process: TrainingProcess):
        self.process = process
        self.local = local   # its history is the app's copy: the child's reports are added to it
        self.steps_per_epoch = int(local.trainer.steps_per_epoch)
        self.step_offset = local.step_offset
        self.epoch_offset = local.epoch_offset
        self._epochs = int(local.trainer.epochs)
        self.issues: collections.deque[Any] = collections.deque()
        self.lr = float(local.trainer.current_lr())
        self.epochs_done_here = 0
        self.workers: int | None = None     # what the child reported it runs on
        self.processes: bool | None = None

    @property
    def history(self) -> RunHistory:
        return self.local.history

    # ---- the child's reports into the app's copy of the run's bookkeeping (reader thread) ------
    def add_steps(self, records: list[StepRecord]) -> None:
        curve = getattr(self.local.history, "batches", None)   # per-batch curves (project.runs), where kept
        record = getattr(self.local, "record", None)
        for rec in records:
            if curve is not None:
                curve.append(rec["global_step"], rec["loss"], rec["accuracy"], rec.get("lr"))
            if record is not None:
                record.curve.append(rec["global_step"], rec["loss"], rec["accuracy"], rec.get("lr"))
            self.lr = float(rec.get("lr", self.lr))

    def add_epoch(self, record: EpochRecord, weights: dict[str, Any]) -> None:
        self.local.history.epochs.append(record)
        self.epochs_done_here += 1
        run_record = getattr(self.local, "record", None)
        if run_record is not None:
            run_record.note_epoch(record.to_dict(), weights)

    def add_lr_changes(self, changes: list[dict[str, Any]]) -> None:
        run_record = getattr(self.local, "record", None)
        for i, change in enumerate(changes):
            self.local.history.lr_changes.append(LrChange.from_dict(change, i))
            if run_record is not None:
                run_record.lr_changes.append(dict(change))

    @property
    def planned_steps(self) -> int:
        return self.step_offset + self._epochs * self.steps_per_epoch

    def current_lr(self) -> float:
        return self.lr

    @property
    def alive(self) -> bool:
        return not self.process.closed and not self.process.ended and self.process.alive

    # ---- controls (forwarded; the child runs them between batches) ------------------------
    def add_epochs(self, n: int = 1) -> None:
        self._epochs += int(n)
        self.process.send("add_epochs", {"n": int(n)})

    def set_lr(self, lr: float) -> None:
        self.process.send("set_lr", {"lr": float(lr)})

    def set_augmentation(self, changes: dict[str, Any]) -> None:
        self.process.send("set_augmentation", changes)

    def restore_last_good(self, lr: float) -> None:
        self.process.send("restore_last_good", {"lr": float(lr)})

    def close(self) -> None:
        self.process.close()


class ProcessWorker(QObject):
    """``TrainingWorker``'s interface over a ``ProcessRun``: ``start()`` instead of a QThread."""

    epochFinished = pyqtSignal(object)
    pausedChanged = pyqtSignal(bool)
    weightsPreview = pyqtSignal(object)
    failed = pyqtSignal(str)
    finished = pyqtSignal(str)

    def __init__(self, run: ProcessRun, start_paused: bool = False):
        super().__init__()
        self.run = run
        self.start_paused = start_paused
        self.steps: collections.deque[StepRecord] = collections.deque()
        self.steps_done = 0
        self.epochs_done = 0
        self.previews_sent = 0
        self._paused = start_paused
        self._thread: threading.Thread | None = None

    # ---- controls -------------------------------------------------------------------------
    def pause(self) -> None:
        self._paused = True
        self.run.process.send("pause")

    def resume(self) -> None:
        self._paused = False
        self.run.process.send("resume")

    def step(self, n: int = 1) -> None:
        self._paused = False
        self.run.process.send("step", {"n": int(n)})

    def stop(self) -> None:
        self.run.process.send("stop")

    @property
    def is_paused(self) -> bool:
        return self._paused

    # ---- the reader -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._read, name="trainingProcessReader", daemon=True)
        self._thread.start()
        self.run.process.send("continue", {"paused": self.start_paused})   # a dead child: the reader says so

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the reader to end (the run finished or the child died); True when it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _read(self) -> None:
        process = self.run.process
        while True:
            msg = process.receive()
            if msg is None:
                how = process.exit_description()
                self.failed.emit(f"TrainingProcessError: the training process (pid {process.pid}) stopped "
                                 f"unexpectedly: {how}. Completed epochs are kept; press Start or "
                                 "Continue to train again.")
                self.finished.emit("error")
                return
            if self._dispatch(msg):
                return

    def _dispatch(self, msg: wire.Message) -> bool:
        """Handle one message; True at the end of the run."""
        data = msg.data or {}
        kind = msg.kind
        if kind == "steps":
            for rec in data["records"]:
                if "layer_stats" in rec:   # JSON keys are strings; the views index layers by int
                    rec["layer_stats"] = {int(k): v for k, v in rec["layer_stats"].items()}
            self.run.add_steps(data["records"])
            self.steps.extend(data["records"])
            self.steps_done += len(data["records"])
        elif kind == "epoch":
            arrays = msg.arrays
            done = EpochDone(EpochRecord.from_dict(data["record"]), wire.copies(arrays.get("weights", {})),
                             wire.copies(arrays.get("optimizer_state", {})))
            self.run.add_lr_changes(data.get("lr_changes") or [])
            self.run.add_epoch(done.record, done.weights)
            self.epochs_done += 1
            self.epochFinished.emit(done)
        elif kind == "preview":
            self.previews_sent += 1
            self.weightsPreview.emit({"weights": wire.copies(msg.arrays.get("weights", {})),
                                      "global_step": data.get("global_step")})
        elif kind == "paused":
            self._paused = bool(data["paused"])
            self.pausedChanged.emit(self._paused)
        elif kind == "issues":
            self.run.issues.extend(issue_from_json(i) for i in data["issues"])
        elif kind == "history":
            self.run.add_lr_changes(data.get("lr_changes") or [])
            self.run.lr = float(data.get("lr", self.run.lr))
        elif kind == "ready":
            self.run.workers = int(data.get("workers", 1))
            self.run.processes = bool(data.get("processes"))
        elif kind == "failed":
            self.failed.emit(str(data.get("message")))
        elif kind == "finished":
            self.run.add_lr_changes(data.get("lr_changes") or [])
            self.finished.emit(str(data.get("reason", "completed")))
            return True
        return False
