"""The "Dataset" dock: what the current dataset holds, and what augmentation does to it.

A view of ``AppState.dataset`` ((train, val) Datasets): name and source, image size
and channels, split counts, a grid of a few samples per class, class counts, and an
augmentation preview (the data layer's Augmenter on a few training images, re-rolled
with a button). Buttons open the folder-import and download dialogs; what they load
becomes ``AppState``'s dataset.

It also loads an opened project's recorded data (``project.datasource``) in the background;
data that is not where the record says opens the locate dialog (what it expects, where it was),
and if the person goes on without it the panel says so (never the sample in its place).
"""

from __future__ import annotations

import html
import os
from typing import Any

import numpy as np
from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import (QBoxLayout, QCheckBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                             QMessageBox, QPushButton, QVBoxLayout, QWidget)

from cnnstudio.data import Augmenter, preview, to_float_nchw
from cnnstudio.data.dataset import resize_images
from cnnstudio.gui.datasets.charts import ClassCountsChart
from cnnstudio.gui.dock_panel import ResponsivePanel
from cnnstudio.gui.datasets.mosaic import ImageGrid, float_to_uint8, pick_per_class
from cnnstudio.gui.common.tasks import TaskThread
from cnnstudio.model import TrainingConfig
from cnnstudio.project import datasource
from cnnstudio.project.workspace import DataState

PER_CLASS = 8
THUMB_PX = 64
MAX_CLASS_ROWS = 20
PREVIEW_COUNT = 8
#: (field, label, maximum, step, decimals, tooltip); the defaults come from the Augmenter
AUG_FIELDS = [   # short labels: two pairs a row fit the 400 px Draw & look column (units in the tips)
    ("shift", "Shift (px)", 8.0, 0.5, 1, "Largest random translation, in pixels"),
    ("rotation", "Rotation (°)", 45.0, 1.0, 0, "Largest random turn, in degrees"),
    ("scale", "Scale (±)", 0.5, 0.05, 2, "Largest random zoom: 0.1 zooms by up to +-10%"),
    ("noise", "Noise (std)", 0.5, 0.01, 2, "Standard deviation of Gaussian noise added to [0, 1] pixels"),
]


def thumbnails(x: np.ndarray) -> np.ndarray:
    """x: uint8 (N, H, W, C) -> at most THUMB_PX on the longer side (big photos stay cheap to show)."""
    h, w = x.shape[1:3]
    scale = THUMB_PX / max(h, w)
    if scale >= 1 or len(x) == 0:
        return x
    return resize_images(x, max(1, round(h * scale)), max(1, round(w * scale)))


def split_parts(dataset: Any) -> tuple[Any, Any]:
    """(train, val) from ``AppState.dataset`` ((train, val) or one Dataset -> (it, None))."""
    if isinstance(dataset, (tuple, list)):
        return dataset[0], (dataset[-1] if len(dataset) > 1 else None)
    return dataset, None


def describe(train: Any, val: Any) -> str:
    """One line: image size and channels, classes, split counts, source."""
    h, w, c = train.image_shape
    kind = "grayscale" if c == 1 else "colour"
    val_text = f"{len(val):,} validation" if val is not None else "no validation split yet"
    source = f" · source: {train.source}" if train.source else ""
    return (f"{h} x {w} x {c} ({kind}) · {train.num_classes} classes · {len(train):,} training / "
            f"{val_text} images{source}")


def augmentation_defaults() -> dict:
    """The training config's augmentation settings (the defaults live there)."""
    config = TrainingConfig()
    return {name: getattr(config, name) for name in Augmenter().get_config()}


