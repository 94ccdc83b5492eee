"""A new evaluation clears the example on show (QA of issue 13: after importing a 36-image folder and
evaluating again, the panel still showed 'Image 83: true 1, predicted 2' from the MNIST sample with
its 10-class chart, and Why? would have read image 83 of the new result)."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPoint, Qt

from tests.gui.test_evaluation import _evaluated, _weights, panel, state  # noqa: F401 - fixtures


def test_an_example_of_the_last_result_is_not_kept(qtbot, panel, state):  # noqa: F811
    _evaluated(qtbot, panel, state, _weights(state))
    centre = panel.gallery.tile_rect(0).center()
    qtbot.mouseClick(panel.gallery, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    assert panel.example_index is not None and panel.why_button.isEnabled()
    _evaluated(qtbot, panel, state, _weights(state, seed=1))   # new weights: a new result
    assert panel.example_index is None
    assert not panel.why_button.isEnabled()
    assert panel.example_text.text() == "Click an example to see the network's answer"
    values = panel.probs_chart.values
    assert values is None or len(np.asarray(values)) == 0


def test_a_failed_evaluation_takes_the_last_result_down(qtbot, panel, state):  # noqa: F811
    """QA of issue 13: a project opened with its folder missing said 'Cannot evaluate: the project's data
    ... is not at ...' above the confusion matrix and mistakes of the project open before it."""
    from cnnstudio.data import Dataset

    _evaluated(qtbot, panel, state, _weights(state))
    assert panel.result is not None and panel.gallery.shown
    train, val = state.dataset
    colour = Dataset("colour", np.zeros((4, 28, 28, 3), np.uint8), np.arange(4) % 2, ["a", "b"], "colour")
    with qtbot.waitSignal(panel.evaluationFailed, timeout=20_000):
        state.set_dataset((colour, colour))
    assert "Cannot evaluate" in panel.status.text()
    assert panel.result is None and not panel.gallery.shown
    assert panel.example_index is None
