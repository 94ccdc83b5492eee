"""The "Draw" dock: draw a digit, see what the network sees and what it answers.

Colour networks get the grey ink replicated into their three channels (and the
28x28 digit resized to their input), so the canvas works for every network.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QEvent, Qt, QTimer
from PyQt6.QtGui import QImage, QPixmap, QResizeEvent, QShowEvent
from PyQt6.QtWidgets import (QBoxLayout, QGridLayout, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSpinBox,
                             QVBoxLayout, QWidget)

from cnnstudio.data.drawing import fit_to_input, preprocess_drawing
from cnnstudio.gui.inside.canvas import DrawingCanvas
from cnnstudio.gui.inside.inspector import Inspector
from cnnstudio.gui.inside.prediction import PredictionView
from cnnstudio.gui.inside.user_examples import add_user_example, user_dataset

PREVIEW_PX = 112
#: the least room (pixels) for the canvas beside the prediction; less: the prediction goes below
SIDE_BY_SIDE_PX = 600
#: while the mouse moves, preprocess + predict at most this often (ms)
MOVE_THROTTLE_MS = 40


class DrawingPanel(QWidget):
    """Canvas + brush/clear/undo, the 28x28 preview, the prediction, and "add to dataset"."""

    def __init__(self, inspector: Inspector, parent: QWidget | None = None):
        super().__init__(parent)
        self.inspector = inspector
        self.state = inspector.state
        self.canvas = DrawingCanvas()
        self.prediction = PredictionView()
        self.digit: np.ndarray | None = None   # uint8 (28, 28) after MNIST preprocessing
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_PX, PREVIEW_PX)
        self.preview.setStyleSheet("background: black; border: 1px solid #555")
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(MOVE_THROTTLE_MS)
        self._throttle.timeout.connect(self.update_drawing)
        self._watched: QWidget | None = None   # the dock's scroll-area viewport, watched for resizes
        self._build_layout()
        self.canvas.changed.connect(self._on_canvas_moved)
        self.canvas.strokeFinished.connect(self.update_drawing)
        inspector.activationsChanged.connect(self._on_activations)
        self.prediction.barClicked.connect(self.explain_class)   # a bar: how its probability was computed
        inspector.add_view(self)
        # New/Open replace the project and its drawings: the count must follow
        self.state.projectChanged.connect(self._show_count)
        self.state.networkChanged.connect(self._show_caption)
        self._show_count()
        self._show_caption()

    def _build_layout(self) -> None:
        self.brush = QSpinBox()
        self.brush.setRange(4, 60)
        self.brush.setValue(self.canvas.brush)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Brush size (the canvas is 280 x 280 pixels)")
        self.brush.setAccessibleName("Brush")
        self.brush.valueChanged.connect(self.canvas.set_brush)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.label_spin = QSpinBox()
        self.label_spin.setRange(0, 9)
        self.label_spin.valueChanged.connect(self._show_label_name)
        self.add_button = QPushButton("Add to dataset")
        self.add_button.setToolTip("Store this drawing with the chosen label in the project's user dataset")
        self.add_button.clicked.connect(self.add_to_dataset)
        self.count = QLabel("")
        self.why_button = QPushButton("Why?")
        self.why_button.setToolTip("Saliency: which pixels made the network say this (input gradient, Grad-CAM, "
                                   "occlusion), for its answer and the runner-up")
        self.why_button.clicked.connect(self.why)
        # short enough for a narrow Draw dock (Draw & look at 1024 wide): "Brush" is the spin box's tooltip
        tools = QHBoxLayout()
        for w in (self.brush, self.undo_button, self.clear_button, self.why_button):
            tools.addWidget(w)
        for button in (self.undo_button, self.clear_button, self.why_button):   # the style's 80 px least
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 24)
        tools.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)
        self.seen = QGridLayout()
        self.seen_caption = QLabel("")
        add = QHBoxLayout()
        for part in (QLabel("As label"), self.label_spin, self.add_button):
            add.addWidget(part)
        right = QVBoxLayout()
        right.addLayout(self.seen, 1)
        right.addLayout(add)
        right.addWidget(self.count)
        self._box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._box.addLayout(left, 3)
        self._box.addLayout(right, 2)
        self._place_seen(stacked=False)

    def _place_seen(self, stacked: bool) -> None:
        """Beside the canvas: the preview over the bar chart, the big "3   98.2 %" beside the
        preview. Under the canvas (a narrow dock): the preview beside the chart, so the whole
        panel fits the height of a 1024x640 window."""
        grid = self.seen
        headline, chart = self.prediction.headline, self.prediction
        for w in (self.seen_caption, self.preview, headline, chart):
            grid.removeWidget(w)
        top = Qt.AlignmentFlag.AlignTop
        if stacked:   # the answer over both, the caption and preview beside the chart
            grid.addWidget(headline, 0, 0, 1, 2)
            grid.addWidget(self.seen_caption, 1, 0)
            grid.addWidget(self.preview, 2, 0, top)
            grid.addWidget(chart, 1, 1, 2, 1)
            grid.setRowStretch(1, 0)
            grid.setRowStretch(2, 1)
        else:
            grid.addWidget(self.seen_caption, 0, 0)
            grid.addWidget(self.preview, 1, 0, top)
            grid.addWidget(headline, 0, 1, 2, 1)
            grid.addWidget(chart, 2, 0, 1, 2)
            grid.setRowStretch(1, 0)
            grid.setRowStretch(2, 1)
        grid.setColumnStretch(1, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._choose_direction()
        super().resizeEvent(event)

    def _choose_direction(self) -> None:
        """Docks are often tall and narrow: stack the canvas above the prediction then. Judged by
        the room the dock's scroll area gives (side by side, the panel is at least ~590 px wide,
        so its own width would keep it side by side in a 300 px dock, scrolling sideways)."""
        room = self.parentWidget() if self.parentWidget() is not None else self
        width, height = room.width(), room.height()
        wide = width >= height and width >= SIDE_BY_SIDE_PX
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._box.direction() != direction:
            self._box.setDirection(direction)
            self._place_seen(stacked=not wide)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - the scroll area's viewport resized
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._choose_direction()
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        room = self.parentWidget()
        if room is not None and room is not self._watched:
            room.installEventFilter(self)
            self._watched = room
        self._choose_direction()
        self.inspector.view_shown()

    # ---- canvas -> inspector ------------------------------------------------------
    def _on_canvas_moved(self) -> None:
        if not self._throttle.isActive():
            self._throttle.start()

    def update_drawing(self) -> None:
        """Preprocess the canvas like MNIST, show it, and hand it to the inspector."""
        self._throttle.stop()
        self.digit = preprocess_drawing(self.canvas.to_array())
        self.add_button.setEnabled(self.digit is not None)
        if self.digit is None:
            self.inspector.set_drawing(None)
        else:
            h, w, c = self.inspector.input_shape()
            self.inspector.set_drawing(fit_to_input(self.digit, h, w, c))
        self._show_preview()

    def _show_caption(self) -> None:
        # the network's own input size: a 32 x 32 colour network does not see a 28 x 28 image
        h, w, c = self.inspector.input_shape()
        size = f"{h} x {w}, centred" if c == 1 else f"{h} x {w} x {c}: grey ink in every channel"
        self.seen_caption.setText(f"What the network sees\n({size})")

    def _show_label_name(self, value: int | None = None) -> None:
        names = self.inspector.class_names()
        value = self.label_spin.value() if value is None else value
        name = names[value] if 0 <= value < len(names) else ""
        self.label_spin.setSuffix(f"  ({name})" if name and name != str(value) else "")

    def _show_preview(self) -> None:
        self._show_caption()
        seen = self.inspector.drawing if self.digit is not None else None  # fitted to the input
        if seen is None:
            self.preview.clear()
            return
        d = np.ascontiguousarray(seen[:, :, 0] if seen.ndim == 3 else seen)
        img = QImage(d.tobytes(), d.shape[1], d.shape[0], d.shape[1], QImage.Format.Format_Grayscale8).copy()
        self.preview.setPixmap(QPixmap.fromImage(img).scaled(
            PREVIEW_PX, PREVIEW_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))

    # ---- inspector -> view ------------------------------------------------------
    def _on_activations(self) -> None:
        ins = self.inspector
        if ins.source != "drawing" or ins.probs is None:
            if ins.source == "drawing":
                self.prediction.clear()
            return
        names = ins.class_names()
        self.label_spin.setRange(0, max(0, len(names) - 1))
        self._show_label_name()
        self.prediction.set_probs(ins.probs, names, note="" if ins.trained else "untrained")

    def explain_class(self, k: int) -> None:
        """The Explain view for output unit ``k`` of the last layer (softmax: its probability)."""
        from cnnstudio.gui.explain.view import open_explain

        ins = self.inspector
        if ins.source != "drawing" or ins.network is None or ins.image is None or len(ins.activations) < 2:
            return
        last = len(ins.activations) - 1      # row 0 is the input: the last layer is index last - 1
        if ins.activations[last].ndim == 1 and 0 <= k < ins.activations[last].shape[0]:
            self.explain_dialog = open_explain(self.window(), ins.network, ins.image, last - 1, (k,),
                                               ins.class_names(), caption="the drawn digit")

    def why(self) -> None:
        """Saliency for the drawn digit: the predicted class beside the runner-up."""
        from cnnstudio.gui.explain.saliency_view import open_saliency, why_classes

        ins = self.inspector
        if ins.source != "drawing" or ins.network is None or ins.image is None or ins.probs is None:
            return
        self.saliency_dialog = open_saliency(self.window(), ins.network, ins.image, why_classes(ins.probs),
                                             ins.class_names(), caption="the drawn digit")

    # ---- add to dataset ---------------------------------------------------------
    def add_to_dataset(self) -> None:
        """Store the current (preprocessed, input-sized) drawing with the chosen label."""
        if self.digit is None or self.inspector.drawing is None:
            return
        names = self.inspector.class_names() or [str(i) for i in range(10)]
        try:
            add_user_example(self.state, self.inspector.drawing, self.label_spin.value(), names)
        except ValueError as exc:
            QMessageBox.warning(self, "Cannot add the drawing", str(exc))
        self._show_count()

    def _show_count(self) -> None:
        ds = user_dataset(self.state)
        n = 0 if ds is None else len(ds)
        self.count.setText(f"{n} drawing{'s' if n != 1 else ''} stored in the project")
