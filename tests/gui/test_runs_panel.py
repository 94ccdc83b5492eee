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


def test_a_learning_rate_changed_mid_run_shows_in_its_cell(qtbot, three):
    """QA (issue 13): a run whose rate was changed from 0.002 to 0.0005 during it showed 0.002 only."""
    three.runs[1].lr_changes = [{"epoch": 1, "step": 2, "lr": 0.0005}]   # as a live change records it
    three.runs[2].hyperparameters["lr"] = LRS[1]                         # run 3 started at that rate too
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    col = _column("Learning rate")
    cells = {panel.table.item(r, 0).key: panel.table.item(r, col) for r in range(3)}
    assert cells[2].text() == "0.002 → 0.0005 (epoch 1)" and "changed during the run" in cells[2].toolTip()
    assert cells[3].text() == "0.002" and cells[2].key == LRS[1]    # sorted by the starting rate
    panel.select([2, 3])
    assert panel.differing() == ["lr"]            # same start, but run 2's rate was changed
    assert cells[2].data(DIFFER_ROLE) is True and cells[3].data(DIFFER_ROLE) is True
    assert panel.table.horizontalHeaderItem(col).text() == "Learning rate ≠"
    panel.table.sortItems(col)
    assert [panel.table.item(r, 0).key for r in range(3)] in ([1, 2, 3], [1, 3, 2])


def test_restore_makes_the_runs_network_and_weights_current(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    asked = []
    panel.ask_restore = lambda title, text, settings: asked.append(text) or True
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
    panel.ask_restore = lambda title, text, settings: None
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
    panel.ask_restore = lambda title, text, settings: True
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


# ---- follow-ups: restored settings, the data per run, live runs, rename and delete ---------------
def test_restore_also_restores_the_training_settings_into_the_form(qtbot, three):
    training = TrainingPanel(three)
    qtbot.addWidget(training)
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    three.update_training_config(lr=0.05, batch_size=16, optimizer="sgd", backend="numpy")
    offered = []
    panel.ask_restore = lambda title, text, settings: offered.append(settings) or True   # the default: checked
    said = []
    panel.message.connect(said.append)
    panel.select([1])
    assert panel.restore("best")
    assert "Learning rate 0.05 → 0.001" in offered[0] and "Optimizer sgd → adam" in offered[0]
    config = three.training_config
    assert (config.lr, config.batch_size, config.optimizer) == (LRS[0], 32, "adam")
    assert abs(training.form.lr.value() - LRS[0]) < 1e-9 and training.form.batch_size.value() == 32
    assert training.form.optimizer.currentData() == "adam"
    assert config.dataset == "sample" and config.backend == "numpy"      # the data choice and backend stay
    assert said and "Restored run 1" in said[0] and "training settings" in said[0] and said[0] == panel.last_message


def test_restore_can_keep_the_current_settings(qtbot, three):
    training = TrainingPanel(three)
    qtbot.addWidget(training)
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    three.update_training_config(lr=0.05, batch_size=16)
    panel.ask_restore = lambda title, text, settings: False   # Yes, with the checkbox unchecked
    panel.select([1])
    assert panel.restore("last")
    assert three.history.run == 1 and (three.training_config.lr, three.training_config.batch_size) == (0.05, 16)
    assert abs(training.form.lr.value() - 0.05) < 1e-9
    assert "settings are yours" in panel.last_message


def test_restore_dialog_has_the_settings_checkbox_checked(qtbot, three):
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication, QMessageBox

    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    seen = []

    def answer():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        seen.append((box.checkBox().text(), box.checkBox().isChecked()))
        box.checkBox().setChecked(False)
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, answer)
    assert panel.ask_restore("Restore run 1", "Make run 1 ... current?", "Also restore its training settings") is False
    assert seen == [("Also restore its training settings", True)]


def _file_data(data, name):
    """``data`` (tiny sample slices) recorded as the .npz file ``name`` (as an import would)."""
    from cnnstudio.project.datasource import DataSource, attach

    train, val = (d.subset(np.arange(len(d))) for d in data)
    src = DataSource("file", name, path=f"/data/{name}", format="npz", channels=1,
                     classes=tuple(train.class_names), num_images=len(train) + len(val), num_val=len(val),
                     val_fraction=0.25, split_seed=3)
    return attach(train, val, src)


