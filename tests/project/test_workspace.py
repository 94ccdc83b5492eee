"""project.workspace: the Qt-free model of the open project, one event per field with its payload."""

import subprocess
import sys

import numpy as np
import pytest

import cnnstudio.model as model
from cnnstudio.model import TrainingConfig, TrainingConfigError
from cnnstudio.model.document import ReadOnlyError
from cnnstudio.project.file import ProjectFileError
from cnnstudio.project.run import EpochRecord, RunHistory
from cnnstudio.project.workspace import Event, TrainingStatus, Workspace


class Recorder:
    """Every event of the workspace, in order, as (type, value)."""

    def __init__(self, ws):
        self.events: list[Event] = []
        for name in ws.events.NAMES:
            getattr(ws.events, name).connect(self.events.append)

    def types(self):
        return [e.type for e in self.events]

    def last(self, kind):
        return [e for e in self.events if e.type == kind][-1].value

    def clear(self):
        self.events.clear()


@pytest.fixture
def ws():
    return Workspace(template="simple-cnn")


@pytest.fixture
def rec(ws):
    return Recorder(ws)


def _weights(ws, value=0.5):
    from cnnstudio.project.session import build_network

    return {k: np.full_like(v, value) for k, v in build_network(ws.spec).get_weights().items()}


def test_no_qt_is_imported():
    code = ("import sys, cnnstudio.project.workspace as w; w.Workspace().set_weights(None); "
            "print(sorted(m for m in sys.modules if m.startswith(('PyQt', 'pyqtgraph'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_edit_fires_network_with_the_new_spec_then_dirty(ws, rec):
    ws.document.execute(model.SetLayerConfig(0, "filters", 4))
    assert rec.types() == ["network", "dirty"]
    assert rec.last("network").layers[0].config["filters"] == 4 and rec.last("dirty") is True
    assert rec.events[0].source is ws
    ws.document.undo()
    assert rec.last("network").layers[0].config["filters"] != 4 and ws.is_dirty() is False


def test_weights_fire_with_their_payload_and_make_the_project_dirty(ws, rec):
    w = _weights(ws)
    ws.set_weights(w, optimizer_state={"steps": np.array(3)})
    assert rec.types() == ["optimizer_state", "weights", "dirty"]
    assert rec.last("weights")["0.W"] is w["0.W"] and int(rec.last("optimizer_state")["steps"]) == 3
    assert ws.is_dirty()
    ws.set_weights(w)  # new weights without an optimizer state drop the stale one
    assert ws.optimizer_state is None and rec.last("optimizer_state") is None


def test_live_weights_never_make_the_project_dirty_and_end_with_the_run(ws, rec):
    ws.set_status(TrainingStatus.RUNNING)
    ws.set_live_weights(_weights(ws))
    assert not ws.is_dirty() and rec.last("live_weights") is not None
    ws.set_status(TrainingStatus.IDLE)
    assert ws.live_weights is None and rec.last("live_weights") is None
    assert rec.types() == ["status", "live_weights", "status", "live_weights"]


def test_status_is_an_enum_and_a_run_makes_the_document_read_only(ws, rec):
    ws.set_status(TrainingStatus.RUNNING)
    with pytest.raises(ReadOnlyError):
        ws.document.execute(model.SetLayerConfig(0, "filters", 4))
    ws.set_status(TrainingStatus.PAUSED)
    assert ws.document.read_only and ws.status.active
    ws.set_status(TrainingStatus.PAUSED)  # no change, no event
    assert [e.value for e in rec.events if e.type == "status"] == [TrainingStatus.RUNNING, TrainingStatus.PAUSED]
    with pytest.raises(RuntimeError, match="Stop training"):
        ws.new_project("mlp")
    ws.set_status(TrainingStatus.IDLE)
    assert not ws.document.read_only


def test_training_settings_are_a_config_with_their_own_event(ws, rec):
    assert isinstance(ws.training_config, TrainingConfig)
    config = ws.update_training_config(lr=0.01, epochs=3)
    assert rec.types() == ["training_config"] and rec.last("training_config") is config
    assert (config.lr, config.epochs) == (0.01, 3) and not ws.is_dirty()  # settings alone are not dirty
    ws.update_training_config(lr=0.01)  # the same settings: nothing fires
    assert rec.types() == ["training_config"]
    with pytest.raises(TrainingConfigError, match="lr"):
        ws.update_training_config(lr=-1.0)
    assert ws.training_config.lr == 0.01
    with pytest.raises(TypeError, match="TrainingConfig"):
        ws.set_training_config({"lr": 0.1})


def test_history_and_dataset_and_drawings_fire_with_their_values(ws, rec):
    history = RunHistory([EpochRecord(1, 0.5, 0.8)])
    ws.set_history(history, TrainingConfig(epochs=1))
    assert rec.last("history") is history and rec.last("training_config").epochs == 1 and ws.is_dirty()
    pair = ws.dataset  # the sample's split, loaded lazily
    ws.set_dataset((pair[1], pair[0]))
    assert rec.last("dataset")[0] is pair[1]
    ws.set_user_dataset(None)
    assert "user_dataset" in rec.types()


def test_save_and_open_round_trip_and_fire_path_project_and_a_clean_dirty(ws, rec, tmp_path):
    ws.document.execute(model.SetLayerConfig(0, "filters", 4))
    ws.set_weights(_weights(ws, 0.25))
    ws.set_history(RunHistory([EpochRecord(1, 0.5, 0.8, global_step=8)]), TrainingConfig(lr=0.004))
    rec.clear()
    path = ws.save(tmp_path / "a.cnnproj")
    assert rec.types()[0] == "path" and rec.last("path") == path and rec.last("dirty") is False
    assert "project" in rec.types() and not ws.is_dirty()

    other = Workspace(template="lenet5")
    r2 = Recorder(other)
    other.open(path)
    assert other.spec.layers[0].config["filters"] == 4 and other.path == path
    assert other.history.epochs[0].global_step == 8 and other.training_config.lr == 0.004
    np.testing.assert_array_equal(other.weights["0.W"], ws.weights["0.W"])
    assert {"document", "network", "path", "weights", "history", "training_config", "project",
            "dirty"} <= set(r2.types())
    assert r2.last("dirty") is False


def test_open_failure_changes_nothing(ws, rec, tmp_path):
    bad = tmp_path / "bad.cnnproj"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ProjectFileError):
        ws.open(bad)
    assert rec.events == [] and ws.path is None


