"""Weights published mid-epoch: the feature maps and filters change while an epoch runs.

The per-epoch path (AppState.weights, saved, marks the project dirty) is separate from the
live path (AppState.live_weights: throttled host copies, never saved).
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.data import sample_split
from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training import worker as worker_module
from cnnstudio.gui.training.panel import TrainingPanel
from cnnstudio.gui.training.worker import TrainingWorker

TIMEOUT = 30_000  # ms; generous for a shared 2-core machine (never a speed assertion)
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture(scope="module")
def small_data():
    train, val = sample_split()
    return train.subset(np.arange(256)), val.subset(np.arange(32))


@pytest.fixture
def setup(qtbot, monkeypatch):
    # No throttle: every batch publishes, so the test does not depend on the machine's speed.
    monkeypatch.setattr(worker_module, "PREVIEW_COST_FACTOR", 0.0)
    state = AppState(template="simple-cnn")
    training = TrainingPanel(state)
    training.controller.preview_interval_s = 0.0
    training.show_error = lambda title, text: pytest.fail(f"{title}: {text}")
    training.batch_size.setValue(8)   # 32 small batches in the epoch
    training.epochs.setValue(1)
    training.augment.setChecked(False)
    inspector = Inspector(state, interval_ms=0)
    maps = FeatureMapsPanel(inspector)
    for w in (training, training.plots, maps):
        qtbot.addWidget(w)
    maps.resize(800, 600)
    maps.show()
    qtbot.waitExposed(maps)
    inspector.refresh_now()
    yield state, training, maps
    if training.controller.running:
        training.controller.shutdown()


def _steps(qtbot, controller, n, total):
    for _ in range(n):
        controller.step()
        qtbot.waitUntil(lambda: controller.worker.is_paused and controller.worker.steps_done >= total + 1,
                        timeout=TIMEOUT)
        total += 1
    return total


def test_weights_reach_the_feature_maps_within_an_epoch(qtbot, setup, small_data):
    state, training, maps = setup
    ins = maps.inspector
    untrained_tile = maps.maps.tile(1, 0).copy()
    untrained_filters = ins.conv_weights()[0][1].copy()
    live = []
    state.liveWeightsChanged.connect(lambda: live.append(state.live_weights))
    assert training.start(paused=True, datasets=small_data)
    c = training.controller
    done = _steps(qtbot, c, 2, 0)
    qtbot.waitUntil(lambda: len([w for w in live if w is not None]) >= 2, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: ins.trained and not np.array_equal(untrained_tile, maps.maps.tile(1, 0)),
                    timeout=TIMEOUT)
    first_tile = maps.maps.tile(1, 0).copy()
    assert ins.trained and "live weights" in maps.status.text()
    assert not np.array_equal(untrained_tile, first_tile)
    assert not np.array_equal(untrained_filters, ins.conv_weights()[0][1])
    # the epoch is not over: nothing kept for saving, the project is not dirty for it
    assert state.weights is None and not state.is_dirty()
    done = _steps(qtbot, c, 3, done)
    qtbot.waitUntil(lambda: not np.array_equal(first_tile, maps.maps.tile(1, 0)), timeout=TIMEOUT)
    # the tile changed with some preview; the views catch up with the last one (the pause's) when
    # the GUI thread gets to it: wait for that instead of racing the queued signals
    qtbot.waitUntil(lambda: ins.network is not None and np.allclose(ins.network.get_weights()["0.W"],
                                                                    state.live_weights["0.W"]), timeout=TIMEOUT)
    np.testing.assert_allclose(ins.network.get_weights()["0.W"], state.live_weights["0.W"])
    assert c.worker.previews_sent >= 5 and c.worker.epochs_done == 0
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.resume()
    # the run ended: live weights cleared, the kept epoch weights are what the views show
    assert state.live_weights is None and state.weights is not None
    qtbot.waitUntil(lambda: ins.network is not None and np.allclose(ins.network.get_weights()["0.W"],
                                                                    state.weights["0.W"]), timeout=TIMEOUT)


def test_previews_are_throttled_by_time_and_by_their_cost(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(worker_module.time, "perf_counter", lambda: clock[0])

    class Net:
        copies = 0

        def get_weights(self):
            Net.copies += 1
            clock[0] += copy_cost[0]  # the copy itself takes this long
            return {"0.W": np.full((2, 2), Net.copies, np.float32)}

    class Trainer:
        network = Net()

    copy_cost = [0.001]
    w = TrainingWorker(Trainer(), preview_interval_s=0.5)
    sent = []
    w.weightsPreview.connect(sent.append)
    w._maybe_preview({"global_step": 0})       # the first batch publishes at once
    clock[0] += 0.2
    w._maybe_preview({"global_step": 1})       # 0.2 s later: too soon
    clock[0] += 0.4
    w._maybe_preview({"global_step": 2})       # 0.6 s after the first: due
    assert [p["global_step"] for p in sent] == [0, 2]
    assert sent[-1]["weights"]["0.W"][0, 0] == 2
    copy_cost[0] = 0.1                          # a big network: 0.1 s a copy
    clock[0] += 0.6
    w._maybe_preview({"global_step": 3})
    clock[0] += 1.0
    w._maybe_preview({"global_step": 4})       # 1 s < 50 x 0.1 s: skipped
    clock[0] += 4.5
    w._maybe_preview({"global_step": 5})
    assert [p["global_step"] for p in sent] == [0, 2, 3, 5]
    off = TrainingWorker(Trainer(), preview_interval_s=None)
    off.weightsPreview.connect(sent.append)
    off._maybe_preview({"global_step": 6})
    assert len(sent) == 4


def test_live_weights_refill_one_network_instead_of_building_one_each_time(qapp):
    state = AppState(template="simple-cnn")
    ins = Inspector(state)
    ins.refresh_now()
    fresh = ins.network
    state.set_weights(None)  # marks the network stale: rebuilt from the same spec
    ins.refresh_now()
    assert ins.network is fresh  # the untrained network is cached for the same spec
    weights = fresh.get_weights()
    state.set_training(True)
    state.set_live_weights({k: v * 2 for k, v in weights.items()})
    ins.refresh_now()
    live = ins.network
    state.set_live_weights({k: v * 3 for k, v in weights.items()})
    ins.refresh_now()
    assert ins.network is live
    np.testing.assert_allclose(live.get_weights()["0.W"], weights["0.W"] * 3)
    state.set_training(False)


def test_a_paused_run_shows_exactly_the_weights_it_stopped_at(qtbot, small_data):
    # With the throttle, a Step within 0.5 s of the last copy sent nothing: the maps lagged a batch.
    state = AppState(template="simple-cnn")
    training = TrainingPanel(state)
    qtbot.addWidget(training)
    qtbot.addWidget(training.plots)
    training.show_error = lambda title, text: pytest.fail(f"{title}: {text}")
    training.batch_size.setValue(8)
    training.epochs.setValue(1)
    training.augment.setChecked(False)
    c = training.controller
    c.preview_interval_s = 1000.0  # only the first batch and the pauses publish
    assert training.start(paused=True, datasets=small_data)
    try:
        done = _steps(qtbot, c, 3, 0)
        assert done == 3
        expected = c.trainer.network.get_weights()  # paused: the worker does not touch it
        qtbot.waitUntil(lambda: state.live_weights is not None and
                        np.array_equal(state.live_weights["0.W"], expected["0.W"]), timeout=TIMEOUT)
    finally:
        c.shutdown()
