"""The CLI under hostile or careless input: every mistake is one line, exit 2, no traceback.

Regression tests for defects found by using the command line as a student would.
"""

import json

import numpy as np
import pytest
from clihelpers import error_line, run
from PIL import Image

from cnnstudio import cli
from cnnstudio.model import get_template
from cnnstudio.project import load_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """simple-cnn trained one epoch on 200 sample images."""
    path = tmp_path_factory.mktemp("hostile") / "run.cnnproj"
    assert cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "200", "--out", str(path)]) == 0
    return path


# ---- summary of model files ---------------------------------------------------------------
def test_summary_of_a_folder_named_json_says_folder(capsys, tmp_path):
    folder = tmp_path / "net.json"
    folder.mkdir()
    code, out, err = run(capsys, "summary", folder)
    assert code == 2 and out == ""
    line = error_line(err)
    assert "net.json" in line and "is a folder" in line


def test_summary_of_binary_json_says_not_text(capsys, tmp_path):
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "summary", bad)
    assert code == 2
    line = error_line(err)
    assert "bin.json" in line and "not UTF-8" in line and "CNN Studio" in line


def test_summary_of_future_model_says_update(capsys, tmp_path):
    doc = json.loads(get_template("mlp").to_json())
    doc["format_version"] = 99
    model = tmp_path / "future.json"
    model.write_text(json.dumps(doc))
    code, _, err = run(capsys, "summary", model)
    assert code == 2
    line = error_line(err)
    assert "future.json" in line and "99" in line and "update CNN Studio" in line


# ---- train --out ----------------------------------------------------------------------------
def _refuses_before_training(capsys, out, *fragments):
    code, stdout, err = run(capsys, "train", "simple-cnn", "--epochs", "1", "--limit", "50", "--out", out)
    assert code == 2
    assert "training" not in stdout  # refused before loading data or training an epoch
    line = error_line(err)
    for frag in fragments:
        assert frag in line, line


def test_out_in_a_missing_folder_is_refused_before_training(capsys, tmp_path):
    _refuses_before_training(capsys, tmp_path / "nodir" / "x.cnnproj", "nodir", "does not exist")
    assert not (tmp_path / "nodir").exists()


def test_out_that_is_a_folder_is_refused_before_training(capsys, tmp_path):
    folder = tmp_path / "d.cnnproj"
    folder.mkdir()
    _refuses_before_training(capsys, folder, "d.cnnproj", "is a folder")
    assert list(folder.iterdir()) == []


def test_out_in_an_unwritable_folder_is_refused_before_training(capsys, tmp_path, monkeypatch):
    # chmod does not stop root (CI containers), so make the write itself fail
    from cnnstudio.cli import run as cli_run

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli_run.tempfile, "TemporaryFile", denied)
    _refuses_before_training(capsys, tmp_path / "x.cnnproj", "cannot write", "Permission denied",
                             "choose a folder")
    assert not (tmp_path / "x.cnnproj").exists()


