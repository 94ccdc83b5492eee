"""The command line end to end, in-process (cli.main with capsys), on the bundled sample."""

import json
import re
import subprocess
import sys
import types

import numpy as np
import pytest
from clihelpers import assert_one_line_error, run
from PIL import Image

from cnnstudio import cli
from cnnstudio.data import sample_split
from cnnstudio.project import load_project

# Totals computed by hand from the layer formulas (kh*kw*C_in*F + F, in*out + out).
TEMPLATE_TOTALS = {"simple-cnn": "13,610", "lenet5": "61,706", "mini-vgg": "467,818",
                   "vgg16": "138,357,544", "mlp": "101,770"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """simple-cnn trained one epoch on 300 sample images (shared by the read-only tests)."""
    path = tmp_path_factory.mktemp("run") / "run.cnnproj"
    assert cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "300", "--out", str(path)]) == 0
    return path


# ---- summary ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TEMPLATE_TOTALS))
def test_summary_of_every_template_ends_with_total(capsys, name):
    code, out, err = run(capsys, "summary", name)
    assert code == 0 and err == ""
    assert out.rstrip("\n").splitlines()[-1] == f"Total params: {TEMPLATE_TOTALS[name]}"


def test_summary_rows_show_hwc_shapes_and_params(capsys):
    _, out, _ = run(capsys, "summary", "lenet5")
    row = next(ln for ln in out.splitlines() if ln.startswith("conv2d_1 (Conv2D)"))
    assert re.search(r"28 x 28 x 6\s+156\b", row)
    row = next(ln for ln in out.splitlines() if ln.startswith("conv2d_2 (Conv2D)"))
    assert re.search(r"10 x 10 x 16\s+2,416\b", row)
    assert "Trainable params: 61,706" in out and "Non-trainable params: 0" in out


def test_summary_of_model_json_and_project(capsys, tmp_path, trained):
    from cnnstudio.model import get_template

    model = tmp_path / "net.json"
    model.write_text(get_template("mlp").to_json())
    assert run(capsys, "summary", str(model))[1].splitlines()[-1] == "Total params: 101,770"
    assert run(capsys, "summary", str(trained))[1].splitlines()[-1] == "Total params: 13,610"


def test_summary_of_invalid_model_explains_and_exits_2(capsys, tmp_path):
    from cnnstudio.model import LayerSpec, get_template

    spec = get_template("simple-cnn")
    layers = spec.layers[:3] + [LayerSpec("MaxPool2D", {"pool_size": [20, 20]})] + spec.layers[3:]
    bad = tmp_path / "bad.json"
    bad.write_text(spec.with_layers(layers).to_json())
    code, out, err = run(capsys, "summary", str(bad))
    assert code == 2 and out == ""
    assert_one_line_error(err, "layer 4 MaxPool2D", "20x20")


@pytest.mark.parametrize("arg, fragment", [("no-such-template", "neither a template"),
                                           ("missing.json", "not found"), ("missing.cnnproj", "file not found")])
def test_summary_of_unknown_model(capsys, arg, fragment):
    code, _, err = run(capsys, "summary", arg)
    assert code == 2
    assert_one_line_error(err, fragment)


