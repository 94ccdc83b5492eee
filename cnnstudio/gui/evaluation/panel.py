"""The "Evaluation" dock: confusion matrix, per-class accuracy, mistakes gallery, one example's answer.

A view of AppState: it evaluates the current network and weights on the validation
set (``state.dataset``'s last part) in a worker thread when training stops, when a
project with weights is opened, when the dataset changes, and when "Evaluate" is
pressed. While training runs it only notes that the figures are out of date.
"""

from __future__ import annotations

import html
from typing import Any, Callable

import numpy as np
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QPixmap
from PyQt6.QtWidgets import (QBoxLayout, QHBoxLayout, QLabel, QMessageBox, QPushButton, QScrollArea,
                             QVBoxLayout, QWidget)

from cnnstudio.gui.common.tasks import TaskThread
from cnnstudio.gui.dock_panel import ResponsivePanel
from cnnstudio.gui.evaluation.charts import ClassAccuracyChart, ProbabilityChart
from cnnstudio.gui.evaluation.confusion_view import ConfusionMatrixView
from cnnstudio.gui.evaluation.gallery import Gallery, to_qimage
from cnnstudio.gui.evaluation.results import Evaluation
from cnnstudio.gui.evaluation.runner import run_evaluation, validation_set
from cnnstudio.gui.wording import in_app_terms

#: the panel lays the matrix and the gallery side by side from this width on
GALLERY_MIN_PX = 200


