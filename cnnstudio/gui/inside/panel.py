"""The "Feature maps" dock: sample chooser, layer mosaics, enlarged map, learned filters."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QResizeEvent, QShowEvent
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QSplitter,
                             QTabWidget, QToolButton, QVBoxLayout, QWidget)

from cnnstudio.gui.inside.feature_maps import FeatureMapView
from cnnstudio.gui.inside.filters import FiltersView
from cnnstudio.gui.inside.inspector import Inspector
from cnnstudio.gui.inside.map_viewer import MapViewer
from cnnstudio.gui.explain.view import ExplainDialog, open_explain
from cnnstudio.gui.inside.mosaic import as_maps, levels_of

SOURCES = [("validation", "Validation image"), ("drawing", "Drawn digit"), ("file", "Image file...")]
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class FeatureMapsPanel(QWidget):
    """A view of an :class:`Inspector`: every layer's maps for the chosen sample, and the filters."""

    def __init__(self, inspector: Inspector, parent: QWidget | None = None):
        super().__init__(parent)
        self.inspector = inspector
        self.maps = FeatureMapView()
        self.viewer = MapViewer()
        self.filters = FiltersView()
        self._selected: tuple[int, int] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._make_toolbar())
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.maps)
        self.split.addWidget(self.viewer)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.split, "Feature maps")
        self.tabs.addTab(self.filters, "Filters")
        layout.addWidget(self.tabs, 1)
        self.maps.tileClicked.connect(self.open_tile)
        self.viewer.cellClicked.connect(self.explain_cell)
        self.explain_dialog: ExplainDialog | None = None
        inspector.add_view(self)
        inspector.structureChanged.connect(self._on_structure)
        inspector.activationsChanged.connect(self._on_activations)
        inspector.weightsRefreshed.connect(self._on_weights)
        inspector.sampleChanged.connect(self._sync_controls)
        inspector.busyChanged.connect(self._on_busy)
        self._sync_controls()

    def _make_toolbar(self) -> QVBoxLayout:
        bar, second = QHBoxLayout(), QHBoxLayout()
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("Previous validation image")
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setToolTip("Next validation image")
        self.index = QSpinBox()
        self.index.setToolTip("Index of the validation image")
        self.sample_label = QLabel("")
        self.per_map = QCheckBox("Colour scale per map")
        self.per_map.setToolTip("Scale each map to its own range (off: one scale shared by the layer)")
        self.status = QLabel("")
        for w in (QLabel("Sample:"), self.source, self.prev_button, self.index, self.next_button):
            bar.addWidget(w)
        bar.addStretch(1)
        # three rows, so the panel fits a narrow dock (Draw & look at 1024 wide: about 430 px)
        second.addWidget(self.sample_label)
        second.addStretch(1)
        second.addWidget(self.per_map)
        # A long "cannot build" message must not widen the dock; word wrap is not the way: a
        # wrapping label makes the dock's scroll area size the panel by height-for-width, i.e. its
        # preferred height (~940 px), which pushed the enlarged map below the fold. The full text
        # is in the tooltip.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        rows = QVBoxLayout()
        rows.addLayout(bar)
        rows.addLayout(second)
        rows.addWidget(self.status)   # a row of its own: beside the others its start was cut off
        self.source.activated.connect(self._on_source_chosen)
        self.prev_button.clicked.connect(lambda: self.inspector.set_validation_index(self.inspector.val_index - 1))
        self.next_button.clicked.connect(lambda: self.inspector.set_validation_index(self.inspector.val_index + 1))
        self.index.valueChanged.connect(self._on_index_typed)
        self.per_map.toggled.connect(self._on_per_map)
        return rows

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        # In a narrow dock the enlarged map goes below the mosaics instead of beside them.
        super().resizeEvent(event)
        wide = event.size().width() > event.size().height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self.split.orientation():
            # after this resize is done: re-laying out the splitter inside resizeEvent left
            # pyqtgraph's layout at the old width
            QTimer.singleShot(0, lambda: self.split.setOrientation(orientation))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.inspector.view_shown()

    # ---- control -> inspector ------------------------------------------------
    def _on_source_chosen(self, _row: int) -> None:
        if self.source.currentData() == "validation":
            self.inspector.set_validation_index(self.inspector.val_index)
        elif self.source.currentData() == "file":
            self.open_image_file()
        else:
            self.inspector.set_drawing(self.inspector.drawing)

    def ask_image_path(self) -> str | None:
        """The image file to inspect (monkeypatched in tests)."""
        from PyQt6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Inspect an image file", "", IMAGE_FILTER)
        return path or None

    def open_image_file(self, path: str | None = None) -> bool:
        """Show every layer's maps for an image file (fitted to the input); a file that cannot be read
        is named in the status line and the sample stays as it was."""
        from cnnstudio.data.errors import DataError

        path = path or self.ask_image_path()
        if path:
            try:
                self.inspector.set_image_file(path)
                return True
            except (DataError, OSError, ValueError) as exc:
                self.status.setText(str(exc))
                self.status.setToolTip(str(exc))
        self._sync_controls()
        return False

    def _on_index_typed(self, value: int) -> None:
        if value != self.inspector.val_index or self.inspector.source != "validation":
            self.inspector.set_validation_index(value)

    def _on_per_map(self, on: bool) -> None:
        self.maps.per_map = on
        self._on_activations()

    # ---- inspector -> view ---------------------------------------------------
    def _sync_controls(self) -> None:
        ins = self.inspector
        n = ins.validation_count()
        self.source.setCurrentIndex(max(0, self.source.findData(ins.source)))
        self.index.blockSignals(True)
        self.index.setRange(0, max(0, n - 1))
        self.index.setValue(ins.val_index)
        self.index.blockSignals(False)
        on_val = ins.source == "validation" and n > 0
        for w in (self.prev_button, self.next_button, self.index):
            w.setEnabled(on_val)
        note = f" ({ins.sample_note})" if ins.sample_note else ""   # what changed the sample unasked
        if ins.source == "validation":
            self.sample_label.setText((f"label {ins.validation_label()}  ({n} images)" if n else "no dataset") + note)
            self.sample_label.setToolTip(ins.sample_note)
        elif ins.source == "file":
            self.sample_label.setText(ins.file_name + note)
            self.sample_label.setToolTip("; ".join(ins.file_notes + [ins.sample_note] * bool(ins.sample_note))
                                         or ins.file_name)
        else:
            self.sample_label.setText("the digit on the Draw canvas" if ins.drawing is not None
                                      else "draw a digit on the Draw canvas")

    def _on_structure(self) -> None:
        ins = self.inspector
        self.maps.set_rows(ins.labels, [a.shape for a in ins.activations])
        self._selected = None

    def _on_activations(self) -> None:
        ins = self.inspector
        if ins.network is None:
            status = ins.problem or "no network"
        else:
            text = "trained" if ins.trained else "untrained (random initial weights)"
            if ins.trained and ins.state.live_weights is not None:
                text = "training: live weights"
            if ins.activations and not np.isfinite(ins.activations[-1]).all():
                text += " (not finite: the weights diverged, blank maps are NaN)"
            status = f"{text}; {ins.problem}" if ins.problem else text
        self.status.setText(status)
        self.status.setToolTip(status)
        if not ins.activations:
            self.maps.clear_images()
            return
        self.maps.set_activations(ins.activations)
        if self._selected is not None:
            self.open_tile(*self._selected)

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.status.setText("computing (a large network: in the background)...")

    def _on_weights(self) -> None:
        ins = self.inspector
        self.filters.set_filters(ins.conv_weights(), untrained=not ins.trained)

    def show_feature_maps(self) -> None:
        """Bring the "Feature maps" sub-tab to the front (Evaluation's "Feature maps" button
        opened whichever tab was last shown, Filters included)."""
        self.tabs.setCurrentWidget(self.split)

    def open_tile(self, row: int, channel: int) -> None:
        """Enlarge channel ``channel`` of row ``row`` (0 = input, i + 1 = layer i) in the viewer."""
        ins = self.inspector
        if row >= len(ins.activations):
            return
        maps = as_maps(ins.activations[row])
        channel = min(channel, maps.shape[0] - 1)
        values = maps[channel]
        levels = levels_of(values) if self.maps.per_map else levels_of(maps)
        what = f"map {channel}" if ins.activations[row].ndim == 3 else "all values"
        self._selected = (row, channel)
        self.viewer.show_map(row, channel, f"{ins.labels[row]} — {what}", values, levels,
                             vector=ins.activations[row].ndim == 1)   # a vector as bars: click one to explain it

    def explain_cell(self, row: int, channel: int, r: int, c: int) -> None:
        """Open the Explain view for pixel (r, c) of the enlarged map: row i + 1 is layer i (row 0, the
        input, has no arithmetic to show); a flat layer's strip is read in reading order."""
        ins = self.inspector
        if row < 1 or ins.network is None or ins.image is None or row >= len(ins.activations):
            return
        act = ins.activations[row]
        if act.ndim == 3:
            at: tuple[int, ...] = (channel, r, c)
        else:
            at = (r * as_maps(act).shape[2] + c,)
            if at[0] >= act.shape[0]:
                return
        self.explain_dialog = open_explain(self.window(), ins.network, ins.image, row - 1, at,
                                           ins.class_names(), caption=f"{ins.labels[row]}, {self.sample_caption()}")

    def sample_caption(self) -> str:
        """Which image the Explain window explains (its title said only the layer)."""
        ins = self.inspector
        if ins.source == "file":
            return ins.file_name
        if ins.source == "drawing":
            return "the drawn digit"
        label = ins.validation_label()
        return f"validation image {ins.val_index}" + (f" (label {label})" if label else "")

    def selected(self) -> tuple[int, int] | None:
        return self._selected