def test_each_run_keeps_its_data_record_and_the_panel_marks_a_difference(qtbot, qapp, tiny_data, tmp_path):
    state = AppState(template="simple-cnn")
    _train(qtbot, state, tiny_data, 0.002)
    _train(qtbot, state, _file_data(tiny_data, "digits.npz"), 0.002)
    one, two = state.runs
    assert one.data["kind"] == "sample" and two.data["kind"] == "file" and two.data["path"] == "/data/digits.npz"
    assert two.data["val_fraction"] == 0.25 and two.data["split_seed"] == 3
    panel = RunsPanel(state)
    qtbot.addWidget(panel)
    col = _column("Data")
    panel.table.sortItems(0)
    assert [panel.table.item(r, col).text() for r in range(2)] == ["MNIST sample", "digits.npz"]
    assert "/data/digits.npz" in panel.table.item(1, col).toolTip()
    panel.select([1, 2])
    assert panel.differing() == ["data"] and "Data" in panel.differ_label.text()
    assert panel.table.item(0, col).data(DIFFER_ROLE) is True and panel.table.horizontalHeaderItem(col).text() == "Data ≠"
    path = tmp_path / "two.cnnproj"
    state.save(str(path))
    again = AppState()
    again.open(str(path))
    assert [r.data for r in again.runs] == [one.data, two.data]


def test_a_training_run_shows_live_after_each_epoch(qtbot, qapp, three, tiny_data):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    seen = []

    def look(_runs):   # connected after the panel's own refresh, so the table is already updated
        if three.training and three.training_run is not None:
            run = next(r for r in three.runs if r.number == three.training_run)
            row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).key == run.number)
            seen.append((len(run.epochs), panel.table.item(row, 0).text(), sorted(panel.selected_numbers()),
                         len(panel.acc_plot.getPlotItem().listDataItems()), panel.current_label.text(),
                         panel.table.item(row, _column("Epochs")).text()))

    three.runsChanged.connect(look)
    panel.select([1])
    controller = TrainingController(three)
    config = dataclasses.replace(three.training_config, lr=0.003, epochs=2, batch_size=32, augment=False)
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        controller.start(config, datasets=tiny_data)
    assert seen[0][0] == 1 and sorted({s[0] for s in seen}) == [1, 2]   # updated after each epoch (and at the end)
    assert all(s[1] == "4 (training)" and s[2] == [1, 4] and s[3] == 2 for s in seen), seen   # run 1 and the live one
    assert "Run 4 (italic) is training" in seen[0][4]
    assert seen[0][5] == "1"   # the epochs it has trained so far, not the 2 planned
    panel.table.sortItems(0)
    assert three.training_run is None and panel.table.item(3, 0).text() == "4"   # no longer "training"
    assert "(bold) is the current" in panel.current_label.text()


def test_rename_and_delete_a_run_persist_on_save(qtbot, three, tmp_path):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    panel.ask_name = lambda title, label, current: "  wide lr  "
    assert panel.rename(1)
    assert three.runs[0].name == "wide lr" and three.is_dirty() and "wide lr" in panel.last_message
    asked = []
    panel.ask_confirm = lambda title, text: asked.append(text) and False
    assert not panel.delete(2) and [r.number for r in three.runs] == [1, 2, 3]   # asked, and "no" keeps it
    assert asked[0].startswith("Delete run 2 (simple-cnn, 1 epoch(s)") and "cannot be undone" in asked[0]
    panel.ask_confirm = lambda title, text: True
    assert panel.delete(2)
    assert [r.number for r in three.runs] == [1, 3] and panel.table.rowCount() == 2
    path = tmp_path / "renamed.cnnproj"
    three.save(str(path))
    again = AppState()
    again.open(str(path))
    assert [(r.number, r.title) for r in again.runs] == [(1, "wide lr"), (3, "run 3")]


def test_the_current_run_cannot_be_deleted_and_the_menu_says_why(qtbot, three):
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    errors = []
    panel.show_error = lambda title, text: errors.append(text)
    panel.ask_confirm = lambda title, text: pytest.fail("a run that must stay is not offered for deletion")
    assert not panel.delete(3) and [r.number for r in three.runs] == [1, 2, 3]
    assert "current run" in errors[0] and "Restore another run first" in errors[0]
    menu = panel.run_menu(3)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert not actions["Delete run 3 (not possible)"].isEnabled()
    assert any("current run" in text for text in actions)
    assert panel.run_menu(2).actions()[1].isEnabled() and panel.run_menu(2).actions()[1].text() == "Delete run 2…"