def test_summary_of_broken_json_model(capsys, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"format_version": 1, "layers": [')
    code, _, err = run(capsys, "summary", str(bad))
    assert code == 2
    assert_one_line_error(err, str(bad), "JSON")


# ---- train ----------------------------------------------------------------------------------
def test_train_prints_epochs_and_saves_project(capsys, tmp_path):
    out_path = tmp_path / "r.cnnproj"
    code, out, err = run(capsys, "train", "simple-cnn", "--epochs", "2", "--limit", "200", "--batch-size", "50",
                         "--optimizer", "sgd", "--lr", "0.05", "--seed", "3", "--out", str(out_path))
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == 2
    pattern = r"epoch 2/2  train loss \d+\.\d{3} acc \d+\.\d%  val loss \d+\.\d{3} acc \d+\.\d%  \(\d+\.\d s\)"
    assert re.fullmatch(pattern, lines[1])
    project = load_project(out_path)
    assert [e["epoch"] for e in project.history["epochs"]] == [1, 2]
    assert project.history["dataset"]["source"] == "sample" and project.history["dataset"]["num_train"] == 200
    cfg = project.training_config
    assert (cfg.optimizer, cfg.lr, cfg.batch_size, cfg.seed, cfg.epochs) == ("sgd", 0.05, 50, 3, 2)
    assert project.history["hyperparameters"]["optimizer"] == "sgd"
    assert set(project.weights) == {"0.W", "0.b", "4.W", "4.b"}
    assert project.optimizer_state and int(project.optimizer_state["steps"]) == 8  # 2 epochs x 4 batches


def test_train_is_repeatable_with_a_seed(capsys, tmp_path):
    args = ["train", "simple-cnn", "--epochs", "1", "--limit", "100", "--seed", "5"]
    assert cli.main(args + ["--out", str(tmp_path / "a.cnnproj")]) == 0
    assert cli.main(args + ["--out", str(tmp_path / "b.cnnproj")]) == 0
    capsys.readouterr()
    a, b = load_project(tmp_path / "a.cnnproj"), load_project(tmp_path / "b.cnnproj")
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)


def test_train_continues_a_project(capsys, tmp_path, trained):
    from cnnstudio.data import UserDataset
    from cnnstudio.project import save_project

    start = load_project(trained)
    start.user_dataset = UserDataset(np.zeros((2, 28, 28, 1), np.uint8), np.array([4, 2]))
    start.metadata["notes"] = "keep me"
    first = tmp_path / "first.cnnproj"
    save_project(first, start)
    out_path = tmp_path / "more.cnnproj"
    code, out, _ = run(capsys, "train", str(first), "--epochs", "1", "--limit", "300", "--out", str(out_path))
    assert code == 0 and "epoch 2/2" in out
    more = load_project(out_path)
    assert [e["epoch"] for e in more.history["epochs"]] == [1, 2]
    assert more.user_dataset.y.tolist() == [4, 2] and more.metadata["notes"] == "keep me"
    assert more.metadata["created"] == start.metadata["created"]
    assert int(more.optimizer_state["steps"]) > int(start.optimizer_state["steps"])  # Adam state carried on


def test_ctrl_c_keeps_finished_epochs(capsys, tmp_path, monkeypatch):
    from cnnstudio.engine.trainer import StepReport, Trainer

    original = Trainer.run

    def interrupted_run(self):
        for report in original(self):
            yield report
            if isinstance(report, StepReport) and report.epoch == 1:
                raise KeyboardInterrupt  # Ctrl+C in the middle of the second epoch

    monkeypatch.setattr(Trainer, "run", interrupted_run)
    out_path = tmp_path / "r.cnnproj"
    code, out, err = run(capsys, "train", "simple-cnn", "--epochs", "3", "--limit", "100", "--out", str(out_path))
    assert code == 130
    assert "interrupted" in err and "saved 1 finished epoch" in err
    assert [e["epoch"] for e in load_project(out_path).history["epochs"]] == [1]


def test_ctrl_c_during_a_save_keeps_the_previous_file(capsys, tmp_path, monkeypatch):
    from cnnstudio.cli import run as cli_run
    from cnnstudio.project import file as project_file

    calls = []

    def save_then_interrupt(path, project):
        calls.append(path)
        if len(calls) == 2:
            monkeypatch.setattr(project_file, "write_npz", _raise_interrupt)  # dies mid-write
        project_file.save_project(path, project)

    monkeypatch.setattr(cli_run, "save_project", save_then_interrupt)
    out_path = tmp_path / "r.cnnproj"
    code, _, err = run(capsys, "train", "simple-cnn", "--epochs", "3", "--limit", "100", "--out", str(out_path))
    assert code == 130 and "saved 1 finished epoch" in err
    assert [e["epoch"] for e in load_project(out_path).history["epochs"]] == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["r.cnnproj"]  # no temp file left


def _raise_interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_diverged_training_stops_with_advice(capsys, tmp_path, monkeypatch):
    from cnnstudio.engine.network import Network

    monkeypatch.setattr(Network, "train_step", lambda self, *a, **k: (float("nan"), 0.0))
    code, _, err = run(capsys, "train", "simple-cnn", "--limit", "40", "--out", str(tmp_path / "nan.cnnproj"))
    assert code == 1
    assert_one_line_error(err, "diverged", "--lr")


def _colour_npz(path, n_per_class=10, classes=10):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n_per_class * classes, 8, 8, 3), dtype=np.uint8)
    y = np.repeat(np.arange(classes), n_per_class)
    np.savez(path, x=x, y=y)
    return path


