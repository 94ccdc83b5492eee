"""Live training in the app: the worker, the controller and the panel (pytest-qt, offscreen).

Every run uses a small slice of the bundled sample (256 train / 64 validation images,
batch 32 -> 8 batches per epoch) and simple-cnn, so each test takes about a second.
"""

from __future__ import annotations

import collections
import threading

import numpy as np
import pytest

from cnnstudio.engine import health
from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel

TIMEOUT = 60_000  # ms; generous for a shared 2-core machine (never a speed assertion)
STEPS_PER_EPOCH = 8


@pytest.fixture
def panel(qtbot):
    state = AppState(template="simple-cnn")
    p = TrainingPanel(state)
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    p.errors = []
    p.show_error = lambda title, text: p.errors.append((title, text))
    p.batch_size.setValue(32)
    p.lr.setValue(0.003)
    p.schedule.setCurrentIndex(p.schedule.findData("constant"))  # whatever the defaults become
    p.augment.setChecked(False)
    yield p
    if p.controller.running:
        p.controller.shutdown()


def start(panel, data, epochs=2, paused=False):
    panel.epochs.setValue(epochs)
    assert panel.start(paused=paused, datasets=data), panel.errors
    return panel.controller


def wait_worker_cycles(qtbot, c, rounds=2):
    """Wait until the paused worker has woken ``rounds`` times (a queued command each) and gone
    back to sleep: had it been going to pull a batch, it had the chance (no fixed sleep)."""
    for _ in range(rounds):
        ran = threading.Event()
        c.worker.call_in_worker(ran.set)
        qtbot.waitUntil(ran.is_set, timeout=TIMEOUT)


def wait_paused_after(qtbot, c, steps):
    qtbot.waitUntil(lambda: c.worker is not None and c.worker.is_paused and c.worker.steps_done == steps,
                    timeout=TIMEOUT)


