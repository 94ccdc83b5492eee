"""Every run kept (issue 13): runs added by the CLI, listed (`runs --json`), compared, restored;
the format_version 1 migration; per-batch curves across save and open; hostile runs data."""

from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnstudio import cli
from cnnstudio.model import NetworkSpec
from cnnstudio.project import limits
from cnnstudio.project.file import FORMAT_VERSION, ProjectFileError, load_project, save_project
from cnnstudio.project.npzio import write_npz
from cnnstudio.project.runs import BatchCurve, RunRecord, differing_settings, lineage_curve, put_run, runs_csv
from cnnstudio.project.workspace import Workspace

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "format1-simple-cnn.cnnproj"
LRS = (0.001, 0.003)


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """mlp at lr 0.001 (2 epochs), simple-cnn at lr 0.003 into the same file, then that project
    continued for 1 epoch: three runs; copies of the file after each step."""
    folder = tmp_path_factory.mktemp("runs")
    path = folder / "p.cnnproj"
    steps = [["train", "mlp", "--epochs", "2", "--lr", LRS[0]],
             ["train", "simple-cnn", "--epochs", "1", "--lr", LRS[1]],
             ["train", path, "--epochs", "1"]]
    copies = []
    for i, argv in enumerate(steps):
        extra = ["--out", path] if argv[1] != path else []
        assert cli.main([str(a) for a in argv + ["--limit", "120", "--batch-size", "30"] + extra]) == 0
        copies.append(folder / f"after{i + 1}.cnnproj")
        shutil.copy(path, copies[-1])
    return path, copies


# ---- added --------------------------------------------------------------------------------
def test_cli_train_into_an_existing_project_adds_runs(three_runs):
    path, copies = three_runs
    project = load_project(path)
    assert [r.number for r in project.runs] == [1, 2, 3]
    one, two, three = project.runs
    assert one.network_name == "mlp" and two.network_name == "simple-cnn" and three.network_name == "simple-cnn"
    assert [len(r.epochs) for r in project.runs] == [2, 1, 1]
    assert one.continued_from is None and two.continued_from is None and three.continued_from == 2
    assert [e["epoch"] for e in three.epochs] == [2]   # numbered after the epoch it continued
    assert project.history["run"] == 3 and [e["epoch"] for e in project.history["epochs"]] == [1, 2]
    assert one.hyperparameters["lr"] == LRS[0] and two.hyperparameters["lr"] == LRS[1]
    assert all(r.dataset and r.dataset["num_train"] == 120 for r in project.runs)
    assert all(r.started and r.seconds > 0 and r.images_per_sec for r in project.runs)
    # per-batch curves: 120 images in batches of 30 = 4 batches an epoch
    assert [len(r.curve) for r in project.runs] == [8, 4, 4]
    assert three.curve.step == [4, 5, 6, 7]        # global steps go on from the run it continued
    # the current run's last weights are the project's own; earlier runs keep theirs
    assert three.last_weights is not None and all(np.array_equal(three.last_weights[k], project.weights[k])
                                                  for k in project.weights)
    run1_alone = load_project(copies[0])
    assert all(np.array_equal(one.last_weights[k], run1_alone.weights[k]) for k in run1_alone.weights)


def test_cli_says_which_run_it_adds(capsys, tmp_path):
    path = tmp_path / "x.cnnproj"
    for _ in range(2):
        code, out, _ = _cli(capsys, "train", "mlp", "--epochs", "1", "--limit", "60", "--out", path)
        assert code == 0
    assert "saving run 2 to" in out
    code, out, _ = _cli(capsys, "train", path, "--epochs", "1", "--limit", "60")
    assert code == 0 and "saving run 3 (continuing run 2)" in out
    assert len(load_project(path).runs) == 3


def test_cli_refuses_to_replace_a_file_that_is_no_project(capsys, tmp_path):
    path = tmp_path / "notes.cnnproj"
    path.write_text("my notes")
    code, _, err = _cli(capsys, "train", "mlp", "--epochs", "1", "--limit", "60", "--out", path)
    assert code == 2 and "cannot be opened as a project" in err and "another file name" in err
    assert path.read_text() == "my notes"


