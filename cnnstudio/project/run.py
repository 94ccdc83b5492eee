"""One training run, shared by the CLI and the app: the typed run history and its bookkeeping. No Qt.

The history is what a project file keeps about training (``project.json``'s ``history``):
per-epoch records, learning-rate changes, the hyperparameters the run started with, the
dataset it trained on and the number of the run the current weights come from (``run``).
:class:`RunHistory` is its typed form; ``to_dict``/``from_dict`` are the file's plain JSON:
keys this version does not know are kept as read (``extra``) and written back. It also
carries, not in that JSON, the per-batch curves behind the current weights (``batches``)
and the record of the run that wrote it (``current``, a ``project.runs.RunRecord``): the
workspace files that record into the project's runs list whenever a history is stored.

:class:`Run` owns one run: a prepared ``session.TrainingRun`` (network, optimizer, engine
Trainer) and its history. ``reports()`` pumps the Trainer's generator and does the
bookkeeping (epoch records numbered across continued runs, global steps with the offset of
the earlier runs, health rules); the CLI iterates it in a loop, the app's Qt worker pumps it
in a thread. Everything it yields is plain Python or host NumPy arrays.
"""

from __future__ import annotations

import collections
import math
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from cnnstudio.data import Dataset
from cnnstudio.engine.health import HealthIssue, HealthMonitor, layer_stats_of
from cnnstudio.engine.network import Network
from cnnstudio.engine.trainer import EpochReport, StepReport, Trainer
from cnnstudio.model import TrainingConfig
from cnnstudio.project.runs import BatchCurve, RunRecord

#: a batch as plain Python: epoch, step_in_epoch, steps_per_epoch, global_step (across continued
#: runs), loss (NaN when not finite), accuracy, lr, images_per_sec, batch_size, [layer_stats]
StepRecord = dict[str, Any]


