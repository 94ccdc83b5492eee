"""The workspace: the open project as one Qt-free model the GUI's panels are views of.

After napari's ``ViewerModel``/``EventedModel``: every field has its own change event,
``workspace.events.<field>``, and a callback receives an :class:`Event` whose ``value`` is
the new value (``workspace.events.weights.connect(cb)``). Events fire after the change is
applied, once per change; setting a field to the value it has fires nothing.

Fields: ``document`` (model Document: the network and its undo stack; edits go through
``document.execute``), ``path``, ``project`` (the Project loaded or last saved: fields this
model does not hold, such as metadata, come from it on save), ``weights`` with their
``optimizer_state``, ``live_weights`` (a running trainer's mid-epoch weights, for views only:
never saved, never dirty), ``history`` (a typed ``RunHistory``), ``training_config`` (a
``TrainingConfig``: the training settings the form shows and a run starts from),
``dataset`` (the current (train, val) pair), ``user_dataset`` (drawn digits, saved),
``runs`` (every training run kept, ``project.runs.RunRecord``, oldest first; a stored history
that carries its run's record files it there) and ``status`` (a :class:`TrainingStatus`).
Extra events: ``network`` (the spec after any edit,
undo, redo or load) and ``dirty`` (after anything that can change the saved state: edits,
weights, history, drawings, open, save; payload ``is_dirty()``).

Dirty = the document has unsaved edits (its own clean marker, so undoing back to the saved
network is clean again) or the weights, history or drawings changed since saving. The
training settings alone do not make a project dirty, as before (they are saved with it).
"""

from __future__ import annotations

import dataclasses
import enum
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from cnnstudio.data import Dataset
from cnnstudio.model import NetworkSpec, TrainingConfig
from cnnstudio.model.document import Document, DocumentEvent
from cnnstudio.model.templates import get_template
from cnnstudio.project.teacher_layout import check as check_teacher_layout
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project
from cnnstudio.project.run import EpochRecord, RunHistory
from cnnstudio.project.runs import RunRecord, find_run, lineage_curve, put_run
from cnnstudio.project.weights import check_weights
from cnnstudio.project import datasource as _datasource
from cnnstudio.project.datasource import DataSource

DEFAULT_TEMPLATE = "simple-cnn"

Weights = dict[str, np.ndarray]
DatasetPair = tuple[Dataset, Dataset]


