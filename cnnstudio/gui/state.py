"""AppState: the Qt face of the workspace (``project.workspace.Workspace``).

The model of the open project lives below the GUI, with no Qt: ``state.workspace``. AppState
re-emits its events as Qt signals carrying the new value, so widgets can use queued
connections and ``qtbot.waitSignal``, and forwards reads and writes to it. Widgets are views:
they subscribe, and write only to the workspace (through these methods or document commands),
never to each other (DESIGN principle 2).
"""

from __future__ import annotations

import os
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from cnnstudio.data import Dataset
from cnnstudio.model import NetworkSpec, TrainingConfig
from cnnstudio.model.document import Document
from cnnstudio.project.file import Project
from cnnstudio.project.run import RunHistory
from cnnstudio.project.workspace import DEFAULT_TEMPLATE, DatasetPair, Event, TrainingStatus, Weights, Workspace

__all__ = ["AppState", "DEFAULT_TEMPLATE", "TrainingStatus"]


class AppState(QObject):
    """The open project. Signals fire after the change has been applied, with the new value."""

    networkChanged = pyqtSignal(object)          # NetworkSpec: any edit, undo, redo, load
    projectChanged = pyqtSignal(bool)            # is_dirty(): path, dirty flag, load, save
    weightsChanged = pyqtSignal(object)          # dict | None: trained weights replaced
    liveWeightsChanged = pyqtSignal(object)      # dict | None: a run's in-progress weights, or cleared
    trainingStateChanged = pyqtSignal(bool)      # a run exists (running or paused)
    statusChanged = pyqtSignal(object)           # TrainingStatus
    datasetChanged = pyqtSignal(object)          # (train, val)
    historyChanged = pyqtSignal(object)          # RunHistory
    trainingConfigChanged = pyqtSignal(object)   # TrainingConfig: the training settings
    userDatasetChanged = pyqtSignal(object)      # data.Dataset | None: the drawn digits
    dataStateChanged = pyqtSignal(object)        # workspace.DataState: the project's data loaded, pending, missing
    runsChanged = pyqtSignal(object)             # list[project.runs.RunRecord]: every run kept

    def __init__(self, parent: QObject | None = None, template: str = DEFAULT_TEMPLATE,
                 workspace: Workspace | None = None):
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace(template)
        ev = self.workspace.events
        ev.network.connect(lambda e: self.networkChanged.emit(e.value))
        ev.dirty.connect(lambda e: self.projectChanged.emit(bool(e.value)))
        ev.weights.connect(lambda e: self.weightsChanged.emit(e.value))
        ev.live_weights.connect(lambda e: self.liveWeightsChanged.emit(e.value))
        ev.status.connect(self._on_status)
        ev.dataset.connect(lambda e: self.datasetChanged.emit(e.value))
        ev.history.connect(lambda e: self.historyChanged.emit(e.value))
        ev.training_config.connect(lambda e: self.trainingConfigChanged.emit(e.value))
        ev.user_dataset.connect(lambda e: self.userDatasetChanged.emit(e.value))
        ev.data_state.connect(lambda e: self.dataStateChanged.emit(e.value))
        ev.runs.connect(lambda e: self.runsChanged.emit(e.value))
        self._active = self.workspace.status.active

    def _on_status(self, event: Event) -> None:
        self.statusChanged.emit(event.value)
        active = event.value.active
        if active != self._active:
            self._active = active
            self.trainingStateChanged.emit(active)

    # ---- reads (the workspace's fields) -----------------------------------------------------
    @property
    def document(self) -> Document:
        return self.workspace.document

    @property
    def spec(self) -> NetworkSpec:
        return self.workspace.spec

    @property
    def path(self) -> str | None:
        return self.workspace.path

    @property
    def project(self) -> Project | None:
        return self.workspace.project

    @property
    def weights(self) -> Weights | None:
        return self.workspace.weights

    @property
    def optimizer_state(self) -> Weights | None:
        return self.workspace.optimizer_state

    @property
    def live_weights(self) -> Weights | None:
        return self.workspace.live_weights

    @property
    def history(self) -> RunHistory:
        return self.workspace.history

    @property
    def runs(self) -> list[Any]:
        """Every training run kept (``project.runs.RunRecord``, oldest first)."""
        return self.workspace.runs

    @property
    def training_config(self) -> TrainingConfig:
        return self.workspace.training_config

    @property
    def user_dataset(self) -> Dataset | None:
        return self.workspace.user_dataset

    @property
    def dataset(self) -> DatasetPair:
        return self.workspace.dataset

    @property
    def datasource(self) -> Any:
        """The project's data as recorded (project.datasource.DataSource) or None."""
        return self.workspace.datasource

    @property
    def data_state(self) -> Any:
        """workspace.DataState: READY, PENDING (an opened project's data not loaded yet) or MISSING."""
        return self.workspace.data_state

    @property
    def status(self) -> TrainingStatus:
        return self.workspace.status

    @property
    def training(self) -> bool:
        """A run exists (running or paused)."""
        return self.workspace.status.active

    @property
    def project_name(self) -> str:
        """The file's name once saved; the template's while the network is still it; else
        "untitled" (``model.naming.project_name``)."""
        from cnnstudio.model.naming import project_name
        return project_name(self.spec, self.path)

    def is_dirty(self) -> bool:
        return self.workspace.is_dirty()

    def weights_fit(self) -> bool:
        return self.workspace.weights_fit()

    def inference_network(self) -> Any:
        return self.workspace.inference_network()

    # ---- writes ----------------------------------------------------------------------------
    def new_project(self, template_name: str) -> None:
        """A fresh project that starts clean (issue 13): no weights, no history, and the default
        training settings (no learning rate left over from the last project); only the data
        choice and the backend stay, as they are about this machine's data, not the project."""
        self.workspace.new_project(template_name)
        old = self.training_config
        self.workspace.set_training_config(TrainingConfig(dataset=old.dataset, val_fraction=old.val_fraction,
                                                          backend=old.backend))

    def open(self, path: str | os.PathLike) -> None:
        """Load ``path``; on error raise the loader's exception and change nothing."""
        self.workspace.open(path)

    def save(self, path: str | os.PathLike | None = None) -> str:
        return self.workspace.save(path)

    def set_weights(self, weights: Weights | None, optimizer_state: Weights | None = None) -> None:
        self.workspace.set_weights(weights, optimizer_state)

    def set_live_weights(self, weights: Weights | None) -> None:
        self.workspace.set_live_weights(weights)

    def set_user_dataset(self, dataset: Dataset | None) -> None:
        self.workspace.set_user_dataset(dataset)

    def set_history(self, history: RunHistory, config: TrainingConfig | None = None) -> None:
        self.workspace.set_history(history, config)

    def set_training_config(self, config: TrainingConfig) -> None:
        self.workspace.set_training_config(config)

    def restore_run(self, number: int, which: str = "last", settings: bool = False) -> Any:
        """Run ``number``'s network (one undoable edit) and ``which`` weights become the current ones;
        with ``settings`` its training settings too (the training form shows them)."""
        return self.workspace.restore_run(number, which, settings)

    def rename_run(self, number: int, name: str) -> Any:
        return self.workspace.rename_run(number, name)

    def delete_run(self, number: int) -> Any:
        return self.workspace.delete_run(number)

    def why_not_delete(self, number: int) -> str | None:
        return self.workspace.why_not_delete(number)

    @property
    def training_run(self) -> int | None:
        """The number of the run training now (once it has finished an epoch), else None."""
        return self.workspace.training_run

    def update_training_config(self, **changes: Any) -> TrainingConfig:
        return self.workspace.update_training_config(**changes)

    def set_status(self, status: TrainingStatus) -> None:
        self.workspace.set_status(status)

    def set_training(self, running: bool) -> None:
        """Running training makes the document read-only (the editor shows a hint)."""
        if bool(running) != self.training:
            self.workspace.set_status(TrainingStatus.RUNNING if running else TrainingStatus.IDLE)

    def set_dataset(self, dataset: DatasetPair) -> None:
        self.workspace.set_dataset(dataset)

    def mark_data_missing(self, problem: str | None = None) -> None:
        self.workspace.mark_data_missing(problem)
