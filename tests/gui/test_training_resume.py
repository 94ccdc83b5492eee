"""Continuing a reopened project: its optimizer state (Adam's moments, step count) goes on."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.data import sample_split
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel

TIMEOUT = 30_000  # ms; generous for a shared 2-core machine (never a speed assertion)


@pytest.fixture(scope="module")
def small_data():
    train, val = sample_split()
    return train.subset(np.arange(128)), val.subset(np.arange(32))


def _panel(qtbot, state, optimizer="adam"):
    p = TrainingPanel(state)
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    p.show_error = lambda title, text: pytest.fail(f"{title}: {text}")
    p.batch_size.setValue(32)   # 4 batches per epoch
    p.epochs.setValue(1)
    p.augment.setChecked(False)
    p.optimizer.setCurrentIndex(p.optimizer.findData(optimizer))
    return p


def _train_and_save(qtbot, tmp_path, small_data):
    state = AppState(template="simple-cnn")
    p = _panel(qtbot, state)
    with qtbot.waitSignal(p.controller.finished, timeout=TIMEOUT):
        assert p.start(datasets=small_data)
    saved = state.optimizer_state
    assert saved is not None and int(saved["steps"]) == 4
    assert any(k.startswith("m/") for k in saved)  # Adam's first moments came along
    path = tmp_path / "run.cnnproj"
    state.save(str(path))
    return path, saved


def test_reopened_project_continues_with_its_optimizer_state(qtbot, tmp_path, small_data, monkeypatch):
    path, saved = _train_and_save(qtbot, tmp_path, small_data)
    state = AppState()
    state.open(str(path))
    np.testing.assert_array_equal(state.optimizer_state["m/0.W"], saved["m/0.W"])
    p = _panel(qtbot, state)
    monkeypatch.setattr(p, "_loaded_datasets", lambda: small_data)
    with qtbot.waitSignal(p.controller.finished, timeout=TIMEOUT):
        p.epoch_button.click()  # +1 epoch on the reopened project's run
    # the step count went on from 4 (a fresh Adam would be at 4 again, with its bias correction reset)
    assert int(p.controller.trainer.optimizer.get_state()["steps"]) == 8
    assert int(state.optimizer_state["steps"]) == 8
    assert [e.epoch for e in state.history.epochs] == [1, 2]


def test_another_optimizer_kind_starts_fresh(qtbot, tmp_path, small_data, monkeypatch):
    path, _saved = _train_and_save(qtbot, tmp_path, small_data)
    state = AppState()
    state.open(str(path))
    p = _panel(qtbot, state, optimizer="sgd")
    monkeypatch.setattr(p, "_loaded_datasets", lambda: small_data)
    with qtbot.waitSignal(p.controller.finished, timeout=TIMEOUT):
        p.epoch_button.click()
    after = p.controller.trainer.optimizer.get_state()
    assert int(after["steps"]) == 4 and not any(k.startswith("m/") for k in after)


def test_new_weights_without_optimizer_state_drop_the_stale_one(qapp):
    state = AppState(template="simple-cnn")
    state.set_weights({"0.W": np.zeros(1)}, optimizer_state={"steps": np.array(3)})
    assert state.optimizer_state is not None
    state.set_weights({"0.W": np.ones(1)})
    assert state.optimizer_state is None
