"""The app trains in a process of its own (gui.training.remote over project.trainproc).

These run the real child process (simple-cnn on 256 training images, batch 32: 8 batches an
epoch), through the panel and its controller as the app does. The other training tests keep
the in-process path (they reach into the live Trainer; see tests/gui/conftest.py). Waits are
on signals and conditions with timeouts.
"""

from __future__ import annotations

import glob
import os
import signal

import numpy as np
import pytest

from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel
from cnnstudio.gui.training.remote import ProcessRun, ProcessWorker

TIMEOUT = 120_000  # ms; generous for a shared 2-core machine (never a speed assertion)
STEPS_PER_EPOCH = 8


def shm_segments() -> set[str]:
    return set(glob.glob("/dev/shm/psm_*"))


@pytest.fixture
def panel(qtbot):
    state = AppState(template="simple-cnn")
    p = TrainingPanel(state)
    p.controller.out_of_process = True   # the app's default; conftest chooses in-process for the others
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    p.errors = []
    p.show_error = lambda title, text: p.errors.append((title, text))
    p.batch_size.setValue(32)
    p.lr.setValue(0.003)
    p.schedule.setCurrentIndex(p.schedule.findData("constant"))
    p.augment.setChecked(False)
    p.workers.setCurrentIndex(p.workers.findData("1"))
    before = shm_segments()
    yield p
    p.controller.shutdown()
    run = p.controller.run
    if isinstance(run, ProcessRun):
        assert not run.process.alive   # shutdown ends the child
    qtbot.waitUntil(lambda: not (shm_segments() - before), timeout=10_000)


def start(panel, data, epochs=2, paused=False):
    panel.epochs.setValue(epochs)
    assert panel.start(paused=paused, datasets=data), panel.errors
    c = panel.controller
    assert isinstance(c.run, ProcessRun) and isinstance(c.worker, ProcessWorker)
    return c


def wait_paused_after(qtbot, c, steps):
    qtbot.waitUntil(lambda: c.worker is not None and c.worker.is_paused and c.worker.steps_done == steps,
                    timeout=TIMEOUT)


