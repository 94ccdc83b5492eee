"""Large networks: the feature maps are computed off the GUI thread (VGG16 froze the window
4.6-5.5 s per edit while the Feature maps dock was shown)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.data import to_float_nchw
from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
from cnnstudio.gui.inside import background
from cnnstudio.gui.state import AppState
from cnnstudio.model import SetLayerConfig, get_template, infer_shapes

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")
TIMEOUT = 30_000


def test_vgg16_counts_as_heavy_and_lenet5_does_not():
    assert background.is_heavy(infer_shapes(get_template("vgg16")))
    assert not background.is_heavy(infer_shapes(get_template("lenet5")))
    assert not background.is_heavy(infer_shapes(get_template("mini-vgg")))


@pytest.fixture
def heavy_panel(qtbot, monkeypatch):
    # lenet5 made "heavy", so the background path runs on a network that is quick to test
    monkeypatch.setattr(background, "HEAVY_PARAMS", 1000)
    state = AppState(template="lenet5")
    ins = Inspector(state, interval_ms=0)
    ins.busy_log = []
    ins.busyChanged.connect(ins.busy_log.append)
    panel = FeatureMapsPanel(ins)
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    qtbot.waitExposed(panel)
    ins.set_validation_index(0)  # schedules the first refresh
    return state, ins, panel


def _engine_acts(state, ins):
    val = state.dataset[1]
    x = to_float_nchw(val.x[ins.val_index:ins.val_index + 1])
    return ins.network.forward_activations(x)


def test_background_refresh_shows_the_engine_activations(qtbot, heavy_panel):
    state, ins, panel = heavy_panel
    qtbot.waitUntil(lambda: bool(ins.activations) and not ins.busy, timeout=TIMEOUT)
    assert ins.busy_log[:2] == [True, False]  # it went through the background job
    for shown, expected in zip(ins.activations[1:], _engine_acts(state, ins)):
        np.testing.assert_allclose(shown, expected[0], rtol=1e-5, atol=1e-6)
    assert [i for i, _ in ins.conv_weights()] == [0, 3]
    np.testing.assert_array_equal(ins.conv_weights()[1][1], ins.network.get_weights()["3.W"])


def test_an_edit_during_a_background_refresh_is_computed_after_it(qtbot, heavy_panel):
    state, ins, panel = heavy_panel
    qtbot.waitUntil(lambda: ins.busy, timeout=TIMEOUT)
    state.document.execute(SetLayerConfig(0, "filters", 4))  # while the first job runs
    qtbot.waitUntil(lambda: not ins.busy and bool(ins.activations) and ins.activations[1].shape[0] == 4,
                    timeout=TIMEOUT)
    assert "4 Conv2D" in ins.labels[4] and "28 x 28 x 4" in ins.labels[1]
    assert ins.network.get_weights()["0.W"].shape[0] == 4


def test_a_broken_large_network_is_explained(qtbot, heavy_panel):
    state, ins, panel = heavy_panel
    qtbot.waitUntil(lambda: bool(ins.activations) and not ins.busy, timeout=TIMEOUT)
    state.document.execute(SetLayerConfig(3, "kernel_size", 20))  # does not fit 14 x 14
    qtbot.waitUntil(lambda: not ins.busy and ins.network is None, timeout=TIMEOUT)
    assert "Cannot build the network" in panel.status.text()


def test_a_drawing_follows_an_input_size_change(qtbot):
    # a digit drawn for 28 x 28, then the input set to 4 x 4 x 3: the forward pass raised
    # "expected batches of shape (N, 3, 4, 4), got (1, 1, 28, 28)" in a Qt slot
    from cnnstudio.model import SetInput

    state = AppState(template="simple-cnn")
    ins = Inspector(state)
    ins.set_drawing(np.full((28, 28, 1), 200, np.uint8))
    ins.refresh_now()
    state.document.execute(SetInput(4, 4, 3))
    ins.refresh_now()
    assert ins.image.shape == (3, 4, 4) and ins.activations[1].shape[0] == 8


def test_an_engine_error_is_shown_in_the_panel_not_raised(qtbot):
    state = AppState(template="lenet5")
    ins = Inspector(state)
    panel = FeatureMapsPanel(ins)
    qtbot.addWidget(panel)
    ins.refresh_now()

    def broken(x):
        raise ValueError("something the engine refused")
    ins.network.forward_activations = broken
    ins.set_validation_index(1)
    ins.refresh_now()
    assert ins.activations == [] and "something the engine refused" in panel.status.text()


def test_diverged_weights_are_shown_without_numpy_warnings(qtbot, recwarn):
    state = AppState(template="lenet5")
    ins = Inspector(state)
    ins.refresh_now()
    state.set_weights({k: np.full_like(v, 1e30) for k, v in ins.network.get_weights().items()})
    ins.refresh_now()
    assert ins.trained and ins.activations
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_diverged_weights_are_named_in_the_status(qtbot):
    state = AppState(template="lenet5")
    ins = Inspector(state)
    panel = FeatureMapsPanel(ins)
    qtbot.addWidget(panel)
    ins.refresh_now()
    state.set_weights({k: np.full_like(v, np.nan) for k, v in ins.network.get_weights().items()})
    ins.refresh_now()
    assert "diverged" in panel.status.text()
