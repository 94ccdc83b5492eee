"""The training panel as a view of the workspace: settings written there and shown back, the
Dataset panel meeting it there (no link between the two), the run's status and weights there."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.gui.datasets import DatasetBrowser
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel
from cnnstudio.project.workspace import TrainingStatus

TIMEOUT = 60_000  # ms; generous for a shared 2-core machine (never a speed assertion)


@pytest.fixture
def state(qapp):
    return AppState(template="simple-cnn")


@pytest.fixture
def panel(qtbot, state):
    p = TrainingPanel(state)
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    p.errors = []
    p.show_error = lambda title, text: p.errors.append((title, text))
    yield p
    if p.controller.running:
        p.controller.shutdown()


def test_the_form_writes_the_settings_into_the_workspace(panel, state):
    panel.epochs.setValue(4)
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("sgd"))
    panel.augment.setChecked(True)
    config = state.training_config
    assert (config.epochs, config.optimizer, config.augment) == (4, "sgd", True)
    panel.lr.setValue(0.0125)
    panel.lr.editingFinished.emit()
    assert state.training_config.lr == pytest.approx(0.0125)
    assert panel.config() is state.training_config


def test_the_form_shows_the_workspaces_settings(panel, state, qtbot):
    with qtbot.waitSignal(state.trainingConfigChanged, timeout=1000) as blocker:
        state.update_training_config(lr=0.004, epochs=7, batch_size=16, schedule="step", momentum=0.5)
    assert blocker.args[0].epochs == 7  # the signal carries the new settings
    assert panel.lr.value() == pytest.approx(0.004) and panel.epochs.value() == 7
    assert panel.batch_size.value() == 16 and panel.schedule.currentData() == "step"
    # showing them wrote nothing back, and a field the form has no widget for is kept
    panel.seed.setValue(3)
    assert state.training_config.momentum == 0.5 and state.training_config.seed == 3


def test_a_new_panel_shows_the_settings_already_there(qtbot, state):
    state.update_training_config(epochs=9, weight_decay=0.001)
    p = TrainingPanel(state)
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    assert p.epochs.value() == 9 and p.weight_decay.value() == pytest.approx(0.001)


def test_dataset_and_training_panels_meet_only_through_the_workspace(qtbot, state, panel):
    browser = DatasetBrowser(state)  # no window, no link between the two panels
    qtbot.addWidget(browser)
    browser.aug_spins["rotation"].setValue(25.0)
    assert state.training_config.rotation == 25.0
    browser.use_for_training.setChecked(True)
    assert panel.augment.isChecked() and state.training_config.augment
    assert panel.config().rotation == 25.0
    panel.augment.setChecked(False)
    assert not browser.use_for_training.isChecked()
    state.update_training_config(shift=3.0)  # e.g. a reopened project's settings
    assert browser.augmentation()["shift"] == 3.0


def test_a_rate_set_in_the_workspace_reaches_the_running_run(qtbot, panel, state, small_data):
    panel.epochs.setValue(2)
    panel.batch_size.setValue(32)
    panel.schedule.setCurrentIndex(panel.schedule.findData("constant"))
    panel.lr.setValue(0.003)
    assert panel.start(paused=True, datasets=small_data), panel.errors
    c = panel.controller
    qtbot.waitUntil(lambda: state.status is TrainingStatus.PAUSED, timeout=TIMEOUT)
    state.update_training_config(lr=0.0007)
    qtbot.waitUntil(lambda: c.trainer.current_lr() == pytest.approx(0.0007), timeout=TIMEOUT)
    assert panel.lr.value() == pytest.approx(0.0007)
    c.step()
    qtbot.waitUntil(lambda: c.worker.is_paused and c.worker.steps_done == 1, timeout=TIMEOUT)
    assert c.history["lr_changes"] == [{"epoch": 1, "step": 0, "lr": pytest.approx(0.0007)}]
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()
    assert state.status is TrainingStatus.IDLE


def test_status_and_the_epochs_weights_are_in_the_workspace(qtbot, panel, state, small_data):
    panel.epochs.setValue(1)
    panel.batch_size.setValue(64)
    statuses = []
    state.statusChanged.connect(statuses.append)
    weights = []
    state.weightsChanged.connect(weights.append)
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(datasets=small_data), panel.errors
    assert statuses[0] is TrainingStatus.RUNNING and statuses[-1] is TrainingStatus.IDLE
    assert len(weights) == 1 and weights[0] is not None and set(weights[0]) == set(state.weights)
    # one copy per epoch: the workspace holds the very arrays the Trainer kept after the epoch
    trainer = panel.controller.trainer
    assert all(state.weights[k] is trainer.last_good_weights[k] for k in state.weights)
    assert np.isfinite(state.weights["0.W"]).all()
    assert [e.epoch for e in state.history.epochs] == [1] and state.history.epochs[0].global_step == 4


def test_a_reopened_projects_standard_dataset_is_picked_and_downloaded_before_a_run(panel, state, monkeypatch):
    asked = []
    monkeypatch.setattr(panel, "ask_download", lambda key: asked.append(key) or False)  # cancelled / offline
    state.update_training_config(dataset="mnist")  # e.g. the settings of a project trained on MNIST
    assert panel.dataset.currentData() == "mnist" and asked == []  # shown without starting a download
    assert not panel.start() and asked == ["mnist"] and not panel.controller.running
    state.update_training_config(dataset="/data/my digits")
    assert panel.dataset.currentData() == "<file>" and panel.source_label.text() == "/data/my digits"
    assert panel.config().dataset == "/data/my digits"