# ---- image folders ----------------------------------------------------------------------------
def _digit_folder(root, corrupt=True):
    """Three classes of sample digits as PNG (40x40), JPEG (28x28) and RGB BMP (20x20), plus a
    corrupt PNG: a folder as people collect them."""
    from cnnstudio.data import load_sample

    ds = load_sample()
    for c in range(3):
        (root / str(c)).mkdir(parents=True)
        for i, a in enumerate(ds.x[ds.y == c][:9, ..., 0]):
            img = Image.fromarray(a)
            if i % 3 == 0:
                img.resize((40, 40)).save(root / str(c) / f"{i}.png")
            elif i % 3 == 1:
                img.save(root / str(c) / f"{i}.jpg", quality=95)
            else:
                img.resize((20, 20)).convert("RGB").save(root / str(c) / f"{i}.bmp")
    if corrupt:
        (root / "1" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def _three_class_model(path):
    spec = get_template("simple-cnn")
    layers = list(spec.layers)
    layers[4] = type(layers[4])("Dense", {"units": 3})
    path.write_text(spec.with_layers(layers).to_json())
    return path


def test_image_folder_training_names_the_corrupt_file_and_uses_the_rest(capsys, tmp_path):
    data = _digit_folder(tmp_path / "digits")
    model = _three_class_model(tmp_path / "three.json")
    out = tmp_path / "f.cnnproj"
    code, stdout, err = run(capsys, "train", model, "--data", data, "--epochs", "1", "--out", out)
    assert code == 0, err
    assert "corrupt.png" in err and "skipped 1 file" in err
    ds = load_project(out).history["dataset"]
    # gray digits saved as PNG, JPEG and RGB BMP are a grayscale dataset: no --grayscale needed
    assert ds["num_train"] + ds["num_val"] == 27 and ds["image_shape"] == [28, 28, 1]
    assert "corrupt.png" not in stdout


# ---- evaluate ---------------------------------------------------------------------------------
def _sample_npz(path, n=60):
    from cnnstudio.data import sample_split

    val = sample_split()[1]
    np.savez(path, x=val.x[:n, ..., 0], y=val.y[:n])
    return path


def test_evaluate_on_other_data_uses_every_image(capsys, tmp_path, trained):
    data = _sample_npz(tmp_path / "test.npz", n=60)
    code, out, err = run(capsys, "evaluate", trained, "--data", data, "--json")
    assert code == 0, err
    assert np.array(json.loads(out)["confusion"]).sum() == 60  # not a 10% "validation" slice


def test_evaluate_on_the_training_file_uses_its_validation_part(capsys, tmp_path):
    data = _sample_npz(tmp_path / "own.npz", n=100)
    proj = tmp_path / "own.cnnproj"
    assert run(capsys, "train", "simple-cnn", "--data", data, "--epochs", "1", "--out", proj)[0] == 0
    num_val = load_project(proj).history["dataset"]["num_val"]
    for argv in ([], ["--data", data]):
        code, out, err = run(capsys, "evaluate", proj, "--json", *argv)
        assert code == 0, err
        assert np.array(json.loads(out)["confusion"]).sum() == num_val < 100


def test_evaluate_when_the_training_data_is_gone_asks_for_data(capsys, tmp_path):
    data = _sample_npz(tmp_path / "gone.npz", n=100)
    proj = tmp_path / "gone.cnnproj"
    assert run(capsys, "train", "simple-cnn", "--data", data, "--epochs", "1", "--out", proj)[0] == 0
    data.unlink()
    code, out, err = run(capsys, "evaluate", proj)
    assert code == 2 and out == ""  # not silently the MNIST sample
    line = error_line(err)
    assert "gone.npz" in line and "no longer exists" in line and "--data" in line


def test_evaluate_json_of_a_diverged_network_is_strict_json(capsys, tmp_path, trained):
    from cnnstudio.project import save_project

    project = load_project(trained)
    project.weights = {k: np.full_like(v, np.nan) for k, v in project.weights.items()}
    nan_proj = tmp_path / "nan.cnnproj"
    save_project(nan_proj, project)
    code, out, err = run(capsys, "evaluate", nan_proj, "--json")
    assert code == 0, err
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["loss"] is None and 0.0 <= doc["accuracy"] <= 1.0


# ---- predict --------------------------------------------------------------------------------
def _digit(label=7):
    from cnnstudio.data import sample_split

    val = sample_split()[1]
    return val.x[val.y == label][0, ..., 0]


def test_predict_goes_on_past_a_bad_file_and_exits_2(capsys, tmp_path, trained):
    good = tmp_path / "seven.png"
    Image.fromarray(_digit()).save(good)
    folder = tmp_path / "afolder"
    folder.mkdir()
    code, out, err = run(capsys, "predict", trained, tmp_path / "missing.png", good, folder)
    assert code == 2
    assert out.startswith(f"{good}: ")  # the readable image is still predicted
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 2 and "Traceback" not in err
    assert "missing.png" in lines[0] and "not found" in lines[0]
    assert "afolder" in lines[1] and "is a folder" in lines[1]


def test_predict_transparent_png_drawing_is_put_on_a_contrasting_background(capsys, tmp_path, trained):
    digit = _digit()
    plain = tmp_path / "plain.png"
    Image.fromarray(digit).save(plain)
    for ink in (0, 255):  # black or white ink whose shape is only in the alpha channel
        rgba = np.zeros((28, 28, 4), np.uint8)
        rgba[..., :3] = ink
        rgba[..., 3] = digit
        Image.fromarray(rgba).save(tmp_path / f"ink{ink}.png")
    from cnnstudio.project import session

    expected, _ = session.load_image_file(plain, (28, 28, 1))
    for ink in (0, 255):
        arr, notes = session.load_image_file(tmp_path / f"ink{ink}.png", (28, 28, 1))
        assert any("transparent background" in n for n in notes)
        # the same white-on-black digit the network was trained on (up to rounding)
        assert np.abs(arr.astype(int) - expected.astype(int)).max() <= 1


def test_predict_refuses_huge_images_by_name(capsys, tmp_path, trained, monkeypatch):
    # real bombs take memory to build: lower the limits instead and feed ordinary images
    from PIL import Image as PILImage

    from cnnstudio.project import session

    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "wide.png")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "ok.png")
    monkeypatch.setattr(session, "MAX_PIXELS", 1000)
    code, out, err = run(capsys, "predict", trained, tmp_path / "wide.png", tmp_path / "ok.png")
    assert code == 2 and out.startswith(f"{tmp_path / 'ok.png'}: ")
    line = error_line(err)
    assert "wide.png" in line and "40x40" in line and "too large" in line
    monkeypatch.setattr(session, "MAX_PIXELS", 10**9)
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 500)  # Pillow's own decompression-bomb guard
    code, _, err = run(capsys, "predict", trained, tmp_path / "wide.png")  # 1,600 pixels > 2 x 500
    assert code == 2 and "too large to decode safely" in error_line(err)


