"""The sample being inspected and the network's response to it.

``Inspector`` is the small model behind the "see inside" views: the feature-map
panel, the filters view and the drawing panel are views of it and write only
to it (DESIGN principle 2). It follows AppState: when the network or the
weights change it rebuilds the inference network, at most a few times a second
and only for the latest weights, so the views can show filters forming while a
trainer runs without starving it. Which network to show (live, trained or fresh weights,
cached by spec) is decided by ``networks.NetworkCache``; this module is the Qt side.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cnnstudio.engine.layers import LAYER_TYPES
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from cnnstudio.gui.inside.background import forward_quietly, is_heavy, refresh_job
from cnnstudio.gui.inside.networks import NetworkCache, hwc, probabilities, sample_nchw, shape_text

#: refresh at most this often after weights change (4 Hz)
MIN_INTERVAL_MS = 250
#: ... and at least this often, however slow one refresh is
MAX_INTERVAL_MS = 2000


class Inspector(QObject):
    """Current sample (a validation image or the drawn digit) and every layer's activation for it."""

    structureChanged = pyqtSignal()    # the layer list or shapes changed: views rebuild their items
    activationsChanged = pyqtSignal()  # new activations/probabilities for the current sample
    weightsRefreshed = pyqtSignal()    # the network was rebuilt (new weights): filters may have changed
    sampleChanged = pyqtSignal()       # the chosen sample (source or index) changed
    busyChanged = pyqtSignal(bool)     # a large network is being computed in the background

    def __init__(self, state: Any, parent: QObject | None = None, interval_ms: int = MIN_INTERVAL_MS):
        super().__init__(parent)
        self.state = state
        self.interval_ms = interval_ms
        self.network: Any = None
        self.trained = False
        self.problem = ""                       # why there is no network, for the views
        self.source = "validation"              # or "drawing", or "file"
        self.val_index = 0
        self.drawing: np.ndarray | None = None  # uint8 (H, W, C) fitted to the network input
        self.file_image: np.ndarray | None = None   # an image file opened from the panel, fitted likewise
        self.file_name = ""
        self.file_notes: list[str] = []         # what fitting it did (converted, resized, inverted)
        self.file_path = ""                     # where it was read from: fitted again when the input changes
        self.file_fitted: tuple[int, int, int] | None = None   # the input (H, W, C) it was fitted to
        self.file_is_lesson = False             # a lesson's worked example: it stays with the lesson's project
        #: what happened to the sample without the user choosing it (the panel's sample label says it):
        #: the file fitted again to a changed input, or given up for the validation sample
        self.sample_note = ""
        self.image: np.ndarray | None = None    # float32 (C, H, W): what the network sees
        self.labels: list[str] = []             # one per activation, "4 Conv2D  10 x 10 x 16"
        self.activations: list[np.ndarray] = []  # per layer: (C, H, W) or (F,), the input first
        self.probs: np.ndarray | None = None    # (K,)
        self.last_compute_s = 0.0
        self._net_dirty = True
        self._structure: tuple = ()
        self._networks = NetworkCache()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._views: list[Any] = []   # widgets showing this; nothing is computed while all are hidden
        self._pending = False
        self._job: Any = None       # the background refresh of a large network (a TaskThread)
        self._again = False         # something changed while it ran
        for signal in (state.networkChanged, state.weightsChanged, state.liveWeightsChanged):
            signal.connect(self._on_network_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        # New / Open (it fires before the new network's networkChanged)
        state.workspace.events.document.connect(lambda _event: self._on_project_replaced())

    # ---- what the views write ----------------------------------------------------
    def set_validation_index(self, index: int) -> None:
        """Inspect validation image ``index`` (clamped into range)."""
        n = self.validation_count()
        self.val_index = int(np.clip(index, 0, max(0, n - 1)))
        self.source = "validation"
        self.sample_note = ""
        self.sampleChanged.emit()
        self._schedule(0)

    def set_drawing(self, digit: np.ndarray | None) -> None:
        """Inspect a drawn digit: uint8 (H, W, C) at the network's input size, or None when cleared."""
        self.drawing = None if digit is None else np.asarray(digit, dtype=np.uint8)
        self.source = "drawing"
        self.sample_note = ""
        self.sampleChanged.emit()
        self._schedule(0)

    def set_image_file(self, path: str, lesson: bool = False) -> None:
        """Inspect an image file, fitted to the network input (``project.session.load_image_file``:
        converted, resized, inverted as needed); a file it cannot read raises its DataFormatError,
        which names the file, and changes nothing. ``lesson``: a lesson's worked example, which is
        dropped for the validation sample when another project is opened or made new."""
        from pathlib import Path

        from cnnstudio.project.session import load_image_file

        hwc_now = self.input_shape()
        image, notes = load_image_file(path, hwc_now)
        self.file_image, self.file_name, self.file_notes = image, Path(path).name, notes
        self.file_path, self.file_fitted, self.file_is_lesson = str(path), hwc_now, lesson
        self.source = "file"
        self.sample_note = ""
        self.sampleChanged.emit()
        self._schedule(0)

    # ---- data ---------------------------------------------------------------------
    def validation_set(self) -> Any:
        """The validation Dataset, or None when no dataset is loaded."""
        ds = self.state.dataset
        if isinstance(ds, (tuple, list)):
            ds = ds[-1] if ds else None
        return ds

    def validation_count(self) -> int:
        ds = self.validation_set()
        return 0 if ds is None else len(ds)

    def validation_label(self) -> str:
        ds = self.validation_set()
        if ds is None or self.val_index >= len(ds):
            return ""
        return str(ds.class_names[int(ds.y[self.val_index])])

    def class_names(self) -> list[str]:
        ds = self.validation_set()
        k = 0 if self.probs is None else int(self.probs.shape[0])
        names = list(getattr(ds, "class_names", []) or [])
        return names if len(names) == k else [str(i) for i in range(k)]

    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of the current network input."""
        return hwc(self.state.spec.input)

    # ---- refreshing ---------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        """A lesson's example does not follow into another project: back to the validation sample
        (it stayed, silently resized to the next network's input)."""
        if self.file_is_lesson and self.file_image is not None:
            lesson_file = self.file_name
            self.file_image, self.file_name, self.file_notes, self.file_path = None, "", [], ""
            self.file_fitted, self.file_is_lesson = None, False
            if self.source == "file":
                self.source, self.val_index = "validation", 0
                self.sample_note = f"{lesson_file} stays with its lesson"
                self.sampleChanged.emit()

    def _refit_file(self) -> None:
        """An image file opened for another input size is fitted again, from the file, to the new input,
        and the sample label says so; one that cannot be read again gives way to the validation sample."""
        from cnnstudio.data.errors import DataError
        from cnnstudio.project.session import load_image_file

        hwc_now = self.input_shape()
        if self.source != "file" or self.file_image is None or self.file_fitted in (None, hwc_now):
            return
        h, w, c = hwc_now
        try:
            image, notes = load_image_file(self.file_path, hwc_now)
        except (DataError, OSError, ValueError) as exc:
            self.file_image, self.file_fitted = None, None
            self.source, self.val_index = "validation", 0
            self.sample_note = f"{self.file_name} does not fit the new input {h} x {w} x {c} ({exc})"
        else:
            self.file_image, self.file_notes, self.file_fitted = image, notes, hwc_now
            self.sample_note = f"fitted again to the new input {h} x {w} x {c}"
        self.sampleChanged.emit()

    def _on_network_changed(self) -> None:
        self._refit_file()
        self._net_dirty = True
        # While training, weights arrive often: keep to the latest, a few times a second,
        # and back off when one refresh costs a lot (a big network must not starve the trainer).
        self._schedule(int(np.clip(3000 * self.last_compute_s, self.interval_ms, MAX_INTERVAL_MS)))

    def _on_dataset_changed(self) -> None:
        self.val_index = 0
        self.sampleChanged.emit()
        self._schedule(0)

    def add_view(self, widget: Any) -> None:
        """Register a view; while every registered view is hidden, refreshes wait (see view_shown)."""
        self._views.append(widget)

    def view_shown(self) -> None:
        """A view became visible: catch up on what changed while it was hidden."""
        if self._pending:
            self._pending = False
            self._schedule(0)

    def _on_timer(self) -> None:
        # A hidden dock must not cost the editor or the trainer anything (VGG16 takes seconds).
        if self._views and not any(v.isVisible() for v in self._views):
            self._pending = True
            return
        if is_heavy(self.state.document.report):
            self._refresh_in_background()
        else:
            self.refresh_now()

    # ---- large networks: off the GUI thread --------------------------------------
    @property
    def busy(self) -> bool:
        """A background refresh (large network) is running."""
        return self._job is not None

    def _refresh_in_background(self) -> None:
        if self._job is not None:  # one at a time; the latest state is computed when it ends
            self._again = True
            return
        rebuild, self._net_dirty = self._net_dirty, False
        live = self.state.live_weights
        weights = live if live is not None else self.state.weights
        network = None if rebuild else self.network
        if not rebuild and network is None:  # no network could be built: nothing to run
            return
        from cnnstudio.gui.common.tasks import TaskThread
        spec, start = self.state.spec, time.perf_counter()
        self._job = TaskThread(refresh_job(spec, weights, network, self.trained, self._sample_nchw()))
        self._job.succeeded.connect(lambda result: self._background_done(result, rebuild, start))
        self._job.failed.connect(lambda message: self._background_failed(message, start))
        self._job.launch()
        self.busyChanged.emit(True)

    def _background_done(self, result: tuple, rebuilt: bool, start: float) -> None:
        if self._finish_job(start):
            return
        net, trained, problem, x, acts = result
        if rebuilt:
            self.network, self.trained, self.problem = net, trained, problem
            self.weightsRefreshed.emit()
        self._show(x, acts)

    def _background_failed(self, message: str, start: float) -> None:
        if self._finish_job(start):
            return
        self.network, self.trained, self.problem = None, False, f"Cannot build the network: {message}"
        self.weightsRefreshed.emit()
        self._show(None, None)

    def _finish_job(self, start: float) -> bool:
        """End the job; True when its result is stale (something changed meanwhile: go again)."""
        self._job = None
        self.last_compute_s = time.perf_counter() - start
        self.busyChanged.emit(False)
        if self._again:
            self._again = False
            self._net_dirty = True  # the network or weights may have changed while it ran
            self._schedule(0)
            return True
        return False

    def _schedule(self, delay_ms: int) -> None:
        if self._timer.isActive() and self._timer.remainingTime() <= delay_ms:
            return
        self._timer.start(delay_ms)

    def refresh_now(self) -> None:
        """Recompute the network (if stale) and the activations for the current sample, now."""
        self._timer.stop()
        start = time.perf_counter()
        try:
            if self._net_dirty:
                self._rebuild_network()
            self._compute()
        except Exception as exc:  # noqa: BLE001 - shown in the panel, not printed from a Qt slot
            self.problem = f"Cannot compute the feature maps: {exc}"
            self._show(None, None)
        self.last_compute_s = time.perf_counter() - start

    def _rebuild_network(self) -> None:
        self._net_dirty = False
        self.network, self.trained, self.problem = self._networks.choose(self.state)
        self.weightsRefreshed.emit()

    def _sample_nchw(self) -> np.ndarray | None:
        """The current sample as float32 (1, C, H, W), or None when there is none."""
        if self.source in ("drawing", "file"):
            sample = self.drawing if self.source == "drawing" else self.file_image
            if sample is None:
                return None
            x = sample[None]  # fitted to the input when drawn (opened); the input may have changed since
        else:
            ds = self.validation_set()
            if ds is None or len(ds) == 0:
                return None
            x = ds.x[self.val_index:self.val_index + 1]
        return sample_nchw(x, *self.input_shape(), self.state.spec.input)

    def _compute(self) -> None:
        x = self._sample_nchw() if self.network is not None else None
        self._show(x, forward_quietly(self.network, x) if x is not None else None)

    def _show(self, x: np.ndarray | None, acts: list | None) -> None:
        """Publish the activations ``acts`` (the network's, per layer) for the sample x: (1, C, H, W)."""
        if x is None or acts is None or self.network is None:
            self.image, self.activations, self.probs = None, [], None
            self.activationsChanged.emit()
            return
        self.image = x[0]
        self.activations = [x[0]] + [np.asarray(a[0]) for a in acts]
        self.probs = probabilities(self.activations[-1], self._layer_types())
        self._update_labels()
        self.activationsChanged.emit()

    def _layer_types(self) -> list[str]:
        return [str(getattr(layer, "type", type(layer).__name__)) for layer in self.state.spec.layers]

    def _update_labels(self) -> None:
        # numbered from 1 like the editor's blocks (the input is block 0)
        types = ["input"] + [f"{i + 1} {t}" for i, t in enumerate(self._layer_types())]
        shapes = [tuple(a.shape) for a in self.activations]
        self.labels = [f"{name}  {shape_text(s)}" for name, s in zip(types, shapes)]
        structure = tuple(zip(self.labels, shapes))
        if structure != self._structure:
            self._structure = structure
            self.structureChanged.emit()

    def conv_weights(self) -> list[tuple[int, np.ndarray]]:
        """[(layer index, W (filters, C_in, kh, kw))] for every Conv2D layer of the current network."""
        if self.network is None:
            return []
        # Only the kernels: copying every weight (get_weights) took 1 s for VGG16's 138 M parameters.
        layers = getattr(self.network, "layers", [])
        return [(i, np.array(layers[i].params["W"], copy=True)) for i, t in enumerate(self._layer_types())
                if _has_filters(t) and i < len(layers) and "W" in getattr(layers[i], "params", {})]


def _has_filters(type_name: str) -> bool:
    """Layers with learned kernels to draw as filters: weighted (affine) and sliding a window."""
    cls = LAYER_TYPES.get(type_name)
    return cls is not None and cls.affine and cls.window_field is not None
