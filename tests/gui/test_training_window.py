"""Training inside the real main window: closing during a run, and reopening a trained project."""

from __future__ import annotations

import numpy as np
import pytest


TIMEOUT = 60_000


@pytest.fixture
def trainer_window(qtbot, settings):
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    win = MainWindow(AppState(template="simple-cnn"), settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    panel = win.training_panel
    panel.errors = []
    panel.show_error = lambda title, text: panel.errors.append((title, text))
    panel.batch_size.setValue(32)
    yield win
    if panel.controller.running:
        panel.controller.shutdown()


def test_closing_the_window_during_a_run_stops_the_worker_cleanly(qtbot, trainer_window, small_data):
    panel = trainer_window.training_panel
    c = panel.controller
    asked = []
    panel.ask_stop_training = lambda: asked.append(True) or "stop"
    panel.epochs.setValue(200)
    assert panel.start(datasets=small_data)
    qtbot.waitUntil(lambda: bool(c.history["epochs"]), timeout=TIMEOUT)  # at least one epoch done
    thread = c.worker_thread
    assert trainer_window.close()
    assert asked and not trainer_window.isVisible()
    assert c.worker_thread is None and thread.isFinished()
    assert not trainer_window.state.training
    # What finished before the close is kept in the AppState (to be saved or discarded).
    assert trainer_window.state.weights is not None
    assert len(trainer_window.state.history.epochs) >= 1


def test_cancelling_the_close_keeps_training(qtbot, trainer_window, small_data):
    panel = trainer_window.training_panel
    c = panel.controller
    panel.ask_stop_training = lambda: "cancel"
    panel.epochs.setValue(200)
    assert panel.start(datasets=small_data)
    assert not trainer_window.close()
    assert trainer_window.isVisible() and c.running
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()


def test_editor_is_read_only_during_a_run_with_a_visible_hint(qtbot, trainer_window, small_data):
    import cnnstudio.model as model
    panel = trainer_window.training_panel
    panel.epochs.setValue(200)
    assert panel.start(paused=True, datasets=small_data)
    assert panel.hint.isVisible() and "Stop" in panel.hint.text()
    with pytest.raises(Exception, match="(?i)training"):
        trainer_window.state.document.execute(model.SetLayerConfig(0, "filters", 4))
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        panel.stop_button.click()
    assert not panel.hint.isVisible()
    trainer_window.state.document.execute(model.SetLayerConfig(0, "filters", 4))
    assert trainer_window.state.spec.layers[0].config["filters"] == 4


def _train_save_reopen(qtbot, trainer_window, small_data, path, settings, epochs):
    """Train ``epochs`` at LR 0.002, save to ``path``, open it in a new window on another network."""
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    panel = trainer_window.training_panel
    panel.epochs.setValue(epochs)
    panel.lr.setValue(0.002)
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(datasets=small_data)
    trainer_window.state.save(str(path))

    state = AppState(template="mlp")
    win = MainWindow(state, settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    state.open(str(path))
    return win, state


def test_reopened_project_shows_its_run_again(qtbot, trainer_window, small_data, tmp_path, settings):
    panel = trainer_window.training_panel
    win, state = _train_save_reopen(qtbot, trainer_window, small_data, tmp_path / "run.cnnproj", settings, 2)
    plots = win.training_panel.plots
    assert plots.series["epoch_train_loss"].n == 2 and plots.series["epoch_val_acc"].n == 2
    saved = [e["train_loss"] for e in panel.controller.history["epochs"]]
    np.testing.assert_allclose(plots.series["epoch_train_loss"].y, saved)
    assert win.training_panel.lr.value() == pytest.approx(0.002)
    assert win.training_panel.epochs.value() == 2
    assert state.history.dataset.num_train == 256


def test_reopened_one_epoch_project_shows_its_learning_rate(qtbot, trainer_window, small_data, tmp_path, settings):
    # QA: a line through one point draws nothing. One saved epoch now brings back its rate per
    # batch (a line, as the run drew it); a file without per-batch rates shows one marker per
    # epoch (test_training_plots: test_load_history_draws_the_saved_per_batch_learning_rate)
    win, _ = _train_save_reopen(qtbot, trainer_window, small_data, tmp_path / "one.cnnproj", settings, 1)
    curve = win.training_panel.plots.curves["lr"]
    x, y = curve.getData()
    assert x is not None and len(y) == 8 and y[0] == pytest.approx(0.002) and (y > 0).all()
    assert curve.opts["symbol"] is None


def test_closing_while_paused_wakes_and_stops_the_worker(qtbot, trainer_window, small_data):
    panel = trainer_window.training_panel
    c = panel.controller
    panel.ask_stop_training = lambda: "stop"
    panel.epochs.setValue(5)
    assert panel.start(paused=True, datasets=small_data)
    qtbot.waitUntil(lambda: c.worker is not None and c.worker.is_paused, timeout=TIMEOUT)
    thread = c.worker_thread
    assert trainer_window.close()
    assert thread.isFinished() and not c.running
    assert c.history["epochs"] == []  # nothing was trained, nothing is claimed


def test_add_epoch_on_a_reopened_project_continues_its_saved_run(qtbot, trainer_window, small_data, tmp_path,
                                                                settings):
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    panel = trainer_window.training_panel
    panel.epochs.setValue(1)
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(datasets=small_data)
    path = tmp_path / "one-epoch.cnnproj"
    trainer_window.state.save(str(path))

    state = AppState(template="mlp")
    win = MainWindow(state, settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    state.open(str(path))
    state.set_dataset(small_data)
    other = win.training_panel
    saved = {k: v.copy() for k, v in state.weights.items()}
    assert other.epoch_button.isEnabled()
    with qtbot.waitSignal(other.controller.finished, timeout=TIMEOUT):
        other.epoch_button.click()
    epochs = other.controller.history["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[1]["global_step"] == 2 * epochs[0]["global_step"]
    assert any(not np.array_equal(state.weights[k], saved[k]) for k in saved)
    assert other.plots.series["epoch_train_loss"].n == 2
