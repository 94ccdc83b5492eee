"""AppState: the one object every GUI widget is a view of.

It holds the open ``Document`` (network + undo stack), the ``Project``
(weights, history, training config, user dataset), the current file path,
the current dataset and the training flag, and turns changes into Qt signals.
Widgets subscribe to the signals and write only through AppState / document
commands (DESIGN principle 2), never to each other.

The model and project packages are being written in parallel; until they land
the small placeholders at the bottom of this module keep the window importable.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

from PyQt6.QtCore import QObject, pyqtSignal

try:  # the real document (model engineer)
    from cnnstudio.model.document import Document
except ImportError:  # pragma: no cover - only until cnnstudio.model.document lands
    Document = None  # type: ignore[assignment,misc]

try:
    from cnnstudio.model.templates import get_template
except ImportError:  # pragma: no cover
    get_template = None  # type: ignore[assignment]

try:  # the project file (project engineer)
    from cnnstudio.project.file import Project, load_project, save_project
except ImportError:  # pragma: no cover
    Project = load_project = save_project = None  # type: ignore[assignment,misc]

DEFAULT_TEMPLATE = "simple-cnn"


class AppState(QObject):
    """The open project. Signals fire after the change has been applied."""

    networkChanged = pyqtSignal()          # any edit, undo, redo, load
    projectChanged = pyqtSignal()          # path, dirty flag, load
    weightsChanged = pyqtSignal()          # trained weights replaced
    trainingStateChanged = pyqtSignal(bool)
    datasetChanged = pyqtSignal()

    def __init__(self, parent: QObject | None = None, template: str = DEFAULT_TEMPLATE):
        super().__init__(parent)
        self.path: str | None = None
        self.project: Any = None
        self.weights: dict[str, Any] | None = None
        self.training = False
        self.history: list[dict[str, Any]] = []
        self.training_config: Any = None
        self._dataset: Any = None
        self._saved_revision = 0
        self._revision = 0
        self._net_cache: tuple[int, int, Any] | None = None
        self._weights_revision = 0
        self.document: Any = None
        self._install_document(_make_document(_template_spec(template)))

    # ---- document -----------------------------------------------------------
    def _install_document(self, document: Any) -> None:
        self.document = document
        document.subscribe(self._on_document_changed)

    def _on_document_changed(self, *args: Any) -> None:
        self._revision += 1
        self.networkChanged.emit()
        self.projectChanged.emit()

    @property
    def spec(self) -> Any:
        """The current NetworkSpec (shortcut for ``document.spec``)."""
        return self.document.spec

    def is_dirty(self) -> bool:
        return self._revision != self._saved_revision

    # ---- projects -----------------------------------------------------------
    def new_project(self, template_name: str) -> None:
        """Replace everything with a fresh project from a template (no file, not dirty)."""
        spec = _template_spec(template_name)
        self._replace(_make_document(spec), project=None, path=None, weights=None)

    def open(self, path: str) -> None:
        """Load ``path``; on error raise the loader's exception and change nothing."""
        if load_project is None:
            raise RuntimeError("Opening project files needs cnnstudio.project.file, which is not available yet")
        project = load_project(path)  # raises ProjectFileError with the loader's message
        weights = getattr(project, "weights", None) or None
        self._replace(_make_document(project.network), project=project, path=os.fspath(path), weights=weights)

    def save(self, path: str | None = None) -> str:
        """Save to ``path`` (or the current path); returns the path written."""
        target = os.fspath(path) if path is not None else self.path
        if target is None:
            raise ValueError("No file name: choose one with Save As")
        if save_project is None or Project is None:
            raise RuntimeError("Saving project files needs cnnstudio.project.file, which is not available yet")
        project = self._project_for_save()
        save_project(target, project)
        self.project = project
        self.path = target
        self._saved_revision = self._revision
        self.projectChanged.emit()
        return target

    def _project_for_save(self) -> Any:
        """The Project to write: the current network and weights, other fields kept from the loaded one."""
        if self.project is None:
            return Project(network=self.spec, weights=self.weights or None)
        return dataclasses.replace(self.project, network=self.spec, weights=self.weights or None)

    def _replace(self, document: Any, project: Any, path: str | None, weights: dict | None) -> None:
        if self.document is not None:
            _unsubscribe(self.document, self._on_document_changed)
        self._install_document(document)
        document.read_only = self.training
        self.project = project
        self.path = path
        self.weights = weights
        self._weights_revision += 1
        self._revision += 1
        self._saved_revision = self._revision
        self.networkChanged.emit()
        self.weightsChanged.emit()
        self.projectChanged.emit()

    # ---- weights, training ------------------------------------------------
    def set_weights(self, weights: dict[str, Any] | None) -> None:
        """Replace the trained weights (name -> host NumPy array) and mark the project dirty."""
        self.weights = dict(weights) if weights is not None else None
        self._weights_revision += 1
        self._revision += 1
        self.weightsChanged.emit()
        self.projectChanged.emit()

    def set_training(self, running: bool) -> None:
        """Running training makes the document read-only (the editor shows a hint)."""
        running = bool(running)
        if running == self.training:
            return
        self.training = running
        self.document.read_only = running
        self.trainingStateChanged.emit(running)

    # ---- dataset ------------------------------------------------------------
    @property
    def dataset(self) -> Any:
        """The current (train, val) datasets; the bundled sample split by default, loaded lazily."""
        if self._dataset is None:
            try:
                from cnnstudio.data import sample_split
            except ImportError:
                return None
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
            from cnnstudio.model import build_network
            net = build_network(self.spec)
            net.set_weights(self.weights)
        except Exception:  # invalid spec or weights of another shape: nothing to infer with
            return None
        return net


# ---- helpers and placeholders -----------------------------------------------
def _template_spec(name: str) -> Any:
    if get_template is not None:
        return get_template(name)
    return _PlaceholderSpec(name=name)


def _make_document(spec: Any) -> Any:
    if Document is not None:
        return Document(spec)
    return _PlaceholderDocument(spec)


def _unsubscribe(document: Any, callback: Callable) -> None:
    unsubscribe = getattr(document, "unsubscribe", None)
    if unsubscribe is not None:
        unsubscribe(callback)


class _PlaceholderSpec:
    """Stand-in for model.NetworkSpec until it lands: a name, an input and no layers."""

    def __init__(self, name: str = "untitled", input: tuple[int, int, int] = (28, 28, 1), layers: list | None = None):
        self.name = name
        self.input = input
        self.layers = list(layers or [])


class _PlaceholderDocument:
    """Stand-in for model.document.Document with the same small API."""

    def __init__(self, spec: Any):
        self.spec = spec
        self.read_only = False
        self._undo: list[Any] = []
        self._redo: list[Any] = []
        self._listeners: list[Callable] = []

    def subscribe(self, callback: Callable) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def execute(self, cmd: Any) -> None:
        if self.read_only:
            raise RuntimeError("The network is read-only while training runs")
        self.spec = cmd.redo(self.spec)
        self._undo.append(cmd)
        self._redo.clear()
        self._notify()

    def undo(self) -> None:
        if self._undo:
            cmd = self._undo.pop()
            self.spec = cmd.undo(self.spec)
            self._redo.append(cmd)
            self._notify()

    def redo(self) -> None:
        if self._redo:
            cmd = self._redo.pop()
            self.spec = cmd.redo(self.spec)
            self._undo.append(cmd)
            self._notify()

    def _notify(self) -> None:
        for cb in list(self._listeners):
            cb()
