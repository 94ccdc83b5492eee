"""Evaluation panel: confusion matrix equals the engine's, cell clicks filter the gallery,
mistakes most confident first, clicked example's probabilities, when it evaluates."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QApplication

from cnnstudio.data import Dataset, to_float_nchw
from cnnstudio.engine.evaluation import evaluate
from cnnstudio.gui.evaluation import EvaluationPanel
from cnnstudio.gui.state import AppState
from cnnstudio.project.session import build_network, build_with_weights


@pytest.fixture
def state(qapp):
    """simple-cnn with its seed-0 initial weights (untrained: plenty of mistakes to list)."""
    st = AppState(template="simple-cnn")
    st.set_dataset(st.dataset)  # the sample split, loaded once
    return st


def _weights(state, seed=0):
    return build_network(state.spec, seed=seed).get_weights()


@pytest.fixture
def panel(qtbot, state):
    calls = []
    p = EvaluationPanel(state, show_sample=calls.append)
    p.shown_samples = calls
    p.errors = []
    p.show_error = lambda title, msg: p.errors.append(msg)
    qtbot.addWidget(p)
    p.resize(600, 1100)
    p.show()
    qtbot.waitExposed(p)
    return p


def _evaluated(qtbot, panel, state, weights):
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        state.set_weights(weights)
    return panel.result


def _engine(state, weights):
    val = state.dataset[1]
    return val, evaluate(build_with_weights(state.spec, weights), to_float_nchw(val.x), val.y)


def test_confusion_matrix_counts_equal_engine_evaluate(qtbot, panel, state):
    weights = _weights(state)
    _evaluated(qtbot, panel, state, weights)
    val, expected = _engine(state, weights)
    shown = panel.matrix.matrix
    assert shown.shape == (10, 10)
    assert np.array_equal(shown, expected.confusion)
    assert [panel.matrix.count(i, i) for i in range(10)] == np.diag(expected.confusion).tolist()
    assert shown.sum() == len(val)
    assert panel.matrix.names == list(val.class_names)
    assert f"{100 * expected.accuracy:.1f}%" in panel.status.text()


def _busiest_mistake(conf):
    off = conf.copy()
    np.fill_diagonal(off, -1)
    return np.unravel_index(np.argmax(off), off.shape)


def test_clicking_a_cell_lists_exactly_those_examples(qtbot, panel, state):
    result = _evaluated(qtbot, panel, state, _weights(state))
    i, j = (int(v) for v in _busiest_mistake(result.confusion))
    assert result.confusion[i, j] > 0
    centre = panel.matrix.cell_rect(i, j).center()
    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    assert panel.filter == (i, j)
    pred = result.probs.argmax(axis=1)
    expected = set(np.flatnonzero((result.y == i) & (pred == j)).tolist())
    shown = panel.gallery.shown
    assert set(shown) == expected and len(shown) == result.confusion[i, j]
    conf = result.probs[shown, j]
    assert np.all(np.diff(conf) <= 0), "most confident first"
    assert f"True {i}, predicted {j}: {result.confusion[i, j]} images" in panel.caption.text()
    # a diagonal cell lists the correct ones; "Show all mistakes" goes back
    centre = panel.matrix.cell_rect(j, j).center()
    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    assert len(panel.gallery.shown) == min(result.confusion[j, j], 200)
    assert all(result.y[k] == j and pred[k] == j for k in panel.gallery.shown)
    qtbot.mouseClick(panel.all_button, Qt.MouseButton.LeftButton)
    assert panel.filter is None and panel.matrix.selected is None


def test_gallery_lists_mistakes_most_confident_first(qtbot, panel, state):
    result = _evaluated(qtbot, panel, state, _weights(state))
    pred = result.probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != result.y)
    assert len(wrong) > 0
    shown = panel.gallery.shown
    assert len(shown) == min(len(wrong), 200) and set(shown) <= set(wrong.tolist())
    conf = result.probs.max(axis=1)
    assert np.all(np.diff(conf[shown]) <= 0)
    # what is left out is no more confident than the last one shown
    rest = sorted(set(wrong.tolist()) - set(shown))
    if rest:
        assert conf[rest].max() <= conf[shown[-1]]


def test_clicking_an_example_shows_its_probabilities_and_feature_maps(qtbot, panel, state):
    result = _evaluated(qtbot, panel, state, _weights(state))
    second = panel.gallery.shown[1]
    centre = panel.gallery.tile_rect(1).center()
    qtbot.mouseClick(panel.gallery, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    assert panel.gallery.current == second
    assert np.allclose(panel.probs_chart.values, result.probs[second])
    assert panel.shown_samples == [second]
    assert f"true {result.y[second]}" in panel.example_text.text()


def test_per_class_accuracy(qtbot, panel, state):
    result = _evaluated(qtbot, panel, state, _weights(state))
    val = state.dataset[1]
    pred = result.probs.argmax(axis=1)
    for k in range(10):
        rows = val.y == k
        assert panel.class_chart.values[k] == pytest.approx((pred[rows] == k).mean())


def test_waits_for_training_to_stop(qtbot, panel, state):
    state.set_training(True)
    state.set_weights(_weights(state))
    QApplication.processEvents()
    # nothing scheduled: no evaluation timer running, no evaluation thread (instead of waiting 400 ms)
    assert not panel._timer.isActive() and panel._thread is None
    assert panel.result is None and "Training is running" in panel.status.text()
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        state.set_training(False)
    assert panel.result is not None


def test_evaluate_without_weights_explains(qtbot, panel, state):
    assert not panel.evaluate(asked=True)
    assert panel.errors and "no trained weights" in panel.errors[0]


def test_colour_dataset_on_grayscale_network_is_explained(qtbot, panel, state):
    rng = np.random.default_rng(0)
    colour = Dataset("colour", rng.integers(0, 256, (20, 28, 28, 3), dtype=np.uint8),
                     np.arange(20) % 10, [str(i) for i in range(10)])
    state.set_dataset((colour, colour))
    with qtbot.waitSignal(panel.evaluationFailed, timeout=20_000) as blocker:
        state.set_weights(_weights(state))
    assert "colour" in blocker.args[0] and "channel" in blocker.args[0]
    assert "--" not in blocker.args[0] and "Input block" in blocker.args[0]  # the app's terms, not CLI flags
    assert "Cannot evaluate" in panel.status.text()
    assert not panel.errors, "an automatic evaluation reports in the panel, not in a dialog"


def test_in_the_window_an_example_becomes_the_feature_maps_sample(qtbot, qapp, settings):
    from cnnstudio.gui.main_window import DISCARD, MainWindow

    win = MainWindow(AppState(template="simple-cnn"), settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    win.show()
    panel = win.panel("evaluationDock")
    assert isinstance(panel, EvaluationPanel)
    win.docks["evaluationDock"].raise_()
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        win.state.set_weights(_weights(win.state))
    panel.show_example(panel.gallery.shown[3])
    assert win.inspector.source == "validation" and win.inspector.val_index == panel.gallery.shown[3]
    qtbot.mouseClick(panel.maps_button, Qt.MouseButton.LeftButton)
    assert not win.docks["featureMapsDock"].visibleRegion().isEmpty()


def test_edited_network_whose_weights_no_longer_fit_is_explained(qtbot, panel, state):
    from cnnstudio.model import SetLayerConfig

    _evaluated(qtbot, panel, state, _weights(state))
    with qtbot.waitSignal(panel.evaluationFailed, timeout=20_000) as blocker:
        state.document.execute(SetLayerConfig(0, "filters", 4))
    assert "do not fit the network" in blocker.args[0] and "train it again" in blocker.args[0]


def test_colour_network_on_colour_data(qtbot, qapp):
    """A 3-channel dataset: thumbnails in colour, counts still equal the engine's."""
    from cnnstudio.model import SetInput

    st = AppState(template="simple-cnn")
    st.document.execute(SetInput(12, 12, 3))
    rng = np.random.default_rng(1)
    val = Dataset("colour (validation)", rng.integers(0, 256, (40, 12, 12, 3), dtype=np.uint8),
                  np.arange(40) % 10, [f"c{i}" for i in range(10)])
    st.set_dataset((val, val))
    p = EvaluationPanel(st)
    qtbot.addWidget(p)
    p.resize(900, 700)
    p.show()
    weights = _weights(st)
    with qtbot.waitSignal(p.evaluated, timeout=20_000):
        st.set_weights(weights)
    expected = evaluate(build_with_weights(st.spec, weights), to_float_nchw(val.x), val.y)
    assert np.array_equal(p.matrix.matrix, expected.confusion)
    assert p.body.direction().name == "LeftToRight"  # wide: matrix and gallery side by side
    first = p.gallery.shown[0]
    tile = p.gallery.grab().toImage()
    r = p.gallery.tile_rect(0)
    pixel = tile.pixelColor(int(r.x() + r.width() / 2), int(r.y() + 2 + 28))
    assert pixel.red() != pixel.green() or pixel.green() != pixel.blue(), "a colour thumbnail"
    assert first in np.flatnonzero(expected.probs.argmax(1) != val.y)