class DatasetBrowser(ResponsivePanel):
    """Signals: ``augmentationChanged(dict)`` (Augmenter settings), ``useAugmentationChanged(bool)``."""

    augmentationChanged = pyqtSignal(dict)
    useAugmentationChanged = pyqtSignal(bool)

    def __init__(self, state: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("datasetBrowser")
        self.state = state
        self.seed = 0
        self.train: Any = None
        self.val: Any = None
        self._showing = False  # showing the workspace's settings: not an edit to write back
        self._loader: TaskThread | None = None      # loading an opened project's data
        self.locate_dialog: Any = None               # the open "Locate the project's data" dialog
        self._build()
        self._show_config(state.training_config)
        state.datasetChanged.connect(self.refresh)
        state.trainingConfigChanged.connect(self._show_config)
        state.dataStateChanged.connect(self._on_data_state)
        self.refresh()
        if state.data_state is DataState.PENDING:   # a project opened before this panel existed
            QTimer.singleShot(0, self.load_project_data)

    # ---- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 13pt")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.sample_button = QPushButton("Bundled sample")
        self.sample_button.setToolTip("5,000 MNIST digits that ship with CNN Studio (no download)")
        self.download_button = QPushButton("Download...")
        self.download_button.setToolTip("MNIST, Fashion-MNIST, KMNIST or CIFAR-10: downloaded once, with progress")
        self.import_button = QPushButton("Import folder...")
        self.drawings_button = QPushButton("My drawings")
        self.drawings_button.setToolTip("The digits added from the Draw panel (saved with the project)")
        self.drawings_button.clicked.connect(self.use_drawings)
        self.sample_button.clicked.connect(self.use_sample)
        self.download_button.clicked.connect(self.open_download_dialog)
        self.import_button.setToolTip("Your own images: one sub-folder per class (PNG, JPEG, BMP)")
        self.import_button.clicked.connect(self.open_import_dialog)
        self.locate_button = QPushButton("Locate data...")
        self.locate_button.setToolTip("Show where the project's data is now: the same images and split are used")
        self.locate_button.clicked.connect(lambda: self.ask_locate(self._missing_text()))
        self.locate_button.setVisible(False)
        # two rows: on one the five buttons held the panel at 416 px, cutting "Import folder..." and
        # the info line in Draw & look at 1024x640 (the middle column is ~400 px there)
        buttons = QVBoxLayout()
        for row_buttons in ((self.locate_button, self.sample_button, self.drawings_button),
                            (self.download_button, self.import_button)):
            row = QHBoxLayout()
            for b in row_buttons:
                row.addWidget(b)
            row.addStretch(1)
            buttons.addLayout(row)

        self.grid = ImageGrid(min_height=240)
        samples = self.samples_box = QGroupBox("Samples per class (training set)")
        QVBoxLayout(samples).addWidget(self.grid.widget)
        self.counts = ClassCountsChart()
        counts = QGroupBox("Images per class")
        QVBoxLayout(counts).addWidget(self.counts.widget)

        right = QVBoxLayout()
        right.addWidget(counts, 2)
        right.addWidget(self._augment_group(), 3)
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.addWidget(samples, 1)
        self.body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        layout.addLayout(self.body, 1)



    def _augment_group(self) -> QGroupBox:
        box = QGroupBox("Augmentation preview")
        defaults = augmentation_defaults()
        grid = QGridLayout()
        self.aug_spins: dict[str, QDoubleSpinBox] = {}
        for k, (name, label, top, step, decimals, tip) in enumerate(AUG_FIELDS):
            spin = QDoubleSpinBox()
            spin.setRange(0.0, top)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setValue(float(defaults[name]))
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._on_augment_edited)
            self.aug_spins[name] = spin
            grid.addWidget(QLabel(label), k // 2, 2 * (k % 2))
            grid.addWidget(spin, k // 2, 2 * (k % 2) + 1)
        self.flip = QCheckBox("Random left-right flip (photos only)")   # fits a 400 px column
        self.flip.setToolTip("For photos; not for digits or letters (a flipped 3 is not a 3)")
        self.flip.setChecked(bool(defaults["flip"]))
        self.flip.toggled.connect(self._on_augment_edited)
        grid.addWidget(self.flip, 2, 0, 1, 4)
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("Draw new random transformations")
        self.reroll_button.clicked.connect(self.reroll)
        self.use_for_training = QCheckBox("Use these settings when training")
        self.use_for_training.toggled.connect(self.useAugmentationChanged)
        self.use_for_training.toggled.connect(self._use_toggled)
        row = QHBoxLayout()
        row.addWidget(self.reroll_button)
        row.addWidget(self.use_for_training)
        row.addStretch(1)
        grid.addLayout(row, 3, 0, 1, 4)
        self.preview = ImageGrid(min_height=100)
        col = QVBoxLayout(box)
        col.addLayout(grid)
        col.addWidget(self.preview.widget)
        return box

    # ---- dataset -> views ----------------------------------------------------------------
    def refresh(self) -> None:
        """Show ``state.dataset`` (called when it changes)."""
        self.train, self.val = split_parts(self.state.dataset)
        train, val = self.train, self.val
        self.title.setText(train.name.replace(" (train)", ""))
        problem = datasource.missing_problem(train)
        missing = problem is not None and self.state.data_state is DataState.MISSING
        src = self.state.datasource
        self.locate_button.setVisible(missing and src is not None and src.kind in ("folder", "file"))
        if problem is not None:
            self.title.setText(train.name.replace(" (train)", "") + (" (data missing)" if missing else " (loading)"))
            style = "color: #b03a10" if missing else "color: palette(mid)"
            self.info.setText(f"<span style='{style}'>{html.escape(problem[:1].upper() + problem[1:])}.</span>")
        else:
            notes = " ".join(getattr(datasource.source_of(train), "notes", ()) or ())
            self.info.setText(describe(train, val) + (f"<br><span style='color: #b03a10'>{html.escape(notes)}"
                                                      "</span>" if notes else ""))
        k = train.num_classes
        shown = min(k, MAX_CLASS_ROWS)
        picks = pick_per_class(train.y, shown, PER_CLASS, seed=0)
        rows = [thumbnails(train.x[p]) for p in picks]
        self.grid.set_rows(rows, [str(n) for n in train.class_names[:shown]],
                           rows[0].shape[1:] if rows else train.image_shape)
        more = f", first {shown} of {k} classes" if k > shown else ""
        self.samples_box.setTitle(f"Samples per class (training set{more})" if len(train) else
                                  "Samples per class (no images: the project's data is not loaded)")
        for view in (self.grid.widget, self.preview.widget):   # nothing old (or the sample) in their place
            view.setVisible(len(train) > 0)
        val_counts = val.class_counts() if val is not None else np.zeros(k, np.int64)
        self.counts.set_counts(train.class_counts(), val_counts[:k], list(train.class_names))
        self.flip.setChecked(train.image_shape[2] == 3 and self.flip.isChecked())
        self._update_preview()

    # ---- augmentation -----------------------------------------------------------------
    def augmentation(self) -> dict:
        """The Augmenter settings the controls describe."""
        cfg = {name: float(spin.value()) for name, spin in self.aug_spins.items()}
        cfg["flip"] = self.flip.isChecked()
        return cfg

    def set_augmentation(self, settings: dict) -> None:
        """Show these Augmenter settings (e.g. a reopened project's); unknown keys are ignored."""
        for name, spin in self.aug_spins.items():
            if name in settings:
                spin.setValue(float(settings[name]))
        if "flip" in settings:
            self.flip.setChecked(bool(settings["flip"]))

    def _on_augment_edited(self) -> None:
        self._update_preview()
        if not self._showing:  # the training settings (workspace) hold them: the training panel reads them there
            self.state.update_training_config(**self.augmentation())
        self.augmentationChanged.emit(self.augmentation())

    def _use_toggled(self, on: bool) -> None:
        if not self._showing:
            self.state.update_training_config(augment=on)

    def _show_config(self, config: Any) -> None:
        """Show the workspace's augmentation settings (a reopened project's, the training panel's switch)."""
        self._showing = True
        try:
            self.set_augmentation({name: getattr(config, name) for name in self.augmentation()})
            self.use_for_training.setChecked(config.augment)
        finally:
            self._showing = False

    def reroll(self) -> None:
        self.seed += 1
        self._update_preview()

    def preview_sources(self) -> np.ndarray:
        """uint8 (n, H, W, C): the training images the preview augments (one per class, cycled)."""
        train = self.train
        firsts = [p[0] for p in pick_per_class(train.y, train.num_classes, 1) if len(p)]
        idx = np.array(firsts or [0], np.int64)
        return train.x[idx[np.arange(PREVIEW_COUNT) % len(idx)]]

    def augmented(self) -> np.ndarray:
        """uint8 (2 * n, H, W, C): two rows of augmented variants for the current seed."""
        src = to_float_nchw(self.preview_sources())
        aug = Augmenter(**self.augmentation())
        rows = [preview(aug, src, n=len(src), seed=self.seed * 2 + r) for r in range(2)]
        return float_to_uint8(np.concatenate(rows))

    def _update_preview(self) -> None:
        if self.train is None or len(self.train) == 0:
            return
        src = self.preview_sources()
        out = self.augmented()
        n = len(src)
        self.preview.set_rows([src, out[:n], out[n:]], ["original", "augmented", "augmented"],
                              self.train.image_shape)

    # ---- actions ------------------------------------------------------------------------
    def use_sample(self) -> None:
        from cnnstudio.data import sample_split
        self.state.set_dataset(sample_split())

    def use_drawings(self) -> None:
        """The drawn digits as the dataset, split like an imported folder (stratified, seed 0)."""
        drawings = self.state.user_dataset
        if drawings is None or len(drawings) < 2:
            self.show_error("No drawings yet", "Draw digits in the Draw panel and add them with "
                            "\"Add to dataset\" first (at least two).")
            return
        train, val = datasource.record_split(drawings, 0.2, 0, kind="drawings", name=drawings.name)
        self.state.set_dataset((train, val))

    def open_import_dialog(self) -> None:
        from cnnstudio.gui.datasets.import_dialog import ImportFolderDialog
        dialog = ImportFolderDialog(self.state, self)
        dialog.exec()

    def open_download_dialog(self) -> None:
        from cnnstudio.gui.common.download_dialog import DownloadDialog
        dialog = DownloadDialog(self.state, self)
        dialog.exec()

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)

    # ---- an opened project's data ---------------------------------------------------------------
    def _on_data_state(self, data_state: Any) -> None:
        self.refresh()
        if data_state is DataState.PENDING:
            self.load_project_data()

    def _missing_text(self) -> str:
        return datasource.missing_problem(self.train) or ""

    def load_project_data(self) -> None:
        """Load the opened project's recorded data: the sample, a standard dataset or the drawings
        at once; a folder or file in the background. Not where recorded: the locate dialog."""
        src = self.state.datasource
        if src is None or self.state.data_state is not DataState.PENDING or self._loader is not None:
            return
        if src.kind in ("sample", "standard", "drawings"):
            try:
                self.state.workspace.load_data()
            except Exception as exc:  # noqa: BLE001 - not downloaded, no drawings: say so where the data shows
                self.state.mark_data_missing(str(getattr(exc, "problem", None) or exc))
            return
        if not os.path.lexists(src.path or ""):
            self.ask_locate(src.missing_message())
            return
        self._loader = TaskThread(lambda report, cancel: datasource.load(
            src, progress=lambda done, total: report((done, total)), cancel=cancel))
        self._loader.succeeded.connect(lambda pair: self._on_project_data(src, pair))
        self._loader.failed.connect(lambda message: self._on_project_data_failed(src, message))
        self._loader.cancelled.connect(lambda message: self._on_project_data_failed(src, message))
        self._loader.finished.connect(self._on_loader_done)
        self._loader.launch()

    def _still_waiting_for(self, src: Any) -> bool:
        return self.state.datasource is src and self.state.data_state is DataState.PENDING

    def _on_project_data(self, src: Any, pair: tuple) -> None:
        if self._still_waiting_for(src):   # not another project opened meanwhile
            self.state.set_dataset((pair[0], pair[1]))

    def _on_project_data_failed(self, src: Any, message: str) -> None:
        if self._still_waiting_for(src):
            self.ask_locate(message)

    def _on_loader_done(self) -> None:
        self._loader = None
        if self.state.data_state is DataState.PENDING and self.state.datasource is not None:
            self.load_project_data()   # another project was opened while this one's data loaded

    def ask_locate(self, problem: str) -> None:
        """The locate dialog (window-modal, not blocking): found -> the dataset; closed without it
        -> the data is marked missing (the panels say so)."""
        src = self.state.datasource
        if src is None or self.locate_dialog is not None:
            return
        if src.kind not in ("folder", "file"):   # a download or the drawings: nothing to locate
            self.state.mark_data_missing(problem)
            return
        from cnnstudio.gui.datasets.locate_dialog import LocateDataDialog

        dialog = self.locate_dialog = LocateDataDialog(self.state, src, problem, self)
        dialog.finished.connect(lambda result: self._on_locate_done(dialog, problem))
        dialog.open()

    def _on_locate_done(self, dialog: Any, problem: str) -> None:
        self.locate_dialog = None
        if dialog.loaded is None and self.state.datasource is dialog.source:
            self.state.mark_data_missing(problem)
        dialog.deleteLater()