def test_train_refuses_colour_data_for_grayscale_net(capsys, tmp_path):
    data = _colour_npz(tmp_path / "colour.npz")
    code, _, err = run(capsys, "train", "simple-cnn", "--data", str(data), "--out", str(tmp_path / "x.cnnproj"))
    assert code == 2
    assert_one_line_error(err, "grayscale", "colour")
    assert not (tmp_path / "x.cnnproj").exists()


def test_train_grayscale_flag_converts_and_resizes(capsys, tmp_path):
    data = _colour_npz(tmp_path / "colour.npz")
    out_path = tmp_path / "g.cnnproj"
    code, _, err = run(capsys, "train", "simple-cnn", "--data", str(data), "--grayscale", "--epochs", "1",
                       "--out", str(out_path))
    assert code == 0, err
    ds = load_project(out_path).history["dataset"]
    assert ds["image_shape"] == [28, 28, 1] and ds["num_train"] + ds["num_val"] == 100
    # evaluate defaults to the validation part of the dataset recorded in the project
    code, out, err = run(capsys, "evaluate", str(out_path), "--grayscale", "--json")
    assert code == 0, err
    assert np.array(json.loads(out)["confusion"]).sum() == ds["num_val"]


def test_train_without_validation(capsys, tmp_path):
    data = _colour_npz(tmp_path / "colour.npz")
    out_path = tmp_path / "noval.cnnproj"
    code, out, err = run(capsys, "train", "simple-cnn", "--data", str(data), "--grayscale", "--val-fraction", "0",
                         "--epochs", "1", "--out", str(out_path))
    assert code == 0, err
    assert re.search(r"epoch 1/1  train loss \d\.\d{3} acc \d+\.\d%  val -  ", out)
    assert load_project(out_path).history["epochs"][0]["val_acc"] is None
    code, _, err = run(capsys, "evaluate", str(out_path), "--grayscale")
    assert code == 2
    assert_one_line_error(err, "no validation images", "--data")


def test_colour_network_on_grayscale_sample_needs_rgb(capsys, tmp_path):
    from cnnstudio.model import get_template

    model = tmp_path / "colour.json"
    model.write_text(get_template("simple-cnn").with_input(32, 32, 3).to_json())
    code, _, err = run(capsys, "train", str(model), "--limit", "40", "--out", str(tmp_path / "c.cnnproj"))
    assert code == 2
    assert_one_line_error(err, "3-channel", "--rgb")
    code, _, err = run(capsys, "train", str(model), "--rgb", "--epochs", "1", "--limit", "40",
                       "--out", str(tmp_path / "c.cnnproj"))
    assert code == 0, err
    assert load_project(tmp_path / "c.cnnproj").history["dataset"]["image_shape"] == [32, 32, 3]


def test_train_refuses_dataset_with_other_class_count(capsys, tmp_path):
    data = _colour_npz(tmp_path / "two.npz", n_per_class=10, classes=2)
    code, _, err = run(capsys, "train", "simple-cnn", "--data", str(data), "--grayscale",
                       "--out", str(tmp_path / "x.cnnproj"))
    assert code == 2
    assert_one_line_error(err, "Dense", "2 classes")