def test_training_in_the_window_ends_with_a_fresh_evaluation(qtbot, qapp, settings):
    """Train one short epoch with the training panel: when it stops, the panel evaluates
    the final weights on the validation set (counts equal the engine's for those weights)."""
    from cnnstudio.data import sample_split
    from cnnstudio.gui.main_window import DISCARD, MainWindow

    win = MainWindow(AppState(template="simple-cnn"), settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    train, val = sample_split()
    small = (train.subset(np.arange(256)), val.subset(np.arange(100)))
    win.state.set_dataset(small)
    panel, training = win.evaluation_panel, win.training_panel
    training.epochs.setValue(1)
    training.batch_size.setValue(32)
    try:
        with qtbot.waitSignal(panel.evaluated, timeout=60_000):
            assert training.start()
        assert not win.state.training
        expected = evaluate(build_with_weights(win.state.spec, win.state.weights), to_float_nchw(small[1].x),
                            small[1].y)
        assert np.array_equal(panel.matrix.matrix, expected.confusion)
        assert panel.matrix.matrix.sum() == 100
    finally:
        if training.controller.running:
            training.controller.shutdown()


def test_chunked_evaluation_equals_one_engine_call(monkeypatch, state):
    import threading

    from cnnstudio.gui.evaluation import runner

    monkeypatch.setattr(runner, "CHUNK", 128)
    weights = _weights(state)
    val, expected = _engine(state, weights)
    steps = []
    result = runner.run_evaluation(state.spec, weights, val, report=steps.append)
    assert steps == [(128, 500), (256, 500), (384, 500), (500, 500)]
    assert np.array_equal(result.confusion, expected.confusion)
    assert np.allclose(result.probs, expected.probs, atol=1e-6)
    assert result.loss == pytest.approx(expected.loss, rel=1e-6)
    assert result.accuracy == pytest.approx(expected.accuracy)
    cancel = threading.Event()
    cancel.set()
    assert runner.run_evaluation(state.spec, weights, val, cancel=cancel) is None


def test_a_new_request_restarts_a_running_evaluation(qtbot, panel, state):
    first, second = _weights(state, seed=0), _weights(state, seed=1)
    state.set_weights(first)
    panel.evaluate()           # starts at once
    state.set_weights(second)  # arrives while it runs
    assert panel.evaluate()
    qtbot.waitUntil(lambda: panel._thread is None and not panel._again and panel.result is not None,
                    timeout=20_000)
    _, expected = _engine(state, second)
    assert np.array_equal(panel.matrix.matrix, expected.confusion)
