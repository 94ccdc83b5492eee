"""A click on a bar of a Dense layer's output or of the softmax output (the enlarged vector in the
feature-map panel, the drawing's prediction chart) opens the Explain view for that unit, with the
engine's own value."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt

from cnnstudio.gui.explain.view import ExplainDialog
from cnnstudio.gui.inside import DrawingPanel, FeatureMapsPanel, Inspector
from cnnstudio.gui.state import AppState

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def panels(qtbot):
    state = AppState(template="lenet5")
    inspector = Inspector(state)
    draw = DrawingPanel(inspector)
    maps = FeatureMapsPanel(inspector)
    for w in (draw, maps):
        qtbot.addWidget(w)
        w.resize(760, 460)
        w.show()
        qtbot.waitExposed(w)
    inspector.refresh_now()
    return draw, maps


def _click_data_point(qtbot, plot, x: float, y: float) -> None:
    """A real mouse click on the plot at data coordinates (x, y)."""
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    pos = plot.mapFromScene(scene)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))


def _dialog(qtbot, holder) -> ExplainDialog:
    qtbot.waitUntil(lambda: getattr(holder, "explain_dialog", None) is not None, timeout=3000)
    qtbot.addWidget(holder.explain_dialog)
    return holder.explain_dialog


def _dense_row(inspector) -> int:
    types = [layer.type for layer in inspector.state.spec.layers]
    return types.index("Dense") + 1       # row 0 is the input image


def test_click_on_a_dense_bar_in_the_feature_map_panel_explains_that_unit(qtbot, panels):
    _, maps = panels
    ins = maps.inspector
    row = _dense_row(ins)
    maps.open_tile(row, 0)
    viewer = maps.viewer
    assert viewer.bars.scene() is not None and not viewer.image.isVisible()
    out = ins.activations[row]
    k = 7
    assert viewer.vector is not None and np.array_equal(viewer.vector, out.astype(np.float32))
    _click_data_point(qtbot, viewer.plot, k, float(out[k]) / 2)
    e = _dialog(qtbot, maps).view.explanation
    assert (e["layer"], e["type"], e["at"]) == (row, "Dense", [k])
    assert e["value"] == float(out[k])                     # the engine's own number, as shown
    total = float(np.dot(np.asarray(e["inputs"], np.float64), np.asarray(e["weights"], np.float64))) + e["bias"]
    assert total == pytest.approx(e["value"], rel=1e-5, abs=1e-5)


def test_click_on_a_softmax_bar_in_the_feature_map_panel(qtbot, panels):
    _, maps = panels
    ins = maps.inspector
    last = len(ins.activations) - 1
    maps.open_tile(last, 0)
    _click_data_point(qtbot, maps.viewer.plot, 3, float(ins.activations[last][3]) / 2)
    e = _dialog(qtbot, maps).view.explanation
    assert (e["type"], e["kind"], e["at"]) == ("Softmax", "softmax", [3])
    assert e["value"] == float(ins.activations[last][3])


def test_an_enlarged_map_is_still_an_image(qtbot, panels):
    _, maps = panels
    maps.open_tile(1, 0)
    assert maps.viewer.image.isVisible() and maps.viewer.bars.scene() is None and maps.viewer.vector is None


def test_click_on_a_bar_of_the_drawings_prediction_explains_that_probability(qtbot, panels):
    draw, _ = panels
    ins = draw.inspector
    digit = np.zeros((28, 28, 1), np.uint8)
    digit[4:24, 13:16] = 255                           # a "1"
    with qtbot.waitSignal(ins.activationsChanged, timeout=3000):
        ins.set_drawing(digit)
        ins.refresh_now()
    qtbot.waitUntil(lambda: draw.prediction.probs is not None, timeout=3000)
    k = 4
    plot = draw.prediction.plot
    lying = draw.prediction.bars.opts.get("x") is None
    p = float(draw.prediction.probs[k])
    _click_data_point(qtbot, plot, *((p / 2, k) if lying else (k, p / 2)))
    e = _dialog(qtbot, draw).view.explanation
    last = len(ins.activations) - 1
    assert (e["layer"], e["type"], e["at"]) == (last, "Softmax", [k])
    assert e["value"] == float(ins.activations[last][k])
    assert e["value"] == pytest.approx(p)