@pytest.mark.parametrize("argv, fragment", [
    (["--lr", "-1"], "lr"),
    (["--epochs", "0"], "epochs"),
    (["--data", "/no/such/folder"], "/no/such/folder"),
    (["--optimizer", "rmsprop"], "invalid choice"),
    (["--bogus"], "unrecognized arguments"),
    (["--labels", "x-labels.idx"], "--labels goes with an IDX images file"),
    (["--val-fraction", "0.2"], "fixed validation split"),
    (["--threads", "0"], "--threads"),
    (["--threads", "many"], "'auto'"),
])
def test_train_bad_arguments_exit_2(capsys, tmp_path, argv, fragment):
    code, _, err = run(capsys, "train", "simple-cnn", *argv, "--out", str(tmp_path / "x.cnnproj"))
    assert code == 2
    assert_one_line_error(err, fragment)


def test_train_without_out_saves_under_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "train", "mlp", "--epochs", "1", "--limit", "50")
    assert code == 0
    saved = list((tmp_path / "runs").glob("mlp-*.cnnproj"))
    assert len(saved) == 1 and f"saved {saved[0].relative_to(tmp_path)}" in out
    assert load_project(saved[0]).history["epochs"][0]["epoch"] == 1


def test_train_out_must_be_a_project_file(capsys, tmp_path):
    code, _, err = run(capsys, "train", "simple-cnn", "--out", str(tmp_path / "x.zip"))
    assert code == 2
    assert_one_line_error(err, ".cnnproj")


