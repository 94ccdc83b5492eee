"""Saliency in the app: 'Why?' from the drawing canvas and from the mistakes gallery; the maps
have the image's shape and come from engine.saliency on the user's network."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine import saliency
from cnnstudio.gui.evaluation.panel import EvaluationPanel
from cnnstudio.gui.explain.saliency_view import SaliencyView, map_layers, why_classes
from cnnstudio.gui.inside import Inspector
from cnnstudio.gui.inside.drawing_panel import DrawingPanel
from cnnstudio.model import build_network
from cnnstudio.project.session import build_with_weights

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_why_classes_pairs_the_answer_with_the_runner_up_or_the_true_class():
    p = np.array([0.1, 0.6, 0.3])
    assert why_classes(p) == [1, 2] and why_classes(p, 0) == [1, 0] and why_classes(p, 1) == [1, 2]


def test_view_maps_have_the_image_shape_and_are_the_engines(qtbot, state):
    net = build_network(state.spec, seed=1)
    x = np.random.default_rng(0).uniform(0, 1, (1, 28, 28)).astype(np.float32)
    view = SaliencyView(net, x, [3, 5])
    qtbot.addWidget(view)
    assert [view.net64.layers[i].type_name for i in map_layers(view.net64)] == ["Conv2D", "Conv2D"]
    for key, m in view.maps.items():
        assert m.shape == (28, 28), key
    expected = saliency.occlusion(saliency.float64_copy(net), x.astype(np.float64), 5, size=5, stride=2)
    np.testing.assert_allclose(view.maps[(5, "occlusion")], np.maximum(expected, 0))
    assert view.heading.text().startswith("Why ")


def test_why_from_the_drawing_canvas(qtbot, state):
    inspector = Inspector(state)
    draw = DrawingPanel(inspector)
    qtbot.addWidget(draw)
    digit = np.zeros((28, 28, 1), np.uint8)
    digit[6:22, 12:16] = 255
    inspector.set_drawing(digit)
    inspector.refresh_now()
    draw.why_button.click()
    dialog = draw.saliency_dialog
    qtbot.addWidget(dialog)
    assert dialog.view.classes == why_classes(inspector.probs)
    np.testing.assert_array_equal(dialog.view.image, inspector.image)
    rows = [dialog.view.grid.itemAtPosition(i, 0).widget().text() for i in range(2)]
    assert "the answer<br>" in rows[0] and "runner-up" in rows[1]   # a drawing has no true label


def test_why_from_the_mistakes_gallery_compares_the_answer_with_the_true_class(qtbot, state):
    panel = EvaluationPanel(state)
    panel.show_error = lambda *a: None
    qtbot.addWidget(panel)
    weights = build_network(state.spec, seed=0).get_weights()
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        state.set_weights(weights)
    r = panel.result
    wrong = int(np.flatnonzero(r.predicted != r.y)[0])
    panel.show_example(wrong)
    panel.why_button.click()
    dialog = panel.saliency_dialog
    qtbot.addWidget(dialog)
    assert dialog.view.classes == [int(r.predicted[wrong]), int(r.y[wrong])]
    # each row says what it is: "why 7 and not 1?" read as the answer beside the true label
    rows = [dialog.view.grid.itemAtPosition(i, 0).widget().text() for i in range(2)]
    assert "the answer<br>(wrong)" in rows[0] and "true label" in rows[1]
    net = build_with_weights(state.spec, weights)
    p = net.forward(state.spec.input.prepare(r.images[wrong][None]))[0]
    np.testing.assert_allclose(dialog.view.probs, p, atol=1e-5)   # the same image and network


def test_each_saliency_method_has_its_question_mark_on_its_own_map(qtbot, state):
    from PyQt6.QtWidgets import QToolButton

    from cnnstudio.gui.explain.saliency_view import METHODS, SaliencyView

    net = build_network(state.spec, seed=0)
    view = SaliencyView(net, np.zeros((1, 28, 28), np.float32), [0, 1])
    qtbot.addWidget(view)
    for title, key in METHODS:
        buttons = view.plots[(0, title)].findChildren(QToolButton, f"help-{key}")
        assert len(buttons) == 1 and buttons[0].text() == "?"
    assert not any(b.objectName().startswith("help-") for b in view.findChildren(QToolButton)
                   if b.parentWidget() is view)   # none left in the top bar