def test_any_refused_path_is_one_line_not_an_internal_error(capsys, monkeypatch):
    from cnnstudio.cli import run as cli_run

    def refuse(*args, **kwargs):
        raise NotADirectoryError(20, "Not a directory", "/x/file.txt/runs")

    monkeypatch.setattr(cli_run, "_out_path", refuse)
    code, _, err = run(capsys, "train", "simple-cnn", "--epochs", "1")
    assert code == 2
    line = error_line(err)
    assert "/x/file.txt/runs: Not a directory" in line and "internal error" not in line


def test_default_runs_folder_that_cannot_be_made_is_explained(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("a file where the runs folder would go")
    code, stdout, err = run(capsys, "train", "simple-cnn", "--epochs", "1", "--limit", "50")
    assert code == 2 and "training" not in stdout
    line = error_line(err)
    assert "runs" in line and "--out" in line and "internal error" not in line


def test_evaluate_on_data_with_more_classes_than_the_network_is_explained(capsys, tmp_path, trained):
    from cnnstudio.data import sample_split

    val = sample_split()[1]
    y = val.y[:40].copy()
    y[0] = 12  # a class the 10-output network cannot score
    data = tmp_path / "more.npz"
    np.savez(data, x=val.x[:40], y=y)
    code, out, err = run(capsys, "evaluate", trained, "--data", data, "--json")
    assert code == 2 and out == ""
    line = error_line(err)
    assert "more.npz" in line and "labels up to 12" in line and "only 10 classes" in line


# ---- issue 14, data side: paths a project stores, formats by content, image bombs -------------
def _with_stored_dataset(tmp_path, trained, source, record=False):
    """A copy of ``trained`` whose history and training settings name ``source`` as their data
    (``record``: its data record too, project.datasource, as files written since issue 13 hold it;
    without it, as older files do)."""
    import os

    from cnnstudio.project import save_project, session
    from cnnstudio.project.datasource import DataSource

    project = load_project(trained)
    project.history["dataset"]["source"] = str(source)
    project.training_config = session.make_config(project.training_config, dataset=str(source))
    project.datasource = DataSource("folder", "stored", path=os.path.abspath(source), classes=tuple(
        str(d) for d in range(10)), num_images=10) if record else None
    path = tmp_path / ("recorded.cnnproj" if record else "stored.cnnproj")
    save_project(path, project)
    return path


def _in_thread(fn, timeout=30.0):
    """fn() in a thread: the test fails, instead of hanging, if it blocks."""
    import threading

    box = {}
    t = threading.Thread(target=lambda: box.setdefault("v", fn()), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the command blocked"
    return box["v"]


@pytest.mark.parametrize("kind", ["fifo", "dev", "root"])
def test_stored_dataset_path_that_is_not_a_file_or_folder_is_refused(capsys, tmp_path, trained, kind):
    import os

    source = {"fifo": tmp_path / "pipe", "dev": "/dev/stdin", "root": "/"}[kind]
    if kind == "fifo":
        os.mkfifo(source)
    projects = [_with_stored_dataset(tmp_path, trained, source), _with_stored_dataset(tmp_path, trained, source, True)]
    for proj, argv in [(p, a) for p in projects for a in (["evaluate", p],
                                                          ["train", p, "--epochs", "1", "--out", tmp_path / "next.cnnproj"])]:
        code, out, err = _in_thread(lambda: run(capsys, *argv))
        assert code == 2 and "training" not in out
        line = error_line(err)
        assert str(source) in line and "stored in" in line and str(proj) in line, line
        assert {"fifo": "named pipe", "dev": "device", "root": "root of the file system"}[kind] in line


def test_cifar_python_archive_as_data_says_why_and_what_to_get(capsys, tmp_path):
    import io
    import tarfile

    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"\x80\x02}q"))
    code, out, err = run(capsys, "train", "simple-cnn", "--data", archive, "--epochs", "1",
                         "--out", tmp_path / "c.cnnproj")
    assert code == 2 and "training" not in out
    line = error_line(err)
    assert str(archive) in line and "pickled" in line and "cifar-10-binary.tar.gz" in line


def test_predict_png_whose_idat_claims_4_gb_is_one_line(capsys, tmp_path, trained):
    import sys as _sys

    _sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "data"))
    from bombs import png_with_idat_length

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_idat_length(4_294_904_865))
    code, out, err = run(capsys, "predict", trained, bomb)
    assert code == 2 and out == ""
    line = error_line(err)
    assert str(bomb) in line and "IDAT" in line and "4,294,904,865" in line