# ---- listed ----------------------------------------------------------------------------------
RUN_KEYS = {"number", "name", "started", "network", "epochs", "first_epoch", "last_epoch", "continued_from",
            "best_val_acc", "best_epoch", "final_val_acc", "final_val_loss", "final_train_loss", "final_train_acc",
            "seconds", "images_per_sec", "dataset", "data", "lr", "optimizer", "batch_size", "schedule", "augment",
            "weight_decay", "seed", "weights", "lr_changes"}


def test_runs_json_lists_every_run_with_documented_keys(capsys, three_runs):
    path, _ = three_runs
    code, out, _ = _cli(capsys, "runs", path, "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"project", "current_run", "differing", "runs"} and doc["current_run"] == 3
    rows = doc["runs"]
    assert [r["number"] for r in rows] == [1, 2, 3] and all(set(r) == RUN_KEYS for r in rows)
    project = load_project(path)
    for row, run in zip(rows, project.runs):
        assert row["epochs"] == len(run.epochs) and row["final_val_acc"] == run.epochs[-1]["val_acc"]
        assert row["best_val_acc"] == max(e["val_acc"] for e in run.epochs)
        assert row["lr"] == run.hyperparameters["lr"] and row["batch_size"] == 30
        assert row["weights"] == ["last", "best"]
    assert rows[0]["network"] == "mlp" and rows[2]["continued_from"] == 2
    assert (rows[2]["first_epoch"], rows[2]["last_epoch"]) == (2, 2)
    assert all(row["data"] == run.data and row["data"]["kind"] == "sample" for row, run in zip(rows, project.runs))
    keys_in_docs = Path(__file__).parents[2].joinpath("docs", "cli.md").read_text()
    assert all(f"`{key}`" in keys_in_docs for key in RUN_KEYS)


def test_runs_table_marks_the_current_run_and_what_differs(capsys, three_runs):
    path, _ = three_runs
    code, out, _ = _cli(capsys, "runs", path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["run", "started"] and lines[3].startswith("3*")
    assert lines[0].split()[3] == "data" and all("MNIST sample" in line for line in lines[1:4])
    assert "differ between runs: Network, Epochs, Learning rate" in out


def test_runs_of_a_project_without_runs(capsys, tmp_path):
    from cnnstudio.model.templates import get_template
    from cnnstudio.project.file import Project

    path = tmp_path / "new.cnnproj"
    save_project(path, Project(get_template("mlp")))
    code, out, _ = _cli(capsys, "runs", path, "--json")
    assert code == 0 and json.loads(out)["runs"] == []
    code, out, _ = _cli(capsys, "runs", path)
    assert code == 0 and "no training runs yet" in out


def test_runs_csv_has_a_header_and_a_line_per_run(three_runs):
    runs = load_project(three_runs[0]).runs
    lines = runs_csv(runs).splitlines()
    assert lines[0].split(",")[:3] == ["number", "name", "started"] and len(lines) == 4
    assert lines[1].startswith("1,run 1,") and lines[1].endswith(",last+best")


# ---- compared ----------------------------------------------------------------------------------
def test_differing_settings_names_what_differs():
    a = RunRecord(network={"name": "a", "layers": [1]}, hyperparameters={"lr": 0.001, "optimizer": "adam", "seed": 0})
    b = RunRecord(network={"name": "b", "layers": [1]}, hyperparameters={"lr": 0.003, "optimizer": "adam", "seed": 0})
    c = RunRecord(network={"name": "c", "layers": [2]}, hyperparameters={"lr": 0.001, "optimizer": "sgd"})
    assert differing_settings([a]) == []
    assert differing_settings([a, b]) == ["lr"]                 # a renamed network is the same network
    assert differing_settings([a, c]) == ["network", "optimizer", "seed"]


def test_a_learning_rate_changed_mid_run_is_shown_and_compared():
    """QA (issue 13): the runs table and `cnnstudio runs` showed only the starting rate (0.002) of
    a run whose rate was changed to 0.0005 during it, and it did not differ from a run that kept it."""
    from cnnstudio.project.runs import lr_text, run_row

    kept = RunRecord(hyperparameters={"lr": 0.002})
    changed = RunRecord(hyperparameters={"lr": 0.002}, lr_changes=[{"epoch": 5, "step": 37, "lr": 0.0005}])
    twice = RunRecord(hyperparameters={"lr": 0.002}, lr_changes=[{"epoch": 5, "step": 37, "lr": 0.0005},
                                                                 {"epoch": 7, "step": 50, "lr": 0.0001}])
    assert lr_text(kept) == "0.002" and lr_text(changed) == "0.002 → 0.0005 (epoch 5)"
    assert lr_text(twice) == "0.002 → 0.0005 (epoch 5) → 0.0001 (epoch 7)"
    assert run_row(changed)["lr"] == 0.002 and run_row(kept)["lr_changes"] == []
    assert run_row(changed)["lr_changes"] == [{"epoch": 5, "step": 37, "lr": 0.0005}]
    assert differing_settings([kept, changed]) == ["lr"] and differing_settings([changed, twice]) == ["lr"]
    later = RunRecord(hyperparameters={"lr": 0.002}, lr_changes=[{"epoch": 6, "step": 45, "lr": 0.0005}])
    assert differing_settings([changed, later]) == ["lr"]          # the same rate from another epoch
    same = RunRecord(hyperparameters={"lr": 0.002}, lr_changes=[{"epoch": 5, "step": 37, "lr": 0.0005}])
    assert differing_settings([changed, same]) == []
    import csv

    head, row = list(csv.reader(runs_csv([changed]).splitlines()))
    assert row[head.index("lr_changes")] == "0.0005 (epoch 5, step 37)" and row[head.index("lr")] == "0.002"


def test_cli_runs_shows_a_learning_rate_changed_mid_run(capsys, three_runs, tmp_path):
    project = load_project(three_runs[0])
    project.runs[1].lr_changes = [{"epoch": 1, "step": 2, "lr": 0.0005}]   # as a live change in the app records it
    path = tmp_path / "changed.cnnproj"
    save_project(path, project)
    code, out, _ = _cli(capsys, "runs", path)
    assert code == 0
    line = out.splitlines()[2]
    assert line.startswith("2 ") and f"{LRS[1]:g} → 0.0005 (epoch 1)" in line
    code, out, _ = _cli(capsys, "runs", path, "--json")
    rows = json.loads(out)["runs"]
    assert rows[1]["lr"] == LRS[1] and rows[1]["lr_changes"] == [{"epoch": 1, "step": 2, "lr": 0.0005}]
    assert rows[0]["lr_changes"] == [] and rows[2]["lr_changes"] == []


# ---- restored ----------------------------------------------------------------------------------
def test_restore_makes_a_runs_network_and_weights_current(three_runs):
    path, copies = three_runs
    ws = Workspace()
    ws.open(path)
    assert ws.spec.name == "simple-cnn" and ws.history.run == 3
    run1 = ws.restore_run(1, "last")
    expected = load_project(copies[0])         # the file as run 1 left it
    assert ws.spec == expected.network == NetworkSpec.from_dict(run1.network)
    assert ws.weights.keys() == expected.weights.keys()
    assert all(np.array_equal(ws.weights[k], expected.weights[k]) for k in expected.weights)
    assert ws.history.run == 1 and [e.epoch for e in ws.history.epochs] == [1, 2]
    assert ws.history.hyperparameters["lr"] == LRS[0] and ws.is_dirty()
    # the network change is one undoable step
    ws.document.undo()
    assert ws.spec.name == "simple-cnn"
    ws.document.redo()
    assert ws.spec == expected.network


def test_restore_best_cuts_the_history_at_the_best_epoch(three_runs):
    ws = Workspace()
    ws.open(three_runs[0])
    run = ws.runs[0]
    run.best_epoch, run.best_weights = 1, {k: v + 1 for k, v in run.last_weights.items()}   # as if epoch 1 was best
    ws.restore_run(1, "best")
    assert all(np.array_equal(ws.weights[k], run.best_weights[k]) for k in run.best_weights)
    assert [e.epoch for e in ws.history.epochs] == [1] and max(ws.history.batches.step) < 4


def test_restore_refuses_clearly(three_runs):
    ws = Workspace()
    ws.open(three_runs[0])
    with pytest.raises(ValueError, match="no run 9"):
        ws.restore_run(9)
    ws.runs[0].best_weights = None
    with pytest.raises(ValueError, match="Run 1 kept no best weights"):
        ws.restore_run(1, "best")


def test_restored_weights_survive_save_and_open(three_runs, tmp_path):
    ws = Workspace()
    ws.open(three_runs[0])
    ws.restore_run(2, "last")
    out = tmp_path / "restored.cnnproj"
    ws.save(out)
    back = load_project(out)
    assert back.history["run"] == 2 and len(back.runs) == 3
    assert all(np.array_equal(back.weights[k], back.runs[1].last_weights[k]) for k in back.weights)


# ---- per-batch curves ---------------------------------------------------------------------------
def test_per_batch_curves_survive_save_and_open(three_runs, tmp_path):
    ws = Workspace()
    ws.open(three_runs[0])
    # the current weights come from run 3, which continued run 2: its curves follow run 2's
    assert ws.history.batches.step == list(range(8))
    assert ws.history.batches.loss == ws.runs[1].curve.loss + ws.runs[2].curve.loss
    out = tmp_path / "again.cnnproj"
    ws.save(out)
    again = Workspace()
    again.open(out)
    assert again.history.batches.step == ws.history.batches.step
    assert np.allclose(again.history.batches.loss, ws.history.batches.loss)


def test_per_batch_learning_rate_survives_save_and_open(three_runs, tmp_path):
    """QA (issue 13): a reopened project's LR plot showed epoch dots only: the per-batch learning
    rate was not kept with the curves. It is now (curves.npz '<run>/lr'), decimated with them."""
    project = load_project(three_runs[0])
    one, two, three = project.runs
    for run in (one, two, three):
        assert len(run.curve.lr) == len(run.curve) and run.curve.has_lr
        assert all(math.isfinite(v) and v > 0 for v in run.curve.lr)
    assert one.curve.lr[0] == pytest.approx(LRS[0], rel=1e-5) and two.curve.lr[0] == pytest.approx(LRS[1], rel=1e-5)
    ws = Workspace()
    ws.open(three_runs[0])
    lrs = ws.history.batches.lr
    assert len(lrs) == 8 and lrs == pytest.approx(two.curve.lr + three.curve.lr, rel=1e-6)
    assert [r["lr"] for r in ws.history.batches.records()] == pytest.approx(lrs)
    out = tmp_path / "again.cnnproj"
    ws.save(out)
    again = Workspace()
    again.open(out)
    assert again.history.batches.lr == pytest.approx(lrs, rel=1e-6)


def test_curves_saved_before_the_learning_rate_still_open(good_file, tmp_path):
    """A file whose curves.npz has no '<run>/lr' (saved before it was kept) opens; its points
    have no learning rate, so the plots fall back to the epochs' rates."""
    arrays = {"1/step": np.arange(3), "1/loss": np.ones(3, np.float32), "1/acc": np.ones(3, np.float32)}
    old = _rewrite(good_file, tmp_path / "old-curves.cnnproj", members={"curves.npz": _npz(arrays)})
    run = load_project(old).runs[0]
    assert run.curve.step == [0, 1, 2] and not run.curve.has_lr
    assert [r["lr"] for r in run.curve.records()] == [None, None, None]
    assert "lr" not in run.curve.arrays()   # nothing made up on the next save


def test_decimation_keeps_the_learning_rate_with_its_step(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BATCH_POINTS", 100)
    curve = BatchCurve()
    for i in range(1000):
        curve.append(i, 1.0, 0.5, 0.001 * (i + 1))
    assert len(curve.lr) == len(curve) <= 100
    assert curve.lr == pytest.approx([0.001 * (s + 1) for s in curve.step])


def test_batch_curves_are_bounded_by_decimation(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BATCH_POINTS", 100)
    curve = BatchCurve()
    for i in range(1000):
        curve.append(i, 1.0 / (i + 1), 0.5)
    assert len(curve) <= 100 and curve.step[0] == 0 and curve.step[-1] >= 900
    assert all(b > a for a, b in zip(curve.step, curve.step[1:]))


def test_lineage_survives_a_circular_hostile_chain():
    a = RunRecord(number=1, continued_from=2, curve=BatchCurve([0], [1.0], [0.1]))
    b = RunRecord(number=2, continued_from=1, curve=BatchCurve([1], [0.5], [0.2]))
    assert lineage_curve([a, b], 2).step == [0, 1]


def test_put_run_replaces_its_snapshot_and_caps_the_list(monkeypatch):
    runs: list[RunRecord] = []
    first = put_run(runs, RunRecord())
    again = put_run(runs, RunRecord(id=first.id, seconds=5.0))
    assert len(runs) == 1 and again.number == 1 and runs[0].seconds == 5.0
    monkeypatch.setattr(limits, "MAX_RUNS", 3)
    for _ in range(4):
        put_run(runs, RunRecord())
    assert [r.number for r in runs] == [3, 4, 5]


# ---- migration ----------------------------------------------------------------------------------
def test_a_format_1_file_opens_with_its_history_as_run_1(tmp_path):
    raw = json.loads(zipfile.ZipFile(FIXTURE_V1).read("project.json"))
    assert raw["format_version"] == 1 and "runs" not in raw
    project = load_project(FIXTURE_V1)
    assert len(project.runs) == 1
    run = project.runs[0]
    assert run.number == 1 and project.history["run"] == 1
    assert run.epochs == raw["history"]["epochs"] and run.hyperparameters == raw["history"]["hyperparameters"]
    assert run.network == raw["network"] and run.dataset == raw["history"]["dataset"]
    assert run.started == raw["metadata"]["created"]
    assert run.last_weights is project.weights
    best = max(raw["history"]["epochs"], key=lambda e: e["val_acc"])
    assert run.best_epoch == best["epoch"]
    assert (run.best_weights is project.weights) == (best["epoch"] == raw["history"]["epochs"][-1]["epoch"])
    assert len(run.curve) == 0    # format 1 kept no per-batch curves
    # saved again it is format 2, and the same
    out = tmp_path / "migrated.cnnproj"
    save_project(out, project)
    assert json.loads(zipfile.ZipFile(out).read("project.json"))["format_version"] == FORMAT_VERSION == 2
    back = load_project(out)
    assert back.runs[0].epochs == run.epochs and back.history["run"] == 1
    assert all(np.array_equal(back.runs[0].last_weights[k], project.weights[k]) for k in project.weights)


def test_a_format_1_file_takes_a_second_run(capsys, tmp_path):
    path = tmp_path / "old.cnnproj"
    shutil.copy(FIXTURE_V1, path)
    code, out, _ = _cli(capsys, "train", path, "--epochs", "1", "--limit", "60")
    assert code == 0 and "saving run 2 (continuing run 1)" in out
    project = load_project(path)
    assert [r.number for r in project.runs] == [1, 2] and project.runs[0].last_weights is not None


# ---- hostile runs data ----------------------------------------------------------------------------
def _rewrite(src: Path, dst: Path, doc_change=None, members: dict | None = None, drop=()) -> Path:
    """A copy of ``src`` with project.json changed by ``doc_change(doc)`` and members replaced."""
    with zipfile.ZipFile(src) as zin:
        contents = {name: zin.read(name) for name in zin.namelist()}
    doc = json.loads(contents["project.json"])
    if doc_change is not None:
        doc_change(doc)
    contents["project.json"] = json.dumps(doc).encode()
    for name in drop:
        contents.pop(name, None)
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in {**contents, **(members or {})}.items():
            zout.writestr(name, data)
    return dst


def _npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        write_npz(zf, "x.npz", arrays)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("x.npz")


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


HOSTILE_DOCS = {
    "runs-not-a-list": (_set(["runs"], {"a": 1}), "runs must be a list"),
    "run-not-an-object": (_set(["runs", 0], "run"), "runs[0] must be an object"),
    "number-text": (_set(["runs", 0, "number"], "1"), "runs[0].number must be a whole number"),
    "number-zero": (_set(["runs", 0, "number"], 0), "runs[0].number must be a whole number from 1"),
    "id-path": (_set(["runs", 0, "id"], "../../etc"), ".id must be 1-64 letters"),
    "name-huge": (_set(["runs", 0, "name"], "x" * 5000), ".name must be text of at most 4096"),
    "seconds-negative": (_set(["runs", 0, "seconds"], -1), ".seconds must be a number of seconds >= 0"),
    "network-missing": (_set(["runs", 0, "network"], None), ".network must be an object"),
    "network-invalid": (_set(["runs", 0, "network", "layers"], [{"type": "NoSuchLayer", "config": {}}]),
                        "run 1's network is invalid"),
    "hyper-nested": (_set(["runs", 0, "hyperparameters", "lr"], {"deep": [1]}), "hyperparameters.lr must be text"),
    "epoch-text": (_set(["runs", 0, "epochs", 0, "val_acc"], "high"), "epochs[0].val_acc must be a number"),
    "best-epoch-unknown": (_set(["runs", 0, "best_epoch"], 77), "best_epoch 77 is none of the run's epochs"),
    "weights-place": (_set(["runs", 0, "weights", "last"], "/etc/passwd"), ".weights: last must be one of"),
    "continued-bool": (_set(["runs", 0, "continued_from"], True), "continued_from must be a whole number"),
    "history-run-unknown": (_set(["history", "run"], 42), "history.run must be the number of a listed run"),
    "duplicate-number": (lambda doc: doc["runs"].append(dict(doc["runs"][0])), "run number 1 appears twice"),
    "too-many-runs": (lambda doc: doc["runs"].extend([doc["runs"][0]] * limits.MAX_RUNS),
                      f"more than the {limits.MAX_RUNS} a project keeps"),
    "data-not-object": (_set(["runs", 0, "data"], "sample"), "runs[0] (run 1).data must be an object"),
    "data-kind": (_set(["runs", 0, "data", "kind"], "ftp"), "runs[0] (run 1).data: kind must be one of"),
    "data-val-files-listed": (_set(["runs", 0, "data", "val_files"], ["a/b.png"]),
                              "data.val_files must be null in a run"),
    "data-digest": (_set(["runs", 0, "data", "val_files_sha256"], "md5:00"), "val_files_sha256 must be 'sha256:'"),
    "data-huge": (_set(["runs", 0, "data", "classes"], ["c" * 190] * 200), "more than the 20,000 a run's data"),
    "data-relative-path": (lambda doc: doc["runs"][0]["data"].update(kind="folder", path="../x"),
                           "data: path must be an absolute path"),
    "data-num-classes": (_set(["runs", 0, "data", "num_classes"], -1), "data.num_classes must be a whole number"),
}


@pytest.fixture(scope="module")
def good_file(three_runs):
    return three_runs[1][1]   # two runs: run 1 (mlp) stored in run_weights.npz, run 2 current


@pytest.mark.parametrize("case", list(HOSTILE_DOCS))
def test_hostile_runs_json_is_refused_by_name(good_file, tmp_path, case):
    change, fragment = HOSTILE_DOCS[case]
    bad = _rewrite(good_file, tmp_path / f"{case}.cnnproj", change)
    with pytest.raises(ProjectFileError) as info:
        load_project(bad)
    assert fragment in str(info.value) and str(bad) in str(info.value)


def _run1_weights(good_file):
    return load_project(good_file).runs[0].last_weights


@pytest.mark.parametrize("case", ["unknown-curve", "curve-too-long", "curve-lengths", "curve-2d", "curve-steps-text",
                                  "curve-lr-lengths", "curve-lr-negative", "curve-lr-int",
                                  "weights-wrong-shape", "weights-unknown-run", "weights-missing",
                                  "current-without-weights", "stray-run-weights"])
def test_hostile_runs_arrays_are_refused_by_name(good_file, tmp_path, case):
    n = limits.MAX_BATCH_POINTS + 1
    w = _run1_weights(good_file)
    first = sorted(w)[0]
    members, drop, change = {}, (), None
    fragment = {
        "unknown-curve": "unexpected curve array '9/loss'", "curve-too-long": "at most 20,000 points",
        "curve-lengths": "must be equally long", "curve-2d": "must be 1-D", "curve-steps-text": "expected integers",
        "curve-lr-lengths": "'lr' holds 2 learning rates for 3 steps", "curve-lr-negative": "learning rates must be",
        "curve-lr-int": "curve '1/lr' has dtype int64, expected floats",
        "weights-wrong-shape": "the last weights of run 1 do not fit its network",
        "weights-unknown-run": "unexpected run weights '7/last/",
        "weights-missing": "run_weights.npz is missing", "current-without-weights": "has no weights.npz",
        "stray-run-weights": "no run says its weights are stored there"}[case]
    curve = {"1/step": np.arange(3), "1/loss": np.ones(3, np.float32), "1/acc": np.ones(3, np.float32)}
    if case == "unknown-curve":
        members["curves.npz"] = _npz({**curve, "9/loss": np.ones(3, np.float32)})
    elif case == "curve-too-long":
        members["curves.npz"] = _npz({**curve, "1/loss": np.ones(n, np.float32)})
    elif case == "curve-lengths":
        members["curves.npz"] = _npz({**curve, "1/acc": np.ones(2, np.float32)})
    elif case == "curve-2d":
        members["curves.npz"] = _npz({**curve, "1/acc": np.ones((3, 1), np.float32)})
    elif case == "curve-steps-text":
        members["curves.npz"] = _npz({**curve, "1/step": np.ones(3, np.float32)})
    elif case == "curve-lr-lengths":
        members["curves.npz"] = _npz({**curve, "1/lr": np.ones(2, np.float32)})
    elif case == "curve-lr-negative":
        members["curves.npz"] = _npz({**curve, "1/lr": np.array([0.1, -1.0, np.inf], np.float32)})
    elif case == "curve-lr-int":
        members["curves.npz"] = _npz({**curve, "1/lr": np.ones(3, np.int64)})
    elif case == "weights-wrong-shape":
        members["run_weights.npz"] = _npz({**{f"1/last/{k}": v for k, v in w.items()},
                                           f"1/last/{first}": np.zeros((2, 2), np.float32)})
        change = _set(["runs", 0, "weights"], {"last": "stored", "best": None})
    elif case == "weights-unknown-run":
        members["run_weights.npz"] = _npz({f"7/last/{first}": w[first]})
    elif case == "weights-missing":
        drop = ("run_weights.npz",)
        change = lambda doc: doc.__setitem__("members", [m for m in doc["members"] if m != "run_weights.npz"])  # noqa: E731
    elif case == "current-without-weights":
        drop = ("weights.npz", "optimizer.npz")
        change = lambda doc: doc.__setitem__("members", [])  # noqa: E731
    elif case == "stray-run-weights":
        change = _set(["runs", 0, "weights"], {"last": None, "best": None})
    bad = _rewrite(good_file, tmp_path / f"{case}.cnnproj", change, members, drop)
    with pytest.raises(ProjectFileError) as info:
        load_project(bad)
    assert fragment in str(info.value), str(info.value)


def test_saving_keeps_run_weights_within_their_limit(three_runs, tmp_path, monkeypatch):
    project = load_project(three_runs[0])
    one_set = sum(a.size for a in project.runs[0].last_weights.values())   # mlp: the largest set here
    monkeypatch.setattr(limits, "MAX_RUN_WEIGHT_VALUES", one_set)
    out = tmp_path / "capped.cnnproj"
    save_project(out, project)
    with zipfile.ZipFile(out) as zf:
        doc = json.loads(zf.read("project.json"))
        stored = sum(int(np.prod(a.shape)) for a in np.load(io.BytesIO(zf.read("run_weights.npz"))).values())
    assert stored <= one_set
    places = [r["weights"] for r in doc["runs"]]
    assert places[2]["last"] == "current"           # the current run's weights are the project's own
    assert any(p["last"] is None or p["best"] is None for p in places[:2])   # some older set was left out
    back = load_project(out)
    assert all(len(r.epochs) for r in back.runs)     # records stay whatever the weights


# ---- the data record of each run ------------------------------------------------------------------
def test_each_cli_run_keeps_the_full_data_record(three_runs):
    runs = load_project(three_runs[0]).runs
    assert all(r.data is not None and r.data["kind"] == "sample" and r.data["classes"] == [str(d) for d in range(10)]
               for r in runs)
    assert all(r.dataset is not None for r in runs)   # the short record stays beside it


def test_runs_saved_before_the_data_record_still_open(good_file, tmp_path):
    old = _rewrite(good_file, tmp_path / "no-data.cnnproj", lambda doc: [r.pop("data") for r in doc["runs"]])
    runs = load_project(old).runs
    assert [r.data for r in runs] == [None, None] and runs[0].dataset["name"] == "MNIST sample"
    from cnnstudio.project.runs import data_title

    assert data_title(runs[0]) == "MNIST sample"


def test_a_folder_run_keeps_its_split_as_a_digest():
    from cnnstudio.project.datasource import DataSource
    from cnnstudio.project.runs import check_run_data, run_data_record

    src = DataSource("folder", "shapes", path="/data/shapes", image_size=(28, 28), classes=("a", "b"),
                     num_images=10, num_val=2, val_fraction=0.2, val_files=("a/1.png", "b/2.png"))
    rec = run_data_record(src)
    assert rec["val_files"] is None and rec["val_files_sha256"].startswith("sha256:") and rec["path"] == "/data/shapes"
    assert check_run_data("data", json.loads(json.dumps(rec))) == rec
    other = run_data_record(DataSource("folder", "shapes", path="/data/shapes", image_size=(28, 28), classes=("a", "b"),
                                       num_images=10, num_val=2, val_fraction=0.2, val_files=("a/1.png", "b/3.png")))
    a, b = RunRecord(data=rec), RunRecord(data=other)
    assert differing_settings([a, b]) == ["data"] and differing_settings([a, RunRecord(data=dict(rec))]) == []
    many = DataSource("standard", "x", key="mnist", classes=tuple(f"class {i:05d} " + "x" * 50 for i in range(1000)))
    small = run_data_record(many)
    assert small["classes"] == [] and small["num_classes"] == 1000
    assert check_run_data("data", small)["num_classes"] == 1000


# ---- renamed, deleted, settings restored (the workspace) -------------------------------------------
def test_workspace_renames_and_deletes_runs_and_saves_it(three_runs, tmp_path):
    path = tmp_path / "p.cnnproj"
    shutil.copy(three_runs[0], path)
    ws = Workspace()
    ws.open(path)
    ws.rename_run(1, "the mlp")
    assert "current run" in (ws.why_not_delete(3) or "")
    assert "part of the current weights' training history" in (ws.why_not_delete(2) or "")  # run 3 continued it
    assert ws.why_not_delete(9) == "There is no run 9 in this project"
    with pytest.raises(ValueError, match="current run"):
        ws.delete_run(3)
    ws.delete_run(1)
    ws.save(path)
    runs = load_project(path).runs
    assert [(r.number, r.title) for r in runs] == [(2, "run 2"), (3, "run 3")]
    ws.rename_run(2, "   ")
    assert ws.runs[0].name == ""
    with pytest.raises(ValueError, match="at most 4096 characters"):
        ws.rename_run(2, "x" * 5000)


def test_workspace_restores_a_runs_settings_keeping_the_data_choice(three_runs):
    import dataclasses

    ws = Workspace()
    ws.open(three_runs[0])
    ws.set_training_config(dataclasses.replace(ws.training_config, lr=0.05, batch_size=16, dataset="mnist",
                                               val_fraction=0.3))
    ws.restore_run(1, "last", settings=True)
    config = ws.training_config
    assert (config.lr, config.batch_size, config.epochs) == (LRS[0], 30, 2)
    assert (config.dataset, config.val_fraction) == ("mnist", 0.3)
    ws.set_training_config(dataclasses.replace(config, lr=0.05))
    ws.restore_run(2, "last")    # settings=False: the current settings stay
    assert ws.training_config.lr == 0.05
    ws.runs[0].hyperparameters["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        ws.restore_run(1, "last", settings=True)
    assert ws.history.run == 2   # refused before anything changed