def test_a_run_in_the_child_goes_to_the_end_with_curves_and_weights_back(qtbot, panel, small_data):
    panel.workers.setCurrentIndex(panel.workers.findData("2"))   # engine worker processes inside the child
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT) as blocker:
        c = start(panel, small_data, epochs=2)
        assert panel.state.training and panel.state.document.read_only and not panel.workers.isEnabled()
    assert blocker.args == ["completed"], panel.errors
    assert c.run.workers == 2 and c.run.processes and c.trainer is None
    epochs = c.history["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) and 0 <= e["val_acc"] <= 1 for e in epochs)
    assert c.history["dataset"]["num_train"] == 256 and c.history["hyperparameters"]["workers"] == "2"
    assert set(panel.state.weights) >= {"0.W", "0.b", "4.W", "4.b"}
    assert int(panel.state.optimizer_state["steps"]) == 2 * STEPS_PER_EPOCH
    assert [e["epoch"] for e in panel.state.history.to_dict()["epochs"]] == [1, 2]
    assert not panel.state.training and panel.start_button.isEnabled() and panel.epoch_button.isEnabled()
    panel.plots.refresh()
    assert panel.plots.series["loss"].n == 2 * STEPS_PER_EPOCH
    assert panel.plots.series["epoch_val_acc"].n == 2
    # +1 epoch after the end: the same child goes on where it stopped
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as more:
        panel.add_epoch()
    assert more.args == ["completed"], panel.errors
    assert [e["epoch"] for e in c.history["epochs"]] == [1, 2, 3]
    assert c.history["epochs"][-1]["global_step"] == 3 * STEPS_PER_EPOCH
    assert int(panel.state.optimizer_state["steps"]) == 3 * STEPS_PER_EPOCH


def test_step_pause_resume_lr_and_one_more_epoch_in_the_child(qtbot, panel, small_data):
    live = []
    panel.state.liveWeightsChanged.connect(live.append)
    panel.controller.preview_interval_s = 0.0   # a mid-epoch weights copy after every batch
    c = start(panel, small_data, epochs=1, paused=True)
    qtbot.waitUntil(lambda: c.paused and panel.state.status.name == "PAUSED", timeout=TIMEOUT)
    c.step()
    wait_paused_after(qtbot, c, 1)
    qtbot.waitUntil(lambda: c.worker.previews_sent >= 2 and panel.state.live_weights is not None, timeout=TIMEOUT)
    shown = panel.state.live_weights   # the views' feature maps/filters show the weights after that batch
    assert set(shown) >= {"0.W", "4.W"} and shown["0.W"].flags.writeable and live
    assert c.last_step is None or c.last_step["global_step"] == 0
    c.set_lr(0.0007)
    qtbot.waitUntil(lambda: any(ch.lr == pytest.approx(0.0007) for ch in c.run.history.lr_changes), timeout=TIMEOUT)
    c.step()
    wait_paused_after(qtbot, c, 2)
    c.drain()
    assert c.last_step["global_step"] == 1 and c.last_step["lr"] == pytest.approx(0.0007)
    assert c.current_lr() == pytest.approx(0.0007)
    c.add_epoch()   # while paused: the run now has 2 epochs
    assert c.total_steps == 2 * STEPS_PER_EPOCH
    c.set_augmentation(True)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        c.resume()
    assert blocker.args == ["completed"], panel.errors
    assert [e["epoch"] for e in c.history["epochs"]] == [1, 2]
    assert c.history["epochs"][-1]["global_step"] == 2 * STEPS_PER_EPOCH
    assert [ch["lr"] for ch in c.history["lr_changes"]] == [pytest.approx(0.0007)]
    assert c.config.augment and panel.errors == []
    # the child's batch records carry their learning rate into the curves the project saves
    for curve in (c.run.history.batches, c.run.local.record.curve):
        assert curve.step == list(range(2 * STEPS_PER_EPOCH))
        assert curve.lr == pytest.approx([0.003] + [0.0007] * (2 * STEPS_PER_EPOCH - 1))


def test_stop_in_the_child_keeps_finished_epochs(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=50)
    qtbot.waitUntil(lambda: len(c.history["epochs"]) >= 1, timeout=TIMEOUT)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        c.stop()
    assert blocker.args == ["stopped"] and not c.running
    done = len(c.history["epochs"])
    assert done >= 1 and len(panel.state.history.epochs) == done and panel.state.weights


def test_a_killed_child_is_reported_as_an_error_and_the_run_stops(qtbot, panel, small_data):
    c = start(panel, small_data, epochs=1, paused=True)
    qtbot.waitUntil(lambda: c.paused, timeout=TIMEOUT)
    failures = []
    c.failed.connect(failures.append)
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        os.kill(c.run.process.pid, signal.SIGKILL)
    assert blocker.args == ["error"]
    assert failures and "training process" in failures[0] and "SIGKILL" in failures[0]
    assert panel.errors and "SIGKILL" in panel.errors[0][1]   # the panel shows it
    assert not c.running and not panel.state.training and panel.start_button.isEnabled()


def test_a_nan_run_in_the_child_pauses_itself_and_the_fix_restores(qtbot, panel, small_data):
    from cnnstudio.engine import health

    seen = []
    panel.controller.healthIssues.connect(seen.extend)
    c = start(panel, small_data, epochs=50, paused=True)
    qtbot.waitUntil(lambda: c.paused, timeout=TIMEOUT)
    c.set_lr(1e30)   # only an absurd rate overflows float32 weights (as in test_training.py)
    c.resume()
    qtbot.waitUntil(lambda: any(i.kind == "nan" for i in seen), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: c.paused and panel.state.status.name == "PAUSED", timeout=TIMEOUT)  # auto-paused
    card = next(card for card in panel.health.cards if card.issue.kind == "nan")
    fix_button = card.buttons[health.RESTORE_AND_HALVE_LR]
    qtbot.waitUntil(fix_button.isEnabled, timeout=TIMEOUT)
    fix_button.click()
    qtbot.waitUntil(lambda: c.current_lr() == pytest.approx(5e29), timeout=TIMEOUT)
    assert "halved" in panel.health.status.text() and c.paused
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT) as blocker:
        c.stop()
    assert blocker.args == ["stopped"]
