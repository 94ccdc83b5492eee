"""The Runs panel (issue 13): runs trained in the app are added, listed, compared (differing
settings highlighted, curves overlaid), restored, exported as CSV; runs and per-batch curves
survive save and open."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cnnstudio.gui.runs.panel import COLUMNS, DIFFER_ROLE, RunsPanel
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.controller import TrainingController
from cnnstudio.gui.training.panel import TrainingPanel

TIMEOUT = 60_000  # ms; generous for a shared 2-core machine (never a speed assertion)
LRS = (0.001, 0.002, 0.004)


@pytest.fixture(scope="module")
def tiny_data():
    from cnnstudio.data import sample_split

    train, val = sample_split()
    return train.subset(np.arange(96)), val.subset(np.arange(32))


def _train(qtbot, state, data, lr, continue_training=False):
    controller = TrainingController(state)
    config = dataclasses.replace(state.training_config, lr=lr, epochs=1, batch_size=32, augment=False)
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        controller.start(config, continue_training=continue_training, datasets=data)
    return controller


@pytest.fixture
def three(qtbot, qapp, tiny_data):
    state = AppState(template="simple-cnn")
    for lr in LRS:
        _train(qtbot, state, tiny_data, lr)
    return state


def _column(name):
    return next(i for i, c in enumerate(COLUMNS) if c[0] == name)


def test_each_run_in_the_app_is_added(three):
    assert [r.number for r in three.runs] == [1, 2, 3]
    assert [r.hyperparameters["lr"] for r in three.runs] == list(LRS)
    assert all(len(r.epochs) == 1 and len(r.curve) == 3 and r.last_weights is not None for r in three.runs)
    assert three.history.run == 3
    np.testing.assert_array_equal(three.runs[2].last_weights["0.W"], three.weights["0.W"])


def test_a_continued_run_says_where_it_started(qtbot, three, tiny_data):
    _train(qtbot, three, tiny_data, 0.004, continue_training=True)
    run = three.runs[-1]
    assert run.number == 4 and run.continued_from == 3 and run.epochs[0]["epoch"] == 2
    assert three.history.batches.step == list(range(6))   # run 3's batches, then run 4's


def test_the_table_lists_and_compares_the_selected_runs(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    assert panel.table.rowCount() == 3
    panel.select([1, 2, 3])
    assert panel.differing() == ["lr"]
    assert "Learning rate" in panel.differ_label.text()
    lr_col, opt_col = _column("Learning rate"), _column("Optimizer")
    for row in range(3):
        assert panel.table.item(row, lr_col).data(DIFFER_ROLE) is True
        assert not panel.table.item(row, opt_col).data(DIFFER_ROLE)
    assert panel.table.horizontalHeaderItem(lr_col).text() == "Learning rate ≠"
    assert len(panel.loss_plot.getPlotItem().listDataItems()) == 3
    assert len(panel.acc_plot.getPlotItem().listDataItems()) == 3
    panel.select([2])
    assert panel.differing() == [] and len(panel.loss_plot.getPlotItem().listDataItems()) == 1
    assert not panel.table.item(0, lr_col).data(DIFFER_ROLE)


def test_the_table_sorts_by_value(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    col = _column("Learning rate")
    panel.table.sortItems(col)
    assert [panel.table.item(r, 0).key for r in range(3)] == [1, 2, 3]
    panel.table.sortItems(col, order=panel.table.horizontalHeader().sortIndicatorOrder().DescendingOrder)
    assert [panel.table.item(r, 0).key for r in range(3)] == [3, 2, 1]


def test_restore_makes_the_runs_network_and_weights_current(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    asked = []
    panel.ask_confirm = lambda title, text: asked.append(text) or True
    panel.select([1])
    assert panel.restore_last.isEnabled()
    panel.restore_last.click()
    assert asked and "run 1" in asked[0]
    run1 = three.runs[0]
    for key, value in run1.last_weights.items():
        np.testing.assert_array_equal(three.weights[key], value)
    assert three.history.run == 1 and three.history.hyperparameters["lr"] == LRS[0]
    assert three.spec.to_dict() == run1.network


def test_restore_asks_and_a_no_changes_nothing(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    panel.ask_confirm = lambda title, text: False
    before = three.weights["0.W"].copy()
    panel.select([1])
    assert panel.restore_last.click() is None and three.history.run == 3
    np.testing.assert_array_equal(three.weights["0.W"], before)


def test_restore_a_different_network_is_one_undoable_step(qtbot, qapp, tiny_data):
    from cnnstudio.model.commands import ReplaceNetwork
    from cnnstudio.model.templates import get_template

    state = AppState(template="mlp")
    _train(qtbot, state, tiny_data, 0.002)
    state.document.execute(ReplaceNetwork(get_template("simple-cnn")))   # the user loads another network
    panel = RunsPanel(state)
    qtbot.addWidget(panel)
    panel.ask_confirm = lambda title, text: True
    panel.select([1])
    assert panel.restore("last")
    assert state.spec.name == "mlp" and state.weights_fit()
    state.document.undo()
    assert state.spec.name == "simple-cnn"


def test_a_new_project_has_no_runs(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    three.new_project("lenet5")
    assert three.runs == [] and panel.table.rowCount() == 0
    assert "No training runs yet" in panel.current_label.text()


def test_export_csv_writes_every_run(qtbot, three, tmp_path):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    out = tmp_path / "runs.csv"
    panel.ask_csv_path = lambda: str(out)
    panel.export_button.click()
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("number,name,started")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]


def test_runs_and_per_batch_curves_survive_save_and_open(qtbot, three, tmp_path):
    path = tmp_path / "three.cnnproj"
    three.save(str(path))
    shown = three.history.batches.step
    again = AppState()
    panel = TrainingPanel(again)
    qtbot.addWidget(panel)
    qtbot.addWidget(panel.plots)
    runs_panel = RunsPanel(again)
    qtbot.addWidget(runs_panel)
    again.open(str(path))
    assert [r.number for r in again.runs] == [1, 2, 3] and runs_panel.table.rowCount() == 3
    assert again.history.batches.step == shown == [0, 1, 2]
    # the Plots show the per-batch points again, not only the epochs'
    assert panel.plots.series["loss"].n == 3 and panel.plots.series["epoch_val_acc"].n == 1
    np.testing.assert_allclose(panel.plots.series["loss"].y, three.runs[2].curve.loss)


def test_a_run_stopped_before_its_first_epoch_is_not_kept(qtbot, three, tiny_data):
    controller = TrainingController(three)
    config = dataclasses.replace(three.training_config, lr=0.01, epochs=1, batch_size=32, augment=False)
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        controller.start(config, datasets=tiny_data, paused=True)
        controller.stop()
    assert [r.number for r in three.runs] == [1, 2, 3]
