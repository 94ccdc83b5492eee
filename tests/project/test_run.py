"""project.run: the typed run history (the project file's JSON, unchanged) and one training run."""

import math

import numpy as np
import pytest

from cnnstudio.engine.health import HealthMonitor
from cnnstudio.model import get_template
from cnnstudio.project import session
from cnnstudio.project.file import Project, load_project, save_project
from cnnstudio.project.run import DatasetRecord, EpochDone, EpochRecord, LrChange, Run, RunHistory

#: a history as the app writes it today (global steps) and one as the CLI did (none)
APP_HISTORY = {
    "epochs": [{"epoch": 1, "train_loss": 0.9, "train_acc": 0.7, "val_loss": 0.8, "val_acc": 0.75, "lr": 0.003,
                "seconds": 1.234, "images_per_sec": 812.5, "global_step": 8},
               {"epoch": 2, "train_loss": 0.5, "train_acc": 0.85, "val_loss": None, "val_acc": None, "lr": 0.0005,
                "seconds": 1.1, "images_per_sec": 900.0, "global_step": 16}],
    "lr_changes": [{"epoch": 2, "step": 11, "lr": 0.0005}],
    "hyperparameters": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.003},
    "dataset": {"name": "MNIST sample", "source": "sample", "num_train": 256, "num_val": 64,
                "image_shape": [28, 28, 1], "classes": [str(i) for i in range(10)]},
}
CLI_EPOCH = {"epoch": 1, "train_loss": 2.1, "train_acc": 0.2, "val_loss": 2.0, "val_acc": 0.25, "lr": 0.002,
             "seconds": 0.5, "images_per_sec": 400.0}


def test_history_round_trips_the_files_json_unchanged():
    assert RunHistory.from_dict(APP_HISTORY).to_dict() == APP_HISTORY
    cli = {"epochs": [CLI_EPOCH], "lr_changes": [], "hyperparameters": {}, "dataset": None}
    assert RunHistory.from_dict(cli).to_dict() == cli


def test_history_is_typed():
    h = RunHistory.from_dict(APP_HISTORY)
    assert isinstance(h.epochs[1], EpochRecord) and h.epochs[1].val_acc is None and h.epochs[1].global_step == 16
    assert h.lr_changes == [LrChange(2, 11, 0.0005)]
    assert isinstance(h.dataset, DatasetRecord) and h.dataset.num_train == 256
    assert h.last_global_step == 16 and RunHistory.from_dict({"epochs": [CLI_EPOCH]}).last_global_step == 0


def test_keys_this_version_does_not_know_are_kept():
    data = {**APP_HISTORY, "notes": "kept", "epochs": [{**CLI_EPOCH, "grad_norm": 1.5}],
            "dataset": {**APP_HISTORY["dataset"], "licence": "CC"}}
    assert RunHistory.from_dict(data).to_dict() == data


def test_missing_parts_are_empty_and_bad_parts_are_named():
    assert RunHistory.from_dict(None).to_dict() == {"epochs": [], "lr_changes": [], "hyperparameters": {},
                                                     "dataset": None}
    assert RunHistory.from_dict({"epochs": [{"train_loss": 1.0}]}).epochs[0].epoch == 1
    with pytest.raises(ValueError, match=r"epochs\[0\] must be an object"):
        RunHistory.from_dict({"epochs": [3]})
    with pytest.raises(ValueError, match=r"epochs\[0\].epoch must be a whole number"):
        RunHistory.from_dict({"epochs": [{"epoch": "one"}]})


def test_non_finite_values_become_null_as_the_file_saves_them():
    record = EpochRecord(1, float("nan"), 0.1, float("inf"), 0.2, 0.01, 1.0, 10.0)
    out = record.to_dict()
    assert out["train_loss"] is None and out["val_loss"] is None and out["train_acc"] == 0.1


def test_a_file_written_today_loads_into_the_same_history(tmp_path):
    path = tmp_path / "p.cnnproj"
    save_project(path, Project(get_template("simple-cnn"), history=APP_HISTORY))
    assert RunHistory.from_dict(load_project(path).history).to_dict() == APP_HISTORY


# ---- one run ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return session.prepare_data(None, get_template("simple-cnn"), limit=64)