def test_a_project_without_saved_settings_keeps_the_current_ones(ws, tmp_path):
    ws.update_training_config(epochs=7)
    ws.new_project("mlp")
    assert ws.training_config.epochs == 7 and ws.history == RunHistory()


def test_inference_network_is_cached_until_network_or_weights_change(ws):
    assert ws.inference_network() is None  # untrained
    ws.set_weights(_weights(ws))
    net = ws.inference_network()
    assert net is not None and ws.inference_network() is net
    ws.set_weights(_weights(ws, 0.1))
    assert ws.inference_network() is not net


def test_disconnect_stops_the_callbacks(ws):
    seen = []
    cb = ws.events.weights.connect(seen.append)
    ws.set_weights(None)
    ws.events.weights.disconnect(cb)
    ws.set_weights(None)
    assert len(seen) == 1 and seen[0].value is None


def test_a_file_with_odd_but_accepted_history_records_opens(ws, tmp_path):
    from cnnstudio.project.file import Project, save_project

    path = tmp_path / "odd.cnnproj"
    history = {"epochs": [{"epoch": None, "train_loss": None}, {"train_loss": 0.5, "note": "kept"}],
               "lr_changes": [], "hyperparameters": {}, "dataset": None}
    save_project(path, Project(ws.spec, history=history))
    ws.open(path)
    assert [e.epoch for e in ws.history.epochs] == [1, 2] and ws.history.epochs[1].extra == {"note": "kept"}