class EvaluationPanel(ResponsivePanel):
    """``show_sample(index)``: optional hook that makes validation image ``index`` the feature maps'
    sample; ``open_maps()``: optional hook that brings the feature-maps panel to the front.

    Signals: ``evaluated`` after new results are on screen, ``evaluationFailed(message)``.
    """

    evaluated = pyqtSignal()
    evaluationFailed = pyqtSignal(str)

    def __init__(self, state: Any, show_sample: Callable[[int], None] | None = None,
                 open_maps: Callable[[], None] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationPanel")
        self.state = state
        self.show_sample = show_sample
        self.open_maps = open_maps
        self.result: Evaluation | None = None
        self.filter: tuple[int, int] | None = None   # (true, predicted) cell shown in the gallery
        self._thread: TaskThread | None = None
        self._again = False          # another request came while one was running
        self._asked = False          # the running evaluation was asked for with the button
        self._timer = QTimer(self)  # one evaluation for a burst of signals
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.evaluate)
        self._build()
        state.trainingStateChanged.connect(self._on_training)
        state.weightsChanged.connect(self._on_inputs_changed)
        state.datasetChanged.connect(self._on_inputs_changed)
        state.networkChanged.connect(self._on_inputs_changed)
        self._on_inputs_changed()

    # ---- layout ------------------------------------------------------------------
    def _build(self) -> None:
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Run the network on every validation image (in the background)")
        self.evaluate_button.clicked.connect(lambda: self.evaluate(asked=True))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.matrix = ConfusionMatrixView()
        self.matrix.cellClicked.connect(self.show_cell)
        self.class_chart = ClassAccuracyChart()
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.all_button = QPushButton("Show all mistakes")
        self.all_button.clicked.connect(self.show_mistakes)
        self.gallery = Gallery()
        self.gallery.exampleClicked.connect(self.show_example)
        self.example_image = QLabel()
        self.example_image.setFixedSize(84, 84)
        self.example_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.example_text = QLabel("Click an example to see the network's answer")
        self.example_text.setWordWrap(True)
        self.probs_chart = ProbabilityChart()
        self.maps_button = QPushButton("Feature maps")
        self.maps_button.setToolTip("Show this image's feature maps in the Feature maps panel")
        self.maps_button.setEnabled(False)
        self.why_button = QPushButton("Why?")
        self.why_button.setToolTip("Saliency for this image: why the network chose its answer and not the true class")
        self.why_button.setEnabled(False)
        self.why_button.clicked.connect(self.why)
        self.example_index: int | None = None
        self.maps_button.setVisible(self.open_maps is not None)
        if self.open_maps is not None:
            self.maps_button.clicked.connect(self.open_maps)

        top = QHBoxLayout()
        top.addWidget(self.evaluate_button)
        top.addWidget(self.status, 1)
        gallery_bar = QHBoxLayout()
        gallery_bar.addWidget(self.caption, 1)
        gallery_bar.addWidget(self.all_button)
        detail_text = QVBoxLayout()
        detail_text.addWidget(self.example_image)
        detail_text.addWidget(self.example_text)
        detail_text.addWidget(self.maps_button)
        detail_text.addWidget(self.why_button)
        detail_text.addStretch(1)
        detail = QHBoxLayout()
        detail.addLayout(detail_text)
        detail.addWidget(self.probs_chart.widget, 1)
        self.example_text.setFixedWidth(150)
        self.gallery_scroll = QScrollArea()
        self.gallery_scroll.setWidgetResizable(True)
        self.gallery_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.gallery_scroll.setWidget(self.gallery)
        self.gallery_scroll.setMinimumHeight(GALLERY_MIN_PX)
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self.matrix, 3)
        left.addWidget(self.class_chart.widget, 1)
        right.addLayout(gallery_bar)
        right.addWidget(self.gallery_scroll, 1)
        right.addLayout(detail)
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.addLayout(left, 1)
        self.body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(self.body, 1)
        self.matrix.setMinimumHeight(300)
        self._show_nothing()



    # ---- when to evaluate ---------------------------------------------------------
    def _on_training(self, running: bool) -> None:
        if running:
            self.status.setText("Training is running: these results are from before it; "
                                "the panel evaluates again when it stops.")
        else:
            self._timer.start()

    def _on_inputs_changed(self) -> None:
        if self.state.training:
            return  # weights arrive every epoch: evaluate once training stops
        if self.state.weights:
            self._timer.start()
        else:
            self.result = None
            self._show_nothing()

    def evaluate(self, asked: bool = False) -> bool:
        """Start an evaluation in the background; False when there are no weights to evaluate."""
        self._timer.stop()
        if not self.state.weights:
            self._fail("The network has no trained weights yet: train it first (Training panel), "
                       "then press Evaluate.", asked)
            return False
        if self._thread is not None:  # stop the stale one at its next chunk, then start again
            self._again, self._asked = True, self._asked or asked
            self._thread.cancel()
            return True
        spec, weights, val = self.state.spec, dict(self.state.weights), validation_set(self.state)
        self._asked = asked
        self._thread = TaskThread(lambda report, cancel: run_evaluation(spec, weights, val, report, cancel))
        self._thread.progressed.connect(self._on_progress)
        self._thread.succeeded.connect(self._on_result)
        self._thread.failed.connect(self._on_failed)
        self._thread.finished.connect(self._on_thread_done)
        self.evaluate_button.setEnabled(False)
        self.status.setText(f"Evaluating on {len(val) if val is not None else 0:,} validation images...")
        self._thread.launch()
        return True

    def _on_progress(self, p: tuple) -> None:
        done, total = p
        self.status.setText(f"Evaluating: {done:,} of {total:,} validation images...")

    def _on_thread_done(self) -> None:
        self._thread = None
        self.evaluate_button.setEnabled(True)
        if self._again:
            self._again = False
            self.evaluate(self._asked)

    def _on_failed(self, message: str) -> None:
        self._fail(message, self._asked)

    def _fail(self, message: str, asked: bool) -> None:
        message = in_app_terms(message)
        # the last result was of other weights, data or another project: not shown under "Cannot evaluate"
        self.result = None
        self._show_nothing()
        self.status.setText(f"<span style='color:#b03a10'>Cannot evaluate: {html.escape(message)}</span>")
        self.evaluationFailed.emit(message)
        if asked:
            self.show_error("Cannot evaluate", message)

    def show_error(self, title: str, message: str) -> None:
        """A dialog (tests monkeypatch this)."""
        QMessageBox.warning(self, title, message)

    # ---- results -> views ---------------------------------------------------------
    def _on_result(self, result: Evaluation) -> None:
        self.result = result
        self._clear_example()   # the one on show was an image of the last result (another dataset, maybe)
        self.matrix.set_matrix(result.confusion, result.class_names)
        self.class_chart.set_values(result.per_class_accuracy(), result.class_names)
        wrong = int(len(result.y) - np.trace(result.confusion))
        self.status.setText(f"{result.dataset_name}: {len(result.y):,} images, accuracy "
                            f"{100 * result.accuracy:.1f}%, loss {result.loss:.3f}, {wrong:,} mistakes")
        self.show_mistakes()
        self.evaluated.emit()

    def _clear_example(self) -> None:
        self.example_index = None
        self.example_image.clear()
        self.example_text.setText("Click an example to see the network's answer")
        self.probs_chart.clear()
        self.why_button.setEnabled(False)
        self.maps_button.setEnabled(False)

    def _show_nothing(self) -> None:
        self._clear_example()
        self.matrix.clear()
        self.class_chart.set_values(np.zeros(0), [])
        self.gallery.clear("No evaluation yet")
        self.caption.setText("Misclassified examples")
        self.status.setText("Train the network, then its confusion matrix shows here." if not self.state.weights
                            else "")

    def show_mistakes(self) -> None:
        """The gallery lists every misclassified image, most confident mistake first."""
        self.filter = None
        self.matrix.select(None)
        if self.result is None:
            return
        idx = self.result.mistakes()
        self._fill_gallery(idx, f"Misclassified: {len(idx):,} images, most confident mistake first",
                           "No mistakes on the validation set")

    def show_cell(self, true: int, pred: int) -> None:
        """The gallery lists the images of true class ``true`` predicted as ``pred``."""
        if self.result is None:
            return
        self.filter = (true, pred)
        self.matrix.select((true, pred))
        r = self.result
        idx = r.cell(true, pred)
        what = "correct" if true == pred else "mistakes"
        self._fill_gallery(idx, f"True {r.name(true)}, predicted {r.name(pred)}: {len(idx):,} images ({what}), "
                           "most confident first", "No images in this cell")

    def _fill_gallery(self, idx: np.ndarray, caption: str, empty: str) -> None:
        r = self.result
        if len(idx) == 0:
            self.gallery.clear(empty)
        else:
            self.gallery.set_examples(idx, r.images, r.y, r.predicted, r.confidence, r.class_names)
        more = f" (first {len(self.gallery.shown)} shown)" if len(idx) > len(self.gallery.shown) else ""
        self.caption.setText(caption + more)

    def _reveal(self, widget: QWidget) -> None:
        """Scroll the dock's scroll area so ``widget`` is in view: stacked in a narrow dock, the
        example's details sit below the fold and a click on the gallery seemed to do nothing."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and parent.widget() is not None:
            # ensureWidgetVisible trusts the child's input-method rectangle, which a pyqtgraph
            # view reports oddly (nothing scrolled): ask for the widget's centre with margins
            centre = widget.mapTo(parent.widget(), widget.rect().center())
            parent.ensureVisible(centre.x(), centre.y(), widget.width() // 2 + 2, widget.height() // 2 + 2)

    def why(self) -> None:
        """Saliency for the example on show: "why 7 and not 1?", the answer beside the true class."""
        from cnnstudio.gui.explain.saliency_view import open_saliency, why_classes
        from cnnstudio.project.session import build_with_weights

        r, index = self.result, self.example_index
        if r is None or index is None or not self.state.weights:
            return
        spec = self.state.spec
        image = r.images[index]
        if tuple(image.shape) != tuple(spec.input.hwc):
            return
        net = build_with_weights(spec, dict(self.state.weights))
        self.saliency_dialog = open_saliency(self.window(), net, spec.input.prepare(image[None])[0],
                                             why_classes(r.probs[index], int(r.y[index])), r.class_names,
                                             caption=f"validation image {index}", truth=int(r.y[index]))

    def show_example(self, index: int) -> None:
        """Show validation image ``index``: picture, verdict, probabilities, and its feature maps."""
        r = self.result
        if r is None:
            return
        true, pred = int(r.y[index]), int(r.predicted[index])
        pix = QPixmap.fromImage(to_qimage(r.images[index])).scaled(
            80, 80, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
        self.example_image.setPixmap(pix)
        verdict = "correct" if true == pred else "wrong"
        self.example_text.setText(f"Image {index}: true {r.name(true)}, predicted {r.name(pred)} "
                                  f"({100 * float(r.probs[index, pred]):.1f}%), {verdict}")
        self.probs_chart.set_probs(r.probs[index], true, r.class_names)
        self.example_index = index
        self.why_button.setEnabled(True)
        self._reveal(self.probs_chart.widget)
        if self.show_sample is not None:
            self.show_sample(index)
            self.maps_button.setEnabled(True)