# ---- evaluate -------------------------------------------------------------------------------
def test_evaluate_json_is_one_object(capsys, trained):
    code, out, err = run(capsys, "evaluate", str(trained), "--json", "--limit", "120")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"loss", "accuracy", "confusion"}
    cm = np.array(result["confusion"])
    assert cm.shape == (10, 10) and cm.sum() == 120
    assert result["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert result["loss"] > 0


def test_evaluate_matches_the_last_epoch(capsys, trained):
    code, out, _ = run(capsys, "evaluate", str(trained), "--json", "--limit", "300")  # as trained
    val_acc = load_project(trained).history["epochs"][-1]["val_acc"]
    assert json.loads(out)["accuracy"] == pytest.approx(val_acc)  # same sample validation split


def test_evaluate_table(capsys, trained):
    code, out, _ = run(capsys, "evaluate", str(trained), "--limit", "50")
    assert code == 0
    assert re.search(r"accuracy\s+\d+\.\d\d%", out)
    header = next(ln for ln in out.splitlines() if ln.startswith("true \\ pred"))
    assert header.split()[-10:] == [str(d) for d in range(10)]
    rows = [ln for ln in out.splitlines() if re.match(r"^\d\s", ln)]
    assert len(rows) == 10 and sum(sum(map(int, r.split()[1:])) for r in rows) == 50


def test_evaluate_untrained_or_corrupt_project(capsys, tmp_path):
    bad = tmp_path / "bad.cnnproj"
    bad.write_bytes(b"PK\x03\x04 not really")
    code, _, err = run(capsys, "evaluate", str(bad), "--json")
    assert code == 2
    assert_one_line_error(err, str(bad))
    from cnnstudio.model import get_template
    from cnnstudio.project import Project, save_project

    fresh = tmp_path / "fresh.cnnproj"
    save_project(fresh, Project(get_template("lenet5")))
    code, out, err = run(capsys, "evaluate", str(fresh))
    assert code == 2 and out == ""
    assert_one_line_error(err, "no trained weights")


# ---- predict -------------------------------------------------------------------------------
def test_predict_png_digit(capsys, tmp_path, trained):
    _, val = sample_split()
    png = tmp_path / "digit.png"
    Image.fromarray(val.x[0, :, :, 0]).save(png)
    code, out, err = run(capsys, "predict", str(trained), str(png))
    assert code == 0, err
    lines = out.splitlines()
    assert re.fullmatch(re.escape(str(png)) + r": \d \(\d+\.\d%\)", lines[0])
    probs = dict(p.split(": ") for p in lines[1].split("  ") if p)
    assert sorted(probs) == [str(d) for d in range(10)]
    assert sum(float(v) for v in probs.values()) == pytest.approx(1.0, abs=0.01)
    assert lines[0].split(": ")[1].split()[0] == max(probs, key=lambda k: float(probs[k]))


def test_predict_colour_photo_of_dark_ink_is_converted_and_inverted(capsys, tmp_path, trained):
    _, val = sample_split()
    jpg = tmp_path / "photo.jpg"
    paper = 255 - val.x[1, :, :, 0]
    blue_ink = np.stack([paper, paper, np.maximum(paper, 160)], axis=-1)  # blue ballpoint on white
    Image.fromarray(blue_ink).resize((84, 84)).save(jpg)
    code, out, _ = run(capsys, "predict", str(trained), str(jpg))
    assert code == 0
    assert "grayscale" in out and "inverted" in out and "resized from 84x84" in out
    # gray content saved as RGB loses nothing in the conversion: no note about colour
    gray = tmp_path / "gray.png"
    Image.fromarray(paper).convert("RGB").save(gray)
    code, out, _ = run(capsys, "predict", str(trained), str(gray))
    assert code == 0 and "grayscale" not in out and "inverted" in out


def test_predict_missing_and_non_image_files(capsys, tmp_path, trained):
    code, _, err = run(capsys, "predict", str(trained), str(tmp_path / "nope.png"))
    assert code == 2
    assert_one_line_error(err, "nope.png", "not found")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    code, _, err = run(capsys, "predict", str(trained), str(text))
    assert code == 2
    assert_one_line_error(err, "notes.png", "not an image")


# ---- app entry -------------------------------------------------------------------------------
def test_no_arguments_opens_the_app(monkeypatch):
    calls = []
    fake = types.ModuleType("cnnstudio.gui.app")
    fake.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "cnnstudio.gui.app", fake)
    assert cli.main([]) == 0
    assert cli.main(["gui", "my.cnnproj"]) == 0
    assert calls == [[], ["my.cnnproj"]]


