"""Drawing canvas: mouse strokes change the prediction and feed the feature maps; undo/clear; add to dataset."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt

from cnnstudio.data import to_float_nchw
from cnnstudio.data.drawing import preprocess_drawing
from cnnstudio.gui.inside import DrawingPanel, FeatureMapsPanel, Inspector
from cnnstudio.gui.inside.canvas import SIZE
from cnnstudio.gui.inside.user_examples import user_dataset
from cnnstudio.gui.state import AppState
from cnnstudio.model.spec import NetworkSpec

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def panels(qtbot):
    state = AppState(template="lenet5")
    inspector = Inspector(state)
    draw = DrawingPanel(inspector)
    maps = FeatureMapsPanel(inspector)
    for w in (draw, maps):
        qtbot.addWidget(w)
    draw.resize(700, 420)
    inspector.refresh_now()
    draw.show()
    qtbot.waitExposed(draw)
    return draw, maps


def _drag(qtbot, canvas, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the rest, release at the last (canvas pixels)."""
    t = canvas._target()
    scale = t.width() / SIZE
    widget = [QPoint(int(t.x() + x * scale), int(t.y() + y * scale)) for x, y in points]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget[0])
    for p in widget[1:]:
        qtbot.mouseMove(canvas, p)  # the button is still held: QTest keeps the pressed state
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget[-1])


def _draw_one(qtbot, draw) -> None:
    _drag(qtbot, draw.canvas, [(140, 40), (142, 100), (141, 160), (140, 230)])


def test_mouse_strokes_change_the_prediction_and_the_preview(qtbot, panels):
    draw, maps = panels
    ins = draw.inspector
    assert draw.prediction.probs is None and draw.digit is None
    with qtbot.waitSignal(ins.activationsChanged, timeout=3000):
        _draw_one(qtbot, draw)
    assert draw.canvas.has_ink() and draw.canvas.to_array().max() == 255
    assert len(draw.canvas.strokes) == 1 and len(draw.canvas.strokes[0][1]) == 4  # press + 3 moves
    assert (draw.canvas.to_array()[50:220, 138:144] > 0).all()  # the moves drew one unbroken line
    assert draw.digit is not None and draw.digit.max() == 255        # the 28x28 preview has ink
    assert not draw.preview.pixmap().isNull()
    first = draw.prediction.probs.copy()
    assert first.shape == (10,) and first.sum() == pytest.approx(1.0)
    # the prediction is the network's answer for the preprocessed drawing
    expected = ins.network.forward(to_float_nchw(draw.digit[None, :, :, None]))[0]
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)
    assert draw.prediction.top == int(np.argmax(expected))
    # the feature-map panel switched to the drawn digit
    assert maps.source.currentData() == "drawing"
    np.testing.assert_allclose(maps.maps.tile(0, 0), draw.digit / 255.0, atol=1e-6)
    # a second stroke (a bar across: "7"-like) changes the answer's probabilities
    with qtbot.waitSignal(ins.activationsChanged, timeout=3000):
        _drag(qtbot, draw.canvas, [(60, 40), (140, 40), (220, 40)])
    assert not np.allclose(draw.prediction.probs, first)


def test_undo_and_clear(qtbot, panels):
    draw, _ = panels
    _draw_one(qtbot, draw)
    one = draw.canvas.to_array().copy()
    _drag(qtbot, draw.canvas, [(40, 200), (240, 200)])
    assert len(draw.canvas.strokes) == 2 and not np.array_equal(draw.canvas.to_array(), one)
    qtbot.mouseClick(draw.undo_button, Qt.MouseButton.LeftButton)
    assert len(draw.canvas.strokes) == 1
    np.testing.assert_array_equal(draw.canvas.to_array(), one)
    qtbot.mouseClick(draw.clear_button, Qt.MouseButton.LeftButton)
    assert draw.canvas.to_array().max() == 0 and draw.digit is None
    assert not draw.add_button.isEnabled()


def test_brush_size_changes_the_ink(qtbot, panels):
    draw, _ = panels
    draw.brush.setValue(6)
    _drag(qtbot, draw.canvas, [(140, 40), (140, 230)])
    thin = int((draw.canvas.to_array() > 0).sum())
    draw.canvas.clear()
    draw.brush.setValue(40)
    _drag(qtbot, draw.canvas, [(140, 40), (140, 230)])
    assert int((draw.canvas.to_array() > 0).sum()) > 3 * thin


def test_add_to_dataset_stores_the_drawing_with_its_label(qtbot, panels):
    draw, _ = panels
    state = draw.state
    _draw_one(qtbot, draw)
    draw.label_spin.setValue(1)
    assert not state.is_dirty()
    with qtbot.waitSignal(state.projectChanged, timeout=1000):
        qtbot.mouseClick(draw.add_button, Qt.MouseButton.LeftButton)
    assert state.is_dirty()          # the drawing is saved with the project
    ds = user_dataset(state)
    assert len(ds) == 1 and ds.y.tolist() == [1]
    assert ds.x.shape == (1, 28, 28, 1) and ds.x.dtype == np.uint8
    np.testing.assert_array_equal(ds.x[0, :, :, 0], preprocess_drawing(draw.canvas.to_array()))
    assert "1 drawing stored" in draw.count.text()
    draw.canvas.clear()
    _drag(qtbot, draw.canvas, [(60, 40), (220, 40), (120, 240)])
    draw.label_spin.setValue(7)
    qtbot.mouseClick(draw.add_button, Qt.MouseButton.LeftButton)
    assert user_dataset(state).y.tolist() == [1, 7] and "2 drawings" in draw.count.text()


def test_colour_network_gets_grey_ink_in_three_channels(qtbot, panels):
    draw, _ = panels
    ins = draw.inspector
    colour = ins.state.spec.copy()
    ins.state.document.reset(NetworkSpec(name="rgb", input=(32, 32, 3), layers=list(colour.layers)))
    ins.refresh_now()
    with qtbot.waitSignal(ins.activationsChanged, timeout=3000):
        _draw_one(qtbot, draw)
    assert ins.drawing.shape == (32, 32, 3)
    assert np.array_equal(ins.drawing[:, :, 0], ins.drawing[:, :, 1])
    assert draw.prediction.probs is not None and ins.activations[0].shape == (3, 32, 32)


def test_main_window_has_both_panels_sharing_one_inspector(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from cnnstudio.gui.main_window import MainWindow
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(AppState(template="lenet5"), settings=settings)
    qtbot.addWidget(window)
    maps, draw = window.findChild(FeatureMapsPanel), window.findChild(DrawingPanel)
    assert maps is not None and draw is not None
    assert maps.inspector is draw.inspector is window.inspector
    assert window.inspector.state is window.state