class TrainingStatus(enum.Enum):
    """Where training is: no run going, a run pulling batches, or a run held paused."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"

    @property
    def active(self) -> bool:
        """A run exists (running or paused): the network is read-only."""
        return self is not TrainingStatus.IDLE


class DataState(enum.Enum):
    """Where the project's data stands: loaded (or the default sample), waiting to be loaded
    from its record (a project was opened), or missing (not where the record says: the dataset
    is then an empty placeholder carrying the message, never the sample)."""

    READY = "ready"
    PENDING = "pending"
    MISSING = "missing"


@dataclass(frozen=True)
class Event:
    """One change: ``type`` (the field's name), ``value`` (its new value), ``source`` (the workspace)."""

    type: str
    value: Any
    source: Any


Callback = Callable[[Event], Any]


class EventEmitter:
    """Callbacks for one field; ``connect`` returns the callback (usable as a decorator)."""

    def __init__(self, source: Any, type: str):
        self.source, self.type = source, type
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def __call__(self, value: Any) -> None:
        event = Event(self.type, value, self.source)
        for callback in list(self._callbacks):
            callback(event)


class WorkspaceEvents:
    """One :class:`EventEmitter` per field of the workspace (see the module's docstring)."""

    NAMES = ("document", "network", "path", "project", "weights", "optimizer_state", "live_weights", "history",
             "training_config", "dataset", "user_dataset", "status", "dirty", "runs",
             "data_state")

    def __init__(self, source: Any):
        for name in self.NAMES:
            setattr(self, name, EventEmitter(source, name))

    document: EventEmitter
    network: EventEmitter
    path: EventEmitter
    project: EventEmitter
    weights: EventEmitter
    optimizer_state: EventEmitter
    live_weights: EventEmitter
    history: EventEmitter
    training_config: EventEmitter
    dataset: EventEmitter
    user_dataset: EventEmitter
    status: EventEmitter
    dirty: EventEmitter
    runs: EventEmitter
    data_state: EventEmitter


class Workspace:
    """The open project (see the module's docstring). No Qt."""

    def __init__(self, template: str = DEFAULT_TEMPLATE):
        self.events = WorkspaceEvents(self)
        self.document: Document = Document(get_template(template))
        self.document.subscribe(self._on_document_changed)
        self.path: str | None = None
        self.project: Project | None = None
        self.weights: Weights | None = None
        self.optimizer_state: Weights | None = None
        self.live_weights: Weights | None = None
        self.history = RunHistory()
        self.runs: list[RunRecord] = []
        #: the number of the run training now, once it has finished an epoch (its record is in
        #: ``runs``, updated after every epoch); None while no run is training
        self.training_run: int | None = None
        self.training_config = TrainingConfig()
        self.user_dataset: Dataset | None = None
        self.teacher_layout: dict[str, Any] | None = None   # panels/controls hidden (project.teacher_layout)
        self.status = TrainingStatus.IDLE
        self._dataset: DatasetPair | None = None
        #: the project's data as recorded (project.datasource) and where its loading stands
        self.datasource: DataSource | None = None
        self.data_state = DataState.READY
        self._extra_dirty = False  # weights, history or drawings changed since the last save/load
        self._revision = 0          # bumped by every network change (the inference cache's key)
        self._weights_revision = 0
        self._net_cache: tuple[int, int, Any] | None = None

    # ---- the network --------------------------------------------------------------------
    @property
    def spec(self) -> NetworkSpec:
        """The current NetworkSpec (``document.spec``)."""
        return self.document.spec

    def _on_document_changed(self, event: DocumentEvent) -> None:
        if event.action != "clean":  # "clean" only flips the saved flag
            self._revision += 1
            self.events.network(self.document.spec)
        self.events.dirty(self.is_dirty())

    def is_dirty(self) -> bool:
        return self.document.is_dirty or self._extra_dirty

    # ---- projects -----------------------------------------------------------------------
    def new_project(self, template_name: str) -> None:
        """A fresh project from a template (no file, not dirty; the training settings stay)."""
        self._replace(get_template(template_name), project=None, path=None)

    def open(self, path: str | os.PathLike[str]) -> None:
        """Load ``path``; on error raise the loader's ProjectFileError and change nothing."""
        project = load_project(path)
        try:
            RunHistory.from_dict(project.history)
        except ValueError as exc:  # a shape the loader let through but the history cannot hold
            raise ProjectFileError(path, f"project.json: {exc}", "The file is damaged.") from exc
        self._replace(project.network, project=project, path=os.fspath(path))

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Save (atomically) to ``path`` or the current path; returns the path written."""
        target = os.fspath(path) if path is not None else self.path
        if target is None:
            raise ValueError("No file name: choose one with Save As")
        project = self.project_for_save()
        save_project(target, project)  # a failure leaves the old file and this workspace as they were
        self.project = project
        self._extra_dirty = False
        self._set("path", target)
        edited = self.document.is_dirty
        self.document.set_clean()  # an edited document fires "clean", and so dirty
        if not edited:
            self.events.dirty(False)
        self.events.project(project)
        return target

    def project_for_save(self) -> Project:
        """The Project to write: the current network, weights, history, settings and drawings,
        the other fields (metadata) kept from the loaded one."""
        # Weights of the network before later edits would make the file unopenable (the loader
        # refuses weights that do not fit): they are left out, the edited network is saved.
        keep = bool(self.weights) and self.weights_fit()
        base = self.project if self.project is not None else Project(self.spec)
        return dataclasses.replace(base, network=self.spec, weights=self.weights if keep else None,
                                   optimizer_state=(self.optimizer_state or None) if keep else None,
                                   history=self.history.to_dict(), training_config=self.training_config,
                                   user_dataset=self.user_dataset, teacher_layout=self.teacher_layout,
                                   runs=list(self.runs),
                                   datasource=self.current_datasource())

    def weights_fit(self) -> bool:
        """True when the trained weights (if any) fit the current network, so a save keeps them."""
        if not self.weights:
            return True
        try:
            check_weights(self.spec, self.weights)
        except ValueError:  # WeightsMismatch, or a network whose shapes do not work out
            return False
        return True

    def _replace(self, spec: NetworkSpec, project: Project | None, path: str | None) -> None:
        """Swap in another network (fresh undo history, clean) and the project's data."""
        if self.status.active:
            raise RuntimeError("Stop training before opening another project")
        self.document.unsubscribe(self._on_document_changed)
        self.document = Document(spec)
        self.document.subscribe(self._on_document_changed)
        self.project = project
        self.teacher_layout = project.teacher_layout if project is not None else None
        self._extra_dirty = False
        self._revision += 1
        self._weights_revision += 1
        self.events.document(self.document)
        self.events.network(self.document.spec)
        self._set("path", path)
        self.optimizer_state = (project.optimizer_state or None) if project is not None else None
        self.live_weights = None
        self.weights = (project.weights or None) if project is not None else None
        self.events.weights(self.weights)
        self.runs = list(project.runs) if project is not None else []
        history = RunHistory.from_dict(project.history) if project is not None else RunHistory()
        history.batches = lineage_curve(self.runs, history.run)
        self._set("history", history)
        self.events.runs(self.runs)
        if project is not None and project.training_config is not None:  # none saved: the settings stay
            self._set("training_config", project.training_config)
        self._set("user_dataset", project.user_dataset if project is not None else None)
        self._replace_data(project)
        self.events.project(project)
        self.events.dirty(self.is_dirty())

    # ---- weights, history, settings, drawings ---------------------------------------------------
    def set_weights(self, weights: Weights | None, optimizer_state: Weights | None = None) -> None:
        """Replace the trained weights (name -> host array) and mark the project dirty.

        ``optimizer_state``: the optimizer's state after those weights (engine ``get_state()``),
        saved with them so a reopened project trains on where it stopped; None drops a stale one.
        """
        self.weights = dict(weights) if weights is not None else None
        self.optimizer_state = dict(optimizer_state) if optimizer_state else None
        self.live_weights = None  # older than these
        self._weights_revision += 1
        self._extra_dirty = True
        self.events.optimizer_state(self.optimizer_state)
        self.events.weights(self.weights)
        self.events.dirty(True)

    def set_live_weights(self, weights: Weights | None) -> None:
        """Publish a running trainer's current weights to live views; None clears."""
        self.live_weights = weights
        self.events.live_weights(weights)

    def set_history(self, history: RunHistory, config: TrainingConfig | None = None) -> None:
        """Store a run's history (and the settings it ran with) for the next save; the run's record
        it carries (``history.current``) goes into ``runs`` (replacing its earlier snapshot) once it
        has finished an epoch (a run stopped in its first epoch left nothing to keep)."""
        if history.current is not None and history.current.epochs:
            stored = put_run(self.runs, history.current)
            history.run = stored.number
            self.training_run = stored.number if self.status.active else None
            self.events.runs(self.runs)
        self.history = history
        self._extra_dirty = True
        self.events.history(history)
        if config is not None:
            self.set_training_config(config)
        self.events.dirty(True)

    def set_training_config(self, config: TrainingConfig) -> None:
        """The training settings (the form writes them here and shows what is here)."""
        if not isinstance(config, TrainingConfig):
            raise TypeError(f"training_config must be a TrainingConfig, got {type(config).__name__}")
        self._set("training_config", config)

    def update_training_config(self, **changes: Any) -> TrainingConfig:
        """A copy of the settings with ``changes`` (checked: TrainingConfigError names a bad one)."""
        self.set_training_config(dataclasses.replace(self.training_config, **changes))
        return self.training_config

    def set_teacher_layout(self, layout: dict[str, Any] | None) -> None:
        """The panels and controls the project opens with hidden (``project.teacher_layout.check``'s
        form, None: all shown); saved with the project, so the project is dirty."""
        self.teacher_layout = check_teacher_layout(layout)
        self._extra_dirty = True
        self.events.dirty(True)

    def set_user_dataset(self, dataset: Dataset | None) -> None:
        """Replace the drawn-digit dataset (saved with the project)."""
        self.user_dataset = dataset
        self._extra_dirty = True
        self.events.user_dataset(dataset)
        self.events.dirty(True)

    # ---- runs -----------------------------------------------------------------------------------
    def restore_run(self, number: int, which: str = "last", settings: bool = False) -> RunRecord:
        """Make run ``number``'s network and its ``which`` ("last" or "best") weights the current
        ones: the network by one undoable edit (Edit > Undo brings the previous network back; the
        previous weights stay in their own run), the history that of the run up to that epoch;
        with ``settings`` also its training settings (``run_settings``: the data choice, backend
        and workers stay). ValueError says why not (no such run, weights not kept, training running,
        settings this version cannot use)."""
        from cnnstudio.model.commands import ReplaceNetwork

        if self.status.active:
            raise ValueError("Stop training before restoring a run")
        run = find_run(self.runs, number)
        if run is None:
            raise ValueError(f"There is no run {number} in this project")
        weights = run.weights_of(which)
        if weights is None:
            raise ValueError(f"Run {number} kept no {which} weights" + (
                " (no epoch had a validation accuracy)" if which == "best" else ""))
        config = self.run_settings(run) if settings else None   # refused before anything changes
        spec = NetworkSpec.from_dict(run.network)
        if spec != self.spec:
            self.document.execute(ReplaceNetwork(spec))
        self.set_weights(weights)   # the optimizer state belongs to other weights: a continued run starts it afresh
        upto = run.best_epoch if which == "best" else None
        chain = [r for r in self._chain(run)]
        epochs = [EpochRecord.from_dict(e, i) for r in chain for i, e in enumerate(r.epochs)
                  if upto is None or r is not run or e.get("epoch", 0) <= upto]
        history = RunHistory(epochs, [], dict(run.hyperparameters), None, {}, run.number,
                             lineage_curve(self.runs, run.number))
        if run.dataset is not None:
            from cnnstudio.project.run import DatasetRecord

            history.dataset = DatasetRecord.from_dict(run.dataset)
        if upto is not None and epochs and epochs[-1].global_step is not None:
            cut = epochs[-1].global_step
            keep = [i for i, s in enumerate(history.batches.step) if s < cut]
            history.batches.keep(keep)
        self.set_history(history, config)
        return run

    #: settings a restored run leaves as they are: which data to train on is the Dataset panel's
    #: (the run's own data record is in the Runs panel), the backend and workers are this machine's
    KEEP_ON_RESTORE = ("dataset", "val_fraction", "backend", "workers")

    def run_settings(self, run: RunRecord) -> TrainingConfig:
        """The training settings run ``run`` started with, as settings for the next run (the
        current ones for KEEP_ON_RESTORE and for settings the run does not record). ValueError
        (TrainingConfigError) names a recorded value this version refuses."""
        known = {f.name for f in dataclasses.fields(TrainingConfig)}
        recorded = {k: v for k, v in run.hyperparameters.items() if k in known and k not in self.KEEP_ON_RESTORE}
        return TrainingConfig.from_dict({**self.training_config.to_dict(), **recorded})

    def rename_run(self, number: int, name: str) -> RunRecord:
        """Give run ``number`` a name (blank: its default "run N"); saved with the project.
        ValueError: no such run, or a name longer than the file keeps."""
        from cnnstudio.project import limits

        run = find_run(self.runs, number)
        if run is None:
            raise ValueError(f"There is no run {number} in this project")
        name = " ".join(str(name).split())
        if len(name) > limits.MAX_RUN_TEXT:
            raise ValueError(f"A run's name can be at most {limits.MAX_RUN_TEXT} characters ({len(name):,} given)")
        if name == f"run {number}":
            name = ""
        if name != run.name:
            run.name = name
            if self.history.current is not None and self.history.current.id == run.id:
                self.history.current.name = name   # the stored history's record is this run's too
            self._extra_dirty = True
            self.events.runs(self.runs)
            self.events.dirty(True)
        return run

    def why_not_delete(self, number: int) -> str | None:
        """Why run ``number`` cannot be deleted (None: it can): the run training now, the run the
        current weights come from, and the runs it continued from (their epochs and curves are
        the current training history) stay."""
        run = find_run(self.runs, number)
        if run is None:
            return f"There is no run {number} in this project"
        if self.training_run == number or (self.status.active and self.history.current is not None
                                           and self.history.current.id == run.id):
            return f"Run {number} is training now"
        current = find_run(self.runs, self.history.run) if self.history.run is not None else None
        if current is not None and current.number == number:
            return (f"Run {number} is the current run: the network and weights you have now come from it. "
                    "Restore another run first to delete this one")
        if current is not None and any(r.number == number for r in self._chain(current)):
            return (f"Run {number} is part of the current weights' training history (run {current.number} "
                    f"continued from it). Restore another run first to delete it")
        return None

    def delete_run(self, number: int) -> RunRecord:
        """Remove run ``number`` (its record, curves and kept weights) from the project; gone from
        the file at the next save. ValueError (``why_not_delete``) for a run that must stay."""
        why = self.why_not_delete(number)
        if why is not None:
            raise ValueError(why)
        run = find_run(self.runs, number)
        assert run is not None
        self.runs.remove(run)
        self._extra_dirty = True
        self.events.runs(self.runs)
        self.events.dirty(True)
        return run

    def _chain(self, run: RunRecord) -> list[RunRecord]:
        """``run`` after the runs it continued from, oldest first."""
        chain, seen = [run], {run.number}
        while chain[0].continued_from is not None:
            before = find_run(self.runs, chain[0].continued_from)
            if before is None or before.number in seen:
                break
            seen.add(before.number)
            chain.insert(0, before)
        return chain

    # ---- training status ----------------------------------------------------------------------
    def set_status(self, status: TrainingStatus) -> None:
        """A run makes the document read-only; when it ends, live views go back to ``weights``."""
        if status is self.status:
            return
        self.status = status
        self.document.read_only = status.active
        ended = not status.active and self.training_run is not None
        if ended:
            self.training_run = None
        self.events.status(status)
        if ended:
            self.events.runs(self.runs)   # the run that trained is no longer "training"
        if not status.active and self.live_weights is not None:
            self.set_live_weights(None)  # the run ended mid-epoch

    # ---- dataset ------------------------------------------------------------------------------
    @property
    def dataset(self) -> DatasetPair:
        """The current (train, val) datasets; the bundled sample's split by default, loaded lazily."""
        if self._dataset is None:
            from cnnstudio.data.sample import sample_split

            self._dataset = sample_split()
        return self._dataset

    def set_dataset(self, dataset: DatasetPair) -> None:
        """The current (train, val) pair; the record it carries (``project.datasource``, set by
        whatever loaded it) becomes the project's data, saved with it. An imported split's
        validation fraction becomes the training settings' too (what the file says is what is used)."""
        self._dataset = dataset
        record = _datasource.source_of(dataset[0])
        if record is not None and record != self.datasource:
            self._extra_dirty = self._extra_dirty or self.datasource is not None
            self.datasource = record
        if (record is not None and record.kind in ("folder", "file", "drawings")
                and record.format not in ("cifar10-binary", "tar")   # an archive's own split: no fraction
                and record.val_fraction != self.training_config.val_fraction and not self.status.active):
            self._set("training_config", dataclasses.replace(self.training_config, val_fraction=record.val_fraction))
        self.events.dataset(dataset)
        state = DataState.MISSING if _datasource.missing_problem(dataset[0]) else DataState.READY
        self._set_data_state(state)
        self.events.dirty(self.is_dirty())

    # ---- the project's data (project.datasource) ----------------------------------------------
    def current_datasource(self) -> DataSource | None:
        """The record to save: the project's data, or the default sample's once it is in use."""
        if self.datasource is not None:
            return self.datasource
        return _datasource.source_of(self._dataset[0]) if self._dataset is not None else None

    def load_data(self, progress: Any = None, cancel: Any = None) -> DatasetPair:
        """Load the recorded data (blocking) and make it the dataset. Raises
        ``datasource.DataMissingError`` (not where recorded) or DataError (not the same data),
        changing nothing; with no record, the current dataset is returned as it is."""
        if self.datasource is None:
            return self.dataset
        pair = _datasource.load(self.datasource, user_dataset=self.user_dataset, progress=progress, cancel=cancel)
        self.set_dataset(pair)
        return pair

    def mark_data_missing(self, problem: str | None = None) -> None:
        """The recorded data could not be found (and the user did not locate it): the dataset is
        an empty placeholder with the recorded classes and ``problem`` (the record's own message
        by default), so panels say the data is missing and nothing falls back to the sample."""
        if self.datasource is None:
            return
        self.set_dataset(_datasource.placeholder(self.datasource, problem or self.datasource.missing_message()))

    def _replace_data(self, project: Project | None) -> None:
        """A project was opened or made: its recorded data waits to be loaded (``load_data``;
        the app does it in the background and asks where it is if it moved). A file without a
        record keeps the current dataset, as before; a new project drops a missing data's placeholder."""
        record = project.datasource if project is not None else None
        if record is None:
            self.datasource = None
            if self._dataset is not None and _datasource.missing_problem(self._dataset[0]):
                self._dataset = None
                self.events.dataset(self.dataset)
            self._set_data_state(DataState.READY)
            return
        self.datasource = record
        if record.kind == "sample":   # bundled, small: no reason to wait
            self.set_dataset(_datasource.load(record))
            return
        self._dataset = _datasource.placeholder(record, f"the project's data, {record.expected()}, is still "
                                                "loading; the figures follow once it is loaded")
        self.events.dataset(self._dataset)
        self._set_data_state(DataState.PENDING)

    def _set_data_state(self, state: DataState) -> None:
        if state is not self.data_state or state is DataState.PENDING:
            self.data_state = state
            self.events.data_state(state)

    # ---- inference ----------------------------------------------------------------------------
    def inference_network(self) -> Any:
        """An engine Network for the current spec and weights, or None (invalid or untrained).
        Cached; rebuilt only after the network or the weights change."""
        key = (self._revision, self._weights_revision)
        if self._net_cache is not None and self._net_cache[:2] == key:
            return self._net_cache[2]
        net = self._build_inference_network()
        self._net_cache = (key[0], key[1], net)
        return net

    def _build_inference_network(self) -> Any:
        if not self.weights:
            return None
        from cnnstudio.project.session import build_with_weights

        try:
            return build_with_weights(self.spec, self.weights)
        except Exception:  # noqa: BLE001 - invalid spec or weights of another shape: nothing to infer with
            return None

    # ---- helpers ------------------------------------------------------------------------------
    def _set(self, name: str, value: Any) -> None:
        """Set a field and fire its event, unless it already holds an equal value."""
        old = getattr(self, name)
        if old is value or (_comparable(old) and _comparable(value) and old == value):
            return
        setattr(self, name, value)
        getattr(self.events, name)(value)


def _comparable(value: Any) -> bool:
    """Values whose ``==`` is cheap and means "the same" (not arrays, datasets or documents)."""
    return value is None or isinstance(value, (str, int, float, TrainingConfig, RunHistory))