def test_missing_gui_is_a_clear_message(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cnnstudio.gui.app", None)  # import fails
    code, _, err = run(capsys)
    assert code == 1
    assert_one_line_error(err, "desktop app is not available")


def test_no_display_is_a_clear_message_not_a_qt_abort(capsys, monkeypatch):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, _, err = run(capsys)
    assert code == 1
    assert_one_line_error(err, "no display found", "xvfb-run")


def test_failed_download_is_a_runtime_failure(capsys, monkeypatch, trained):
    import cnnstudio.data as data

    def offline(*args, **kwargs):
        raise data.DownloadError("train-images-idx3-ubyte.gz", "could not reach the server")

    monkeypatch.setattr(data, "load_dataset", offline)
    code, out, err = run(capsys, "evaluate", str(trained), "--data", "mnist", "--json")
    assert code == 1 and out == ""
    assert_one_line_error(err, "could not reach the server")


def test_download_progress_goes_to_stderr(capsys, monkeypatch, trained):
    import cnnstudio.data as data

    def fake_download(source, labels=None, progress=None, **kwargs):
        assert source == "mnist"
        progress(5_000_000, 10_000_000, 1_000_000.0, 5.0)
        progress(10_000_000, 10_000_000, 1_000_000.0, 0.0)
        return sample_split()

    monkeypatch.setattr(data, "load_dataset", fake_download)
    code, out, err = run(capsys, "evaluate", str(trained), "--data", "mnist", "--json", "--limit", "20")
    assert code == 0
    assert set(json.loads(out)) == {"loss", "accuracy", "confusion"}  # stdout untouched
    assert "downloading: 5.0 / 10.0 MB (50%)" in err and "10.0 / 10.0 MB (100%)" in err


def test_unavailable_gpu_backend_is_a_runtime_failure(capsys, tmp_path, monkeypatch):
    from cnnstudio.engine import backend

    def no_cupy():
        raise ImportError("No module named 'cupy'")

    monkeypatch.setattr(backend, "_import_cupy", no_cupy)
    code, out, err = run(capsys, "train", "simple-cnn", "--backend", "cupy", "--limit", "20",
                         "--out", str(tmp_path / "gpu.cnnproj"))
    assert code == 1
    assert_one_line_error(err, "backend 'cupy' is not available", "numpy")
    assert not (tmp_path / "gpu.cnnproj").exists()


def test_module_entry_point_runs_summary():
    result = subprocess.run([sys.executable, "-m", "cnnstudio", "summary", "lenet5"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n").splitlines()[-1] == "Total params: 61,706"


def test_summary_has_compute_memory_and_receptive_field_columns_and_a_json_form(capsys):
    import json as _json

    _, out, _ = run(capsys, "summary", "lenet5")
    row = next(ln for ln in out.splitlines() if ln.startswith("conv2d_2 (Conv2D)"))
    # 10*10*16 outputs, each 5*5*6 multiply-adds; 1,600 float32 values; a 14x14 window on the input
    assert re.search(r"2,416\s+240,000\s+6.4 kB\s+14x14\b", row)
    assert "Multiply-adds per image: 422,824" in out
    assert out.rstrip("\n").splitlines()[-1] == "Total params: 61,706"
    code, text, _ = run(capsys, "summary", "lenet5", "--json")
    data = _json.loads(text)
    conv = data["layers"][3]
    assert (conv["name"], conv["multiply_adds"], conv["activation_bytes"], conv["receptive_field"]) == \
        ("conv2d_2", 240_000, 6_400, [14, 14])
    assert data["layers"][7]["receptive_field"] == [28, 28]   # a dense unit sees the whole image
    assert data["total_params"] == 61_706 and data["multiply_adds"] == 422_824


def test_summary_of_a_branching_network_lists_what_each_layer_reads(capsys):
    _, out, _ = run(capsys, "summary", "mini-resnet")
    assert "Connected to" in out
    add = next(ln for ln in out.splitlines() if ln.startswith("add_1 (Add)"))
    assert "batchnorm_3, maxpool2d_1" in add


def test_train_on_two_worker_processes_saves_and_leaves_no_shared_memory(capsys, tmp_path):
    """--threads 2 splits each batch over worker processes; they end with the run."""
    import os

    from cnnstudio.project import load_project

    shm = "/dev/shm"
    before = set(os.listdir(shm)) if os.path.isdir(shm) else set()
    out = tmp_path / "p.cnnproj"
    code, text, err = run(capsys, "train", "simple-cnn", "--epochs", "1", "--limit", "256", "--threads", "2",
                          "--batch-size", "64", "--out", out)
    assert code == 0, err
    assert "saved" in text and len(load_project(out).history["epochs"]) == 1
    after = set(os.listdir(shm)) if os.path.isdir(shm) else set()
    assert not {n for n in after - before if "cnnstudio" in n or n.startswith("psm_")}


def test_train_threads_auto_is_one_per_core(monkeypatch):
    """--threads auto asks the engine how many cores this process may use (the app's 'auto' too)."""
    from cnnstudio.cli import build_parser
    from cnnstudio.engine import kernels

    monkeypatch.setattr(kernels, "cpu_cores", lambda: 3)
    args = build_parser().parse_args(["train", "simple-cnn", "--threads", "auto"])
    assert args.threads == 3
    assert build_parser().parse_args(["train", "simple-cnn", "--threads", "2"]).threads == 2
    assert build_parser().parse_args(["train", "simple-cnn"]).threads == 1
