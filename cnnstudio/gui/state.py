"""AppState: the one object every GUI widget is a view of.

It holds the open ``Document`` (network + undo stack), the ``Project``
(weights, history, training config, user dataset), the current file path,
the current dataset and the training flag, and turns changes into Qt signals.
Widgets subscribe to the signals and write only through AppState / document
commands (DESIGN principle 2), never to each other.

Dirty = the document has unsaved edits (its own clean marker, so undoing back
to the saved network is clean again) or the weights/history changed since saving.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from cnnstudio.model.document import Document
from cnnstudio.model.templates import get_template
from cnnstudio.data.sample import sample_split
from cnnstudio.project.file import Project, load_project, new_history, save_project
from cnnstudio.project.session import build_with_weights
from cnnstudio.project.weights import check_weights

DEFAULT_TEMPLATE = "simple-cnn"


class AppState(QObject):
    """The open project. Signals fire after the change has been applied."""

    networkChanged = pyqtSignal()          # any edit, undo, redo, load
    projectChanged = pyqtSignal()          # path, dirty flag, load
    weightsChanged = pyqtSignal()          # trained weights replaced
    liveWeightsChanged = pyqtSignal()      # a run's in-progress weights (a few times a second), or cleared
    trainingStateChanged = pyqtSignal(bool)
    datasetChanged = pyqtSignal()

    def __init__(self, parent: QObject | None = None, template: str = DEFAULT_TEMPLATE):
        super().__init__(parent)
        self.path: str | None = None
        self.project: Project | None = None
        self.weights: dict[str, Any] | None = None
        # The running trainer's weights mid-epoch (host copies), for live views only: never saved,
        # never dirty; ``weights`` stays the last completed epoch's, which is what a save keeps.
        self.live_weights: dict[str, Any] | None = None
        self.optimizer_state: dict[str, Any] | None = None  # the optimizer's moments that go with ``weights``
        self.training = False
        self.history: dict[str, Any] = new_history()
        self.training_config: Any = None
        self.user_dataset: Any = None
        self._dataset: Any = None
        self._extra_dirty = False  # weights or history changed since the last save/load
        self._revision = 0
        self._net_cache: tuple[int, int, Any] | None = None
        self._weights_revision = 0
        self.document: Document = Document(get_template(template))
        self.document.subscribe(self._on_document_changed)

    # ---- document -----------------------------------------------------------
    def _on_document_changed(self, event: Any) -> None:
        if event.action != "clean":  # "clean" only flips the saved flag
            self._revision += 1
            self.networkChanged.emit()
        self.projectChanged.emit()

    @property
    def spec(self) -> Any:
        """The current NetworkSpec (shortcut for ``document.spec``)."""
        return self.document.spec

    def is_dirty(self) -> bool:
        return self.document.is_dirty or self._extra_dirty

    # ---- projects -----------------------------------------------------------
    def new_project(self, template_name: str) -> None:
        """Replace everything with a fresh project from a template (no file, not dirty)."""
        self._replace(get_template(template_name), project=None, path=None)

    def open(self, path: str) -> None:
        """Load ``path``; on error raise the loader's exception and change nothing."""
        project = load_project(path)  # raises ProjectFileError with the loader's message
        self._replace(project.network, project=project, path=os.fspath(path))

    def save(self, path: str | None = None) -> str:
        """Save to ``path`` (or the current path); returns the path written."""
        target = os.fspath(path) if path is not None else self.path
        if target is None:
            raise ValueError("No file name: choose one with Save As")
        project = self._project_for_save()
        save_project(target, project)  # atomic: a failure leaves the old file and this state as they were
        self.project = project
        self.path = target
        self._extra_dirty = False
        self.document.set_clean()
        self.projectChanged.emit()
        return target

    def _project_for_save(self) -> Any:
        """The Project to write: the current network and weights, other fields kept from the loaded one."""
        # Weights of the network before later edits would make the file unopenable (the loader
        # refuses weights that do not fit): they are left out, the edited network is saved.
        keep = bool(self.weights) and self.weights_fit()
        fields = {"network": self.spec, "weights": self.weights if keep else None,
                  "optimizer_state": (self.optimizer_state or None) if keep else None,
                  "history": self.history,
                  "training_config": self.training_config, "user_dataset": self.user_dataset}
        if self.project is None:
            return Project(**fields)
        return dataclasses.replace(self.project, **fields)

    def weights_fit(self) -> bool:
        """True when the trained weights (if any) fit the current network, so a save keeps them."""
        if not self.weights:
            return True
        try:
            check_weights(self.spec, self.weights)
        except ValueError:  # WeightsMismatch, or a network whose shapes do not work out
            return False
        return True

    def _replace(self, spec: Any, project: Project | None, path: str | None) -> None:
        """Swap in another network (fresh undo history, clean) and the project's data."""
        if self.training:
            raise RuntimeError("Stop training before opening another project")
        self.document.unsubscribe(self._on_document_changed)
        self.document = Document(spec)
        self.document.subscribe(self._on_document_changed)
        self.project = project
        self.path = path
        self.weights = (project.weights or None) if project is not None else None
        self.live_weights = None
        self.optimizer_state = (project.optimizer_state or None) if project is not None else None
        self.history = project.history if project is not None else new_history()
        self.training_config = project.training_config if project is not None else None
        self.user_dataset = project.user_dataset if project is not None else None
        self._extra_dirty = False
        self._weights_revision += 1
        self._revision += 1
        self.networkChanged.emit()
        self.weightsChanged.emit()
        self.projectChanged.emit()

    # ---- weights, training ------------------------------------------------
    def set_weights(self, weights: dict[str, Any] | None, optimizer_state: dict[str, Any] | None = None) -> None:
        """Replace the trained weights (name -> host NumPy array) and mark the project dirty.

        ``optimizer_state``: the optimizer's state after those weights (engine ``get_state()``), saved
        with them so a reopened project trains on where it stopped; None drops the old (stale) one.
        """
        self.weights = dict(weights) if weights is not None else None
        self.optimizer_state = dict(optimizer_state) if optimizer_state else None
        self.live_weights = None  # older than these
        self._weights_revision += 1
        self._extra_dirty = True
        self.weightsChanged.emit()
        self.projectChanged.emit()

    def set_live_weights(self, weights: dict[str, Any] | None) -> None:
        """Publish the running trainer's current weights (name -> host array) to live views; None clears."""
        self.live_weights = weights
        self.liveWeightsChanged.emit()

    def set_user_dataset(self, dataset: Any) -> None:
        """Replace the drawn-digit dataset (data.Dataset or None); saved with the project."""
        self.user_dataset = dataset
        self._extra_dirty = True
        self.projectChanged.emit()

    def set_training(self, running: bool) -> None:
        """Running training makes the document read-only (the editor shows a hint)."""
        running = bool(running)
        if running == self.training:
            return
        self.training = running
        self.document.read_only = running
        self.trainingStateChanged.emit(running)
        if not running and self.live_weights is not None:
            # the run ended mid-epoch: views go back to the kept (last completed epoch's) weights
            self.set_live_weights(None)

    def set_history(self, history: dict[str, Any], config: Any = None) -> None:
        """Store a run's history (and its TrainingConfig) for the next save."""
        self.history = history
        if config is not None:
            self.training_config = config
        self._extra_dirty = True
        self.projectChanged.emit()

    # ---- dataset ------------------------------------------------------------
    @property
    def dataset(self) -> Any:
        """The current (train, val) datasets; the bundled sample split by default, loaded lazily."""
        if self._dataset is None:
            self._dataset = sample_split()
        return self._dataset

    def set_dataset(self, dataset: Any) -> None:
        self._dataset = dataset
        self.datasetChanged.emit()

    # ---- inference ----------------------------------------------------------
    def inference_network(self) -> Any:
        """An engine Network for the current spec and weights, or None (invalid or untrained).

        Cached; rebuilt only after the network or the weights change.
        """
        key = (self._revision, self._weights_revision)
        if self._net_cache is not None and self._net_cache[:2] == key:
            return self._net_cache[2]
        net = self._build_inference_network()
        self._net_cache = (key[0], key[1], net)
        return net

    def _build_inference_network(self) -> Any:
        if not self.weights:
            return None
        try:
            return build_with_weights(self.spec, self.weights)
        except Exception:  # invalid spec or weights of another shape: nothing to infer with
            return None