def _number(value: Any) -> float | None:
    """A JSON number for the file: None for missing, NaN or infinite values (saved as null)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _split(data: Mapping[str, Any], where: str, known: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"history {where} must be an object, got {type(data).__name__} {data!r}")
    return ({k: data[k] for k in known if k in data}, {k: v for k, v in data.items() if k not in known})


@dataclass
class EpochRecord:
    """One finished epoch. ``epoch`` counts from 1 across continued runs; ``global_step`` is the
    number of batches trained when it ended, across continued runs (None in files written
    before it was recorded). Losses and accuracies are None when not finite (or not measured:
    no validation data)."""

    epoch: int
    train_loss: float | None = None
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    lr: float | None = None
    seconds: float | None = None
    images_per_sec: float | None = None
    global_step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _FLOATS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_sec")

    @classmethod
    def from_report(cls, report: EpochReport, epochs_before: int, global_step: int | None) -> "EpochRecord":
        """An engine EpochReport (0-based epoch within this run) -> the record (seconds to the
        millisecond, images/s to one decimal, as the history has always been written)."""
        return cls(epochs_before + int(report.epoch) + 1, float(report.train_loss), float(report.train_acc),
                   None if report.val_loss is None else float(report.val_loss),
                   None if report.val_acc is None else float(report.val_acc),
                   float(report.lr), round(float(report.seconds), 3), round(float(report.images_per_sec), 1),
                   global_step)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epoch": int(self.epoch)}
        out.update({name: _number(getattr(self, name)) for name in self._FLOATS})
        if self.global_step is not None:
            out["global_step"] = int(self.global_step)
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> "EpochRecord":
        known, extra = _split(data, f"epochs[{index}]", ("epoch", "global_step") + cls._FLOATS)
        epoch = known.pop("epoch", None)
        if epoch is None:  # the loader lets a null through: number it by its place
            epoch = index + 1
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise ValueError(f"history epochs[{index}].epoch must be a whole number, got {epoch!r}")
        return cls(int(epoch), **known, extra=extra)


@dataclass
class LrChange:
    """The learning rate set to ``lr`` by hand (or by a health fix) from global step ``step``
    on, during epoch ``epoch`` (from 1, across continued runs)."""

    epoch: int
    step: int
    lr: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "step": self.step, "lr": self.lr, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> "LrChange":
        known, extra = _split(data, f"lr_changes[{index}]", ("epoch", "step", "lr"))
        return cls(known.get("epoch"), known.get("step"), known.get("lr"), extra)  # type: ignore[arg-type]


@dataclass
class DatasetRecord:
    """What a run trained on: name, source ("sample", a standard name or a path), image
    counts, image shape [h, w, c] and class names (``predict`` labels its answers with them)."""

    name: str | None = None
    source: str | None = None
    num_train: int | None = None
    num_val: int | None = None
    image_shape: list[int] | None = None
    classes: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("name", "source", "num_train", "num_val", "image_shape", "classes")

    @classmethod
    def describe(cls, train: Dataset, val: Dataset) -> "DatasetRecord":
        return cls(train.name.replace(" (train)", ""), train.source, len(train), len(val),
                   list(train.image_shape), list(train.class_names))

    def to_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self._KNOWN}, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DatasetRecord | None":
        if data is None:
            return None
        known, extra = _split(data, "dataset", cls._KNOWN)
        return cls(**known, extra=extra)


@dataclass
class RunHistory:
    """The training history of a project: ``epochs``, ``lr_changes``, ``hyperparameters``
    (the TrainingConfig dict the latest run started with; a plain dict, so a file written
    with settings this version does not know still loads) and ``dataset``."""

    epochs: list[EpochRecord] = field(default_factory=list)
    lr_changes: list[LrChange] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    dataset: DatasetRecord | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the number of the run (project.runs) the current weights come from; None before any run
    run: int | None = None
    #: per-batch curves behind the current weights (earlier continued runs first); not in the JSON
    batches: BatchCurve = field(default_factory=BatchCurve, compare=False)
    #: the record of the run that wrote this history (None: loaded from a file); not in the JSON
    current: RunRecord | None = field(default=None, compare=False)

    @property
    def last_global_step(self) -> int:
        """Batches trained before the next run (0 when unknown: files without global steps)."""
        return int(self.epochs[-1].global_step or 0) if self.epochs else 0

    def copy(self) -> "RunHistory":
        """A snapshot (the run's record and curves too) another thread may keep while training goes on."""
        return RunHistory(list(self.epochs), list(self.lr_changes), dict(self.hyperparameters), self.dataset,
                          dict(self.extra), self.run, self.batches.copy(),
                          None if self.current is None else self.current.snapshot())

    def to_dict(self) -> dict[str, Any]:
        """The project file's plain JSON (NaN and infinities as None)."""
        out = {"epochs": [e.to_dict() for e in list(self.epochs)],
               "lr_changes": [c.to_dict() for c in list(self.lr_changes)],
               "hyperparameters": dict(self.hyperparameters),
               "dataset": None if self.dataset is None else self.dataset.to_dict(), **self.extra}
        if self.run is not None:
            out["run"] = int(self.run)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "RunHistory":
        """From the project file's JSON (missing keys are empty; ValueError names a bad part)."""
        if data is None:
            return cls()
        known, extra = _split(data, "", ("epochs", "lr_changes", "hyperparameters", "dataset", "run"))
        epochs, changes = known.get("epochs") or [], known.get("lr_changes") or []
        if not isinstance(epochs, list) or not isinstance(changes, list):
            raise ValueError("history epochs and lr_changes must be lists of objects")
        hyper = known.get("hyperparameters") or {}
        if not isinstance(hyper, Mapping):
            raise ValueError(f"history hyperparameters must be an object, got {hyper!r}")
        run = known.get("run")
        if run is not None and (isinstance(run, bool) or not isinstance(run, int) or run < 1):
            raise ValueError(f"history run must be a run's number (1 or more), got {run!r}"[:120])
        return cls([EpochRecord.from_dict(e, i) for i, e in enumerate(epochs)],
                   [LrChange.from_dict(c, i) for i, c in enumerate(changes)], dict(hyper),
                   DatasetRecord.from_dict(known.get("dataset")), extra, run)


# ---- one run ------------------------------------------------------------------------------
@dataclass
class EpochDone:
    """What ``Run.reports()`` yields at the end of an epoch: its record (already in the
    history), the weights after it (host arrays, one copy per epoch: the Trainer's own
    ``last_good_weights`` when they are finite) and the optimizer state that goes with them."""

    record: EpochRecord
    weights: dict[str, np.ndarray]
    optimizer_state: dict[str, np.ndarray]


def _json_dataset(record: DatasetRecord) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(record.to_dict(), default=str)))   # plain JSON values only