def _prepared(data, **overrides):
    config = session.make_config(**{"batch_size": 16, "epochs": 2, "schedule": "constant", "lr": 0.003,
                                    **overrides})
    train, val = data
    return session.make_trainer(get_template("simple-cnn"), train, val, config, threads=None)


def test_a_run_records_epochs_with_global_steps_and_shares_the_trainers_copy(data):
    run = Run(_prepared(data))
    items = list(run.reports())
    steps = [i for i in items if not isinstance(i, EpochDone)]
    done = [i for i in items if isinstance(i, EpochDone)]
    assert len(steps) == 8 and [s["global_step"] for s in steps] == list(range(8))
    assert [d.record.epoch for d in done] == [1, 2] and [d.record.global_step for d in done] == [4, 8]
    assert run.history.epochs == [d.record for d in done]
    assert run.history.hyperparameters["batch_size"] == 16 and run.history.dataset.num_train == 64
    # the weights after the epoch are the Trainer's own copy (no second one), and they are host copies
    assert done[-1].weights is run.trainer.last_good_weights
    # a copy, not a view of the live parameters: the second epoch did not change the first's
    assert not np.array_equal(done[0].weights["0.W"], done[1].weights["0.W"])
    assert int(done[-1].optimizer_state["steps"]) == 8
    # the same record the CLI's session.epoch_record gives, plus the global step
    assert {k: v for k, v in done[0].record.to_dict().items() if k != "global_step"}.keys() == CLI_EPOCH.keys()


def test_a_continued_run_numbers_its_epochs_and_steps_after_the_earlier_ones(data):
    run = Run(_prepared(data, epochs=1), RunHistory.from_dict(APP_HISTORY))
    assert (run.epoch_offset, run.step_offset, run.planned_steps) == (2, 16, 20)
    items = list(run.reports())
    assert [i["global_step"] for i in items if not isinstance(i, EpochDone)] == [16, 17, 18, 19]
    assert [e.epoch for e in run.history.epochs] == [1, 2, 3] and run.history.epochs[-1].global_step == 20
    assert run.history.lr_changes == [LrChange(2, 11, 0.0005)]  # earlier changes stay
    assert run.history.hyperparameters["epochs"] == 1  # this run's settings, this run's data
    assert run.history.dataset.num_train == 64


def test_lr_changes_are_recorded_with_the_step_and_epoch_they_take_effect(data):
    run = Run(_prepared(data), RunHistory.from_dict(APP_HISTORY))
    gen = run.reports()
    for _ in range(5):  # one epoch of 4 batches and its EpochDone
        next(gen)
    assert run.set_lr(0.001) == LrChange(4, 20, 0.001)
    step = next(gen)
    assert step["lr"] == pytest.approx(0.001) and step["global_step"] == 20
    assert run.history.to_dict()["lr_changes"][-1] == {"epoch": 4, "step": 20, "lr": 0.001}


def test_the_runs_curves_keep_each_batchs_learning_rate_across_a_live_change(data):
    """QA (issue 13): the per-batch curves kept no learning rate, so a reopened project drew it
    per epoch; each batch's rate is kept now, the change included."""
    run = Run(_prepared(data))
    gen = run.reports()
    for _ in range(3):
        next(gen)
    run.set_lr(0.0005)
    list(gen)
    for curve in (run.record.curve, run.history.batches):
        assert curve.step == list(range(8))
        assert curve.lr == pytest.approx([0.003] * 3 + [0.0005] * 5)
        assert [r["lr"] for r in curve.records()] == pytest.approx(curve.lr)


def test_a_health_issue_that_pauses_asks_the_pump_to_pause(data):
    run = Run(_prepared(data), monitor=HealthMonitor(["Conv2D"] * 7))
    paused = []
    run.request_pause = lambda: paused.append(True)
    gen = run.reports()
    next(gen)
    run.set_lr(1e30)  # float32 weights overflow: the loss becomes NaN
    for item in gen:
        if paused:
            break
    kinds = [i.kind for i in run.issues]
    assert "nan" in kinds and paused == [True]
    assert not isinstance(item, EpochDone) and math.isnan(item["loss"])
    run.restore_last_good(0.001)
    assert all(np.isfinite(w).all() for w in run.network.get_weights().values())
    assert run.trainer.current_lr() == pytest.approx(0.001)