def test_start_runs_to_completion_and_keeps_weights_and_history(qtbot, panel, small_data):
    assert not panel.hint.isVisible()
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT) as blocker:
        c = start(panel, small_data, epochs=2)
        assert panel.state.training and panel.state.document.read_only
        assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert blocker.args == ["completed"], panel.errors
    epochs = c.history["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) and 0 <= e["val_acc"] <= 1 for e in epochs)
    assert c.history["dataset"]["num_train"] == 256 and c.history["hyperparameters"]["batch_size"] == 32
    assert set(panel.state.weights) >= {"0.W", "0.b", "4.W", "4.b"}
    assert not panel.state.training and not panel.state.document.read_only
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.epoch_button.isEnabled()  # a finished run can go on for one more epoch
    panel.plots.refresh()
    assert panel.plots.series["loss"].n == 2 * STEPS_PER_EPOCH
    assert panel.plots.series["epoch_val_acc"].n == 2


def hold_in_batch(worker, n):
    """Hold the worker inside its ``n``-th batch (it buffers the batch's record, then waits) until
    ``release`` is set: the run is running and cannot end, however the threads are scheduled.
    Returns (inside, release) events. Install it while the worker is paused before its first batch."""
    inside, release = threading.Event(), threading.Event()

    class HeldSteps(collections.deque):
        appended = 0

        def append(self, record):
            super().append(record)
            HeldSteps.appended += 1
            if HeldSteps.appended == n:
                inside.set()
                release.wait(TIMEOUT / 1000)

    worker.steps = HeldSteps(worker.steps)
    return inside, release


def test_pause_then_resume(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=3, paused=True)
    wait_paused_after(qtbot, c, 0)
    inside, release = hold_in_batch(c.worker, 2)
    try:
        qtbot.waitUntil(panel.resume_button.isEnabled, timeout=TIMEOUT)
        panel.resume_button.click()
        qtbot.waitUntil(lambda: inside.is_set() and panel.pause_button.isEnabled(), timeout=TIMEOUT)
        # the run is running, in its second batch: the pause lands mid-run (a race while the run
        # started unpaused could end before the click under load)
        with qtbot.waitSignal(c.pausedChanged, timeout=TIMEOUT, check_params_cb=lambda p: p):
            panel.pause_button.click()
            release.set()
    finally:
        release.set()
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    assert panel.step_button.isEnabled()
    done = c.worker.steps_done
    wait_worker_cycles(qtbot, c)  # a paused worker pulls no batch, however often it wakes
    assert c.worker.steps_done == done and c.running
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        panel.resume_button.click()
    assert blocker.args == ["completed"]
    assert len(c.history["epochs"]) == 3


def test_stop_mid_epoch_keeps_only_completed_epochs(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=3, paused=True)
    c.worker.step(STEPS_PER_EPOCH + 3)  # one whole epoch and three batches of the next
    wait_paused_after(qtbot, c, STEPS_PER_EPOCH + 3)
    # the worker can be paused before the GUI thread has handled its queued end-of-epoch report
    qtbot.waitUntil(lambda: [e.epoch for e in panel.state.history.epochs] == [1], timeout=TIMEOUT)
    epoch_one = {k: v.copy() for k, v in panel.state.weights.items()}
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        panel.stop_button.click()
    assert blocker.args == ["stopped"]
    assert [e["epoch"] for e in c.history["epochs"]] == [1]
    assert c.trainer.global_step == STEPS_PER_EPOCH + 3
    # The AppState holds the weights of the completed epoch, not the half-trained ones.
    for name, value in panel.state.weights.items():
        np.testing.assert_array_equal(value, epoch_one[name])
    assert not panel.state.document.read_only


def test_step_runs_exactly_one_batch(qtbot, panel, small_data):
    panel.epochs.setValue(2)
    panel.start = (lambda orig: lambda paused=False, datasets=None: orig(paused=paused, datasets=small_data))(
        panel.start)
    panel.step_button.click()  # from idle: starts paused, then one batch
    c = panel.controller
    wait_paused_after(qtbot, c, 1)
    wait_worker_cycles(qtbot, c)
    assert c.worker.steps_done == 1 and c.trainer.global_step == 1
    panel.step_button.click()
    wait_paused_after(qtbot, c, 2)
    assert c.trainer.global_step == 2
    c.drain()
    assert panel.plots.series["loss"].n == 2


def test_lr_change_mid_run_is_recorded_and_used(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=2, paused=True)
    c.worker.step(3)
    wait_paused_after(qtbot, c, 3)
    panel.lr.setValue(0.0005)
    panel.lr.editingFinished.emit()
    c.worker.step(2)
    wait_paused_after(qtbot, c, 5)
    c.drain()
    lrs = panel.plots.series["lr"].y
    assert list(lrs[:3]) == pytest.approx([0.003] * 3) and list(lrs[3:5]) == pytest.approx([0.0005] * 2)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.resume()
    assert {"epoch": 1, "step": 3, "lr": 0.0005} in c.history["lr_changes"]
    assert c.history["epochs"][-1]["lr"] == pytest.approx(0.0005)
    assert c.history["hyperparameters"]["lr"] == pytest.approx(0.003)  # as the run started
    saved = panel.state.history.to_dict() if panel.state.project is None else panel.state.project.history
    assert saved["lr_changes"] == c.history["lr_changes"]


def test_a_reopened_project_draws_the_learning_rate_per_batch(qtbot, panel, small_data, tmp_path):
    """QA (issue 13): after a live LR change, save and reopen, Plots > Learning rate showed only
    epoch dots; it shows the per-batch rate with the drop again."""
    c = start(panel, small_data, epochs=2, paused=True)
    c.worker.step(3)
    wait_paused_after(qtbot, c, 3)
    panel.lr.setValue(0.0005)
    panel.lr.editingFinished.emit()
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.resume()
    c.drain()
    before = panel.plots.series["lr"]
    live_x, live_y = before.x.copy(), before.y.copy()
    assert len(live_y) == 2 * STEPS_PER_EPOCH
    path = panel.state.save(tmp_path / "lr.cnnproj")
    panel.state.open(path)
    qtbot.waitUntil(lambda: panel.plots.series["lr"].n == 2 * STEPS_PER_EPOCH, timeout=TIMEOUT)
    lr = panel.plots.series["lr"]
    np.testing.assert_allclose(lr.x, live_x)
    np.testing.assert_allclose(lr.y, live_y, rtol=1e-6)
    assert list(lr.y[:3]) == pytest.approx([0.003] * 3) and list(lr.y[3:]) == pytest.approx([0.0005] * 13)
    assert panel.plots.curves["lr"].opts["symbol"] is None


def test_huge_learning_rate_triggers_nan_pause_and_fix_restores(qtbot, panel, small_data):
    seen = []
    panel.controller.healthIssues.connect(seen.extend)
    c = start(panel, small_data, epochs=50, paused=True)
    # Our loss is log-sum-exp stable and dead ReLUs stop gradients, so only an absurd rate
    # overflows float32 weights (inf - inf = NaN); the panel caps the field at 10, the API does not.
    c.set_lr(1e30)
    c.resume()
    qtbot.waitUntil(lambda: any(i.kind == "nan" for i in seen), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: c.worker.is_paused, timeout=TIMEOUT)  # auto-paused
    qtbot.waitUntil(panel.resume_button.isEnabled, timeout=TIMEOUT)
    card = next(card for card in panel.health.cards if card.issue.kind == "nan")
    fix_button = card.buttons[health.RESTORE_AND_HALVE_LR]
    assert fix_button.isEnabled()
    fix_button.click()
    # The fix runs in the worker thread before the next batch: weights finite again, LR halved.
    qtbot.waitUntil(lambda: c.trainer.current_lr() == pytest.approx(5e29), timeout=TIMEOUT)
    assert all(np.isfinite(w).all() for w in c.trainer.network.get_weights().values())
    assert "halved" in panel.health.status.text()
    assert c.worker.is_paused  # the user decides when to go on
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()


def test_nan_fix_halves_the_rate_in_use_not_the_configured_one(qtbot, panel, small_data):
    # cosine over 2 epochs of 8 batches: after 8 batches the schedule is at half the configured 0.003
    panel.schedule.setCurrentIndex(panel.schedule.findData("cosine"))
    c = start(panel, small_data, epochs=2, paused=True)
    for done in range(1, 9):
        c.step()
        wait_paused_after(qtbot, c, done)
    in_use = c.trainer.current_lr()
    assert in_use == pytest.approx(0.0015, rel=1e-3)
    c.apply_fix(health.Fix(health.RESTORE_AND_HALVE_LR, "restore"))
    qtbot.waitUntil(lambda: c.trainer.current_lr() == pytest.approx(in_use / 2), timeout=TIMEOUT)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()


def test_dataset_that_does_not_fit_shows_the_explained_error_and_does_not_start(qtbot, panel, small_data):
    import cnnstudio.model as model
    panel.state.document.execute(model.SetLayerConfig(4, "units", 5))  # 5 outputs, 10 classes
    panel.epochs.setValue(1)
    assert not panel.start(datasets=small_data)
    assert not panel.controller.running and not panel.state.training
    (title, text), = panel.errors
    assert "Cannot start" in title and "10" in text and "Dense" in text


def test_overfitting_fix_inserts_dropout_only_when_stopped(qtbot, panel):
    fix = health.Fix(health.INSERT_DROPOUT, "Insert Dropout", {"index": 4, "rate": 0.5}, needs_stopped=True)
    panel.controller.apply_fix(fix)
    types = [layer.type for layer in panel.state.spec.layers]
    assert types == ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dropout", "Dense", "Softmax"]
    panel.state.document.undo()
    leaky = health.Fix(health.REPLACE_WITH_LEAKY_RELU, "LeakyReLU", {"index": 1}, needs_stopped=True)
    panel.controller.apply_fix(leaky)
    assert panel.state.spec.layers[1].type == "LeakyReLU"


def test_overfitting_curve_shows_a_card_whose_dropout_fix_edits_the_network(qtbot, panel):
    # QA: 99% train / 94% validation never warned; the monitor's verdict reaches the panel as a card
    mon = health.HealthMonitor([layer.type for layer in panel.state.spec.layers])
    issues = []
    for n, (train_acc, val_acc) in enumerate([(0.96, 0.95), (0.98, 0.964), (0.995, 0.952), (0.998, 0.94)]):
        issues += mon.observe_epoch(n, 1 - train_acc, train_acc, 1 - val_acc, val_acc)
    panel.health.add_issues(issues)
    cards = [card for card in panel.health.cards if card.issue.kind == "overfitting"]
    assert len(cards) == 1 and "96.4%" in cards[0].label.text()  # once, naming the best validation accuracy
    cards[0].buttons[health.INSERT_DROPOUT].click()
    assert [layer.type for layer in panel.state.spec.layers].count("Dropout") == 1


def test_network_fixes_are_refused_while_training(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=2, paused=True)
    fix = health.Fix(health.INSERT_DROPOUT, "Insert Dropout", {"index": 4}, needs_stopped=True)
    assert "Stop training first" in c.apply_fix(fix)
    assert [layer.type for layer in panel.state.spec.layers].count("Dropout") == 0
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()


def test_add_epoch_after_finish_continues_the_same_run(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=1)
    qtbot.waitUntil(lambda: not c.running, timeout=TIMEOUT)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        panel.epoch_button.click()
    assert [e["epoch"] for e in c.history["epochs"]] == [1, 2]
    assert c.history["epochs"][-1]["global_step"] == 2 * STEPS_PER_EPOCH


def test_add_epoch_while_running_extends_the_run(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=1, paused=True)
    assert panel.epoch_button.isEnabled()
    panel.epoch_button.click()
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        panel.resume_button.click()
    assert [e["epoch"] for e in c.history["epochs"]] == [1, 2]


def test_add_epoch_refuses_to_continue_a_run_of_another_network(qtbot, panel, small_data):
    import cnnstudio.model as model
    c = start(panel, small_data, epochs=1)
    qtbot.waitUntil(lambda: not c.running, timeout=TIMEOUT)
    panel.state.document.execute(model.SetLayerConfig(0, "filters", 4))
    panel.epoch_button.click()
    assert not c.running
    (title, text), = panel.errors
    assert "network changed" in text and "Start" in text


def test_dead_relu_stats_from_the_engine_reach_the_health_view(qtbot, panel, small_data):
    from cnnstudio.engine.health import HealthThresholds
    c = start(panel, small_data, epochs=1, paused=True)
    # Any dead fraction counts, after one stats report: the engine's LayerStats must get through.
    c.run.monitor.t = HealthThresholds(dead_fraction=-1.0, dead_patience=1)
    with qtbot.waitSignal(c.healthIssues, timeout=TIMEOUT) as blocker:
        c.worker.step(1)  # step 0 carries layer stats (stats_every divides 0)
    issue, = blocker.args[0]
    assert issue.kind == "dead_relu" and issue.layer_index == 1  # simple-cnn's ReLU
    qtbot.waitUntil(lambda: any(card.issue is issue for card in panel.health.cards), timeout=TIMEOUT)
    card = next(card for card in panel.health.cards if card.issue is issue)
    assert not card.buttons[health.REPLACE_WITH_LEAKY_RELU].isEnabled()  # edits wait for Stop
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        c.stop()
    assert card.buttons[health.REPLACE_WITH_LEAKY_RELU].isEnabled()
    card.buttons[health.REPLACE_WITH_LEAKY_RELU].click()
    assert panel.state.spec.layers[1].type == "LeakyReLU"


def test_worker_error_reaches_the_gui(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=2, paused=True)

    def broken(x, rng):
        raise RuntimeError("augmenter exploded")
    c.worker.call_in_worker(lambda: c.run.set_batch_transform(broken))
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        c.resume()
    assert blocker.args == ["error"]
    assert any("augmenter exploded" in text and "RuntimeError" in text for _, text in panel.errors)
    assert not panel.state.training