def _data_record(train: Dataset) -> dict[str, Any] | None:
    """The full data record of the run's data as it is now (``project.datasource``), kept in the run."""
    from cnnstudio.project.datasource import source_of
    from cnnstudio.project.runs import run_data_record

    return run_data_record(source_of(train))


def step_record(report: StepReport, step_offset: int = 0) -> StepRecord:
    """A StepReport as plain Python numbers (per-layer stats as dicts of floats); ``global_step``
    counts the batches of earlier runs too; a non-finite loss is NaN."""
    rec: StepRecord = {"epoch": int(report.epoch), "step_in_epoch": int(report.step_in_epoch),
                       "steps_per_epoch": int(report.steps_per_epoch),
                       "global_step": int(report.global_step) + step_offset, "loss": float(report.loss),
                       "accuracy": float(report.accuracy), "lr": float(report.lr),
                       "images_per_sec": float(report.images_per_sec), "batch_size": int(report.batch_size)}
    if not report.finite and math.isfinite(rec["loss"]):
        rec["loss"] = float("nan")
    stats = layer_stats_of(report)
    if stats:
        rec["layer_stats"] = {i: _plain_stats(s) for i, s in stats.items()}
    return rec


def _plain_stats(stats: Any) -> dict[str, Any]:
    items = stats.items() if isinstance(stats, Mapping) else vars(stats).items()
    return {k: (v if isinstance(v, str) or v is None else float(v)) for k, v in items}


