"""AppState: the signals every panel relies on, dirty tracking, the cached inference network."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.gui.editor import edits
from cnnstudio.model import ReadOnlyError
from cnnstudio.project.run import RunHistory
from cnnstudio.project.session import build_network


def test_edits_emit_network_and_project_changed(qtbot, state):
    with qtbot.waitSignals([state.networkChanged, state.projectChanged], timeout=1000):
        edits.append_layer(state.document, "ReLU")
    assert state.is_dirty()


def test_training_makes_the_document_read_only(qtbot, state):
    with qtbot.waitSignal(state.trainingStateChanged, timeout=1000) as blocker:
        state.set_training(True)
    assert blocker.args == [True]
    assert state.document.read_only
    with pytest.raises(ReadOnlyError):
        edits.append_layer(state.document, "ReLU")
    state.set_training(False)
    assert not state.document.read_only


def test_inference_network_is_cached_and_rebuilt_on_change(qtbot, state):
    assert state.inference_network() is None  # untrained
    weights = build_network(state.spec, seed=1).get_weights()
    with qtbot.waitSignal(state.weightsChanged, timeout=1000):
        state.set_weights(weights)
    assert state.is_dirty()
    net = state.inference_network()
    assert net is not None and state.inference_network() is net
    probs = net.forward(np.zeros((2, 1, 28, 28), np.float32))
    assert probs.shape == (2, 10)
    edits.set_hyperparameter(state.document, 7, "units", 64)  # weights no longer fit
    assert state.inference_network() is None


def test_new_project_resets_weights_and_history(qtbot, state):
    state.set_weights(build_network(state.spec).get_weights())
    with qtbot.waitSignals([state.networkChanged, state.weightsChanged, state.projectChanged], timeout=1000):
        state.new_project("simple-cnn")
    assert state.weights is None and state.path is None and not state.is_dirty()
    assert state.history.epochs == []
    assert not state.document.can_undo


def test_save_keeps_weights_and_history(state, tmp_path):
    from cnnstudio.project.file import load_project

    weights = build_network(state.spec, seed=3).get_weights()
    state.set_weights(weights)
    state.set_history(RunHistory.from_dict({"epochs": [{"epoch": 1, "train_loss": 1.5}], "lr_changes": [],
                                            "hyperparameters": {}, "dataset": None}))
    path = str(tmp_path / "w.cnnproj")
    state.save(path)
    loaded = load_project(path)
    assert loaded.network == state.spec
    assert loaded.history["epochs"][0]["train_loss"] == 1.5
    assert sorted(loaded.weights) == sorted(weights)
    assert all(np.array_equal(loaded.weights[k], weights[k]) for k in weights)