def test_a_run_others_continued_from_can_go_once_it_is_not_behind_the_current_weights(qtbot, three, tiny_data,
                                                                                    tmp_path):
    _train(qtbot, three, tiny_data, 0.004, continue_training=True)    # run 4 <- 3
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    assert "part of the current weights' training history" in three.why_not_delete(3)
    panel.ask_restore = lambda title, text, settings: True
    panel.select([1])
    assert panel.restore("last") and three.history.run == 1
    asked = []
    panel.ask_confirm = lambda title, text: asked.append(text) or True
    assert panel.delete(3)
    assert "Run(s) 4 continued from it" in asked[0]
    four = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).key == 4)
    assert "continued from run 3's weights (since deleted)" in panel.table.item(four, 0).toolTip()
    path = tmp_path / "gap.cnnproj"
    three.save(str(path))
    again = AppState()
    again.open(str(path))
    assert [r.number for r in again.runs] == [1, 2, 4] and again.runs[-1].continued_from == 3


def _reference_ema(values, alpha):
    out, avg, count = [], 0.0, 0
    for v in np.asarray(values, dtype=np.float64):
        if not np.isfinite(v):
            out.append(np.nan)
            continue
        count += 1
        avg = (1 - alpha) * avg + alpha * v
        out.append(avg / (1 - (1 - alpha) ** count))
    return np.array(out)


def test_the_training_runs_curves_grow_in_place_each_epoch(qtbot, qapp, tiny_data):
    """While a run trains, each epoch adds its points to the curves already drawn (the same plot
    items, smoothed from where the last epoch left off) instead of drawing every curve again;
    what is drawn is the whole run's smoothed loss and its accuracy per epoch."""
    from cnnstudio.gui.runs.panel import SMOOTH

    state = AppState(template="simple-cnn")
    panel = RunsPanel(state)
    qtbot.addWidget(panel)
    controller = TrainingController(state)
    seen = []

    def after_epoch(_record):
        run = state.runs[-1]
        loss_item, acc_item = panel.curves[run.number]
        seen.append((loss_item, acc_item, np.array(loss_item.yData), list(acc_item.yData),
                     run.curve.arrays()["loss"], [100 * e["val_acc"] for e in run.epochs]))

    controller.epochFinished.connect(after_epoch)
    config = dataclasses.replace(state.training_config, lr=0.01, epochs=3, batch_size=32, augment=False)
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        controller.start(config, datasets=tiny_data)
    assert len(seen) == 3
    assert len({id(s[0]) for s in seen}) == 1 and len({id(s[1]) for s in seen}) == 1   # the same items
    lengths = [len(s[4]) for s in seen]
    # 3 batches an epoch; the worker thread may already have recorded batches of the next epoch
    # when the GUI stores this one's record (it trains on meanwhile), so at least 3 per epoch done
    assert all(n >= 3 * (i + 1) for i, n in enumerate(lengths)) and lengths == sorted(lengths)
    assert lengths[-1] == 9
    for loss_item, acc_item, drawn_loss, drawn_acc, loss, acc in seen:
        assert len(drawn_loss) == len(loss)
        np.testing.assert_allclose(drawn_loss, _reference_ema(loss, SMOOTH), rtol=1e-12)
        assert drawn_acc == pytest.approx(acc)
    assert len(panel.loss_plot.getPlotItem().listDataItems()) == 1
    assert len(panel.loss_plot.getPlotItem().legend.items) == 1


def test_smoothing_skips_nan_batches_and_restarts_for_a_different_curve():
    from cnnstudio.gui.runs.panel import SMOOTH, _Smoothed

    smooth = _Smoothed()
    values = np.array([1.0, 2.0, np.nan, 4.0, 3.0, np.inf, 2.5])
    first = smooth.get(7, values[:3])
    np.testing.assert_allclose(first, _reference_ema(values[:3], SMOOTH))
    grown = smooth.get(7, values)
    np.testing.assert_allclose(grown, _reference_ema(values, SMOOTH))
    assert np.isnan(grown[2]) and np.isnan(grown[5])
    other = np.array([9.0, 8.0])   # run 7 deleted, a new run 7: not the old curve grown
    np.testing.assert_allclose(smooth.get(7, other), _reference_ema(other, SMOOTH))
    smooth.keep_only(set())
    assert smooth._kept == {}


def test_the_columns_fit_their_contents_after_each_refresh(qtbot, three):
    """The columns are fitted once per refresh (measuring every cell on every setItem made a
    refresh quadratic in the cells: 100 runs took 20 s); a longer name widens its column."""
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    panel.show()
    for c in range(panel.table.columnCount()):
        assert panel.table.columnWidth(c) >= panel.table.sizeHintForColumn(c)
    run_col = _column("Run")
    before = panel.table.columnWidth(run_col)
    three.runs[0].continued_from = 123456789   # "1 ← 123456789": a wider first cell
    panel.refresh()
    assert panel.table.columnWidth(run_col) > before
    assert panel.table.columnWidth(run_col) >= panel.table.sizeHintForColumn(run_col)