class Run:
    """One training run and its history.

    ``prepared``: a ``session.TrainingRun`` (network, optimizer, Trainer, data, config).
    ``previous``: the history this run continues (a reopened project or an earlier run): its
    epochs and LR changes stay, new epochs are numbered after them and global steps counted
    from its last; the hyperparameters and the dataset become this run's. ``monitor``: health
    rules fed every report; issues collect in ``issues`` (a deque another thread may drain),
    and one that asks for a pause calls ``request_pause`` (the app's worker sets it).

    Controls (``set_lr``, ``set_batch_transform``, ``add_epochs``, ``restore_last_good``)
    touch the Trainer: call them from the thread that pumps ``reports()``, between steps.
    """

    def __init__(self, prepared: Any, previous: RunHistory | None = None, monitor: HealthMonitor | None = None):
        self.prepared = prepared
        self.trainer: Trainer = prepared.trainer
        self.network: Network = prepared.network
        self.config: TrainingConfig = prepared.config
        prev = previous if previous is not None else RunHistory()
        dataset = DatasetRecord.describe(prepared.train, prepared.val)
        #: this run as the project's runs list keeps it (numbered when first stored)
        self.record = RunRecord(continued_from=prev.run if previous is not None and prev.epochs else None,
                                network=prepared.spec.to_dict(), hyperparameters=prepared.config.to_dict(),
                                dataset=_json_dataset(dataset), data=_data_record(prepared.train))
        self.history = RunHistory(list(prev.epochs), list(prev.lr_changes), prepared.config.to_dict(), dataset,
                                  dict(prev.extra), prev.run, prev.batches.copy(), self.record)
        self.epoch_offset = len(prev.epochs)
        self.step_offset = prev.last_global_step
        self.monitor = monitor
        self.issues: collections.deque[HealthIssue] = collections.deque()
        self.request_pause: Callable[[], None] | None = None
        self._last_good = self.trainer.last_good_weights  # the Trainer replaces it after a finite epoch

    @property
    def planned_steps(self) -> int:
        """Batches of this run in all, earlier runs included (grows with ``add_epochs``)."""
        return self.step_offset + self.trainer.epochs * self.trainer.steps_per_epoch

    # ---- the loop -----------------------------------------------------------------------------
    def reports(self) -> Iterator[StepRecord | EpochDone]:
        """Pump the Trainer: a StepRecord per batch, an EpochDone per epoch (recorded first).
        Called again after a stop or ``add_epochs``, it goes on where it left off."""
        reports = self.trainer.run()
        try:
            for report in reports:
                if isinstance(report, StepReport):
                    self._observe(report)
                    rec = step_record(report, self.step_offset)
                    self.record.curve.append(rec["global_step"], rec["loss"], rec["accuracy"], rec["lr"])
                    self.history.batches.append(rec["global_step"], rec["loss"], rec["accuracy"], rec["lr"])
                    yield rec
                else:
                    done = self.record_epoch(report)
                    self._observe(report)
                    yield done
        finally:
            if isinstance(reports, types.GeneratorType):
                reports.close()  # closing this generator (a stop) closes the Trainer's at once

    def record_epoch(self, report: EpochReport) -> EpochDone:
        """Append the epoch to the history; the weights are the Trainer's copy when finite."""
        good = self.trainer.last_good_weights
        record = EpochRecord.from_report(report, self.epoch_offset, self.step_offset + int(self.trainer.global_step))
        self.history.epochs.append(record)
        # The Trainer copied the weights at the end of the epoch when they were finite: share that copy.
        fresh = good is not self._last_good
        self._last_good = good
        weights = good if fresh else self.network.get_weights()
        self.record.note_epoch(record.to_dict(), weights)
        return EpochDone(record, weights, self.prepared.optimizer.get_state())

    def _observe(self, report: StepReport | EpochReport) -> None:
        if self.monitor is None:
            return
        issues = self.monitor.observe(report)
        if issues:
            self.issues.extend(issues)
            if any(i.pause for i in issues) and self.request_pause is not None:
                self.request_pause()

    # ---- controls (the pumping thread, between steps) --------------------------------------------
    def set_lr(self, lr: float) -> LrChange:
        """Use ``lr`` from the next batch on (the schedule scaled to it, its shape kept);
        recorded in the history with that batch's step."""
        self.trainer.set_lr(float(lr), keep_schedule=True)
        change = LrChange(self.epoch_offset + int(self.trainer.epoch) + 1,
                          self.step_offset + int(self.trainer.global_step), float(lr))
        self.history.lr_changes.append(change)
        self.record.lr_changes.append(change.to_dict())
        return change

    def set_batch_transform(self, fn: Callable[..., Any] | None) -> None:
        """Augmentation from the next batch on (None: off); the health advice follows it."""
        self.trainer.set_batch_transform(fn)
        if self.monitor is not None:
            self.monitor.augmenting = fn is not None

    def add_epochs(self, n: int = 1) -> None:
        self.trainer.add_epochs(int(n))

    def restore_last_good(self, lr: float) -> None:
        """After a NaN: the last finite weights (after the last good epoch, or the initial ones),
        a fresh optimizer state (NaN moments would poison them again) and ``lr``."""
        self.network.set_weights(self.trainer.last_good_weights)
        self.prepared.optimizer.set_state({})
        self.set_lr(lr)
        if self.monitor is not None:
            self.monitor.reset("nan")

    def project(self, done: EpochDone, user_dataset: Any = None, metadata: dict[str, Any] | None = None,
                runs: list[RunRecord] | None = None) -> Any:
        """The project to save after epoch ``done``: its weights and optimizer state (no further
        copy), this run's history and config; ``runs``: the project's earlier runs, to which this
        run is added (or in which its earlier snapshot is replaced)."""
        from cnnstudio.project.file import Project, new_metadata
        from cnnstudio.project.datasource import source_of
        from cnnstudio.project.runs import put_run

        kept = list(runs or [])
        stored = put_run(kept, self.record.snapshot())
        self.record.number = self.history.run = stored.number
        return Project(self.prepared.spec, weights=done.weights, optimizer_state=done.optimizer_state,
                       history=self.history.to_dict(), training_config=self.config, user_dataset=user_dataset,
                       metadata=metadata or new_metadata(), runs=kept,
                       datasource=source_of(self.prepared.train))  # what it trained on (project.datasource)

    @property
    def epochs_done_here(self) -> int:
        """Epochs this run has completed (earlier runs not counted)."""
        return int(self.trainer.epoch)

