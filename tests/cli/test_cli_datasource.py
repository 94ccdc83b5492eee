"""`cnnstudio evaluate RUN.cnnproj` without --data uses the project's recorded data and split
(issue 13): the import settings are kept (grayscale, the split), the split never holds a training
image, and data that moved is named with how to give it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnnstudio.cli import main
from cnnstudio.project import datasource
from cnnstudio.project.file import load_project
from imagefolders import shapes_folder


@pytest.fixture
def trained(tmp_path, capsys):
    folder = shapes_folder(tmp_path / "shapes")
    out = tmp_path / "shapes.cnnproj"
    assert main(["train", "lenet5", "--data", str(folder), "--grayscale", "--classes", "auto", "--epochs", "2",
                 "--val-fraction", "0.2", "--out", str(out)]) == 0
    capsys.readouterr()
    return folder, out


def _evaluate(capsys, *args) -> dict:
    assert main(["evaluate", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_without_data_uses_the_recorded_split_and_settings(trained, capsys):
    folder, out = trained
    project = load_project(out)
    src = project.datasource
    assert (src.kind, src.path, src.val_fraction, src.channels, src.num_val) == ("folder", str(folder), 0.2, 1, 6)
    assert project.training_config.val_fraction == pytest.approx(0.2)
    train, val = datasource.load(src)
    assert not set(val.meta["files"]) & set(train.meta["files"]) and len(train) + len(val) == 30
    result = _evaluate(capsys, out)                              # no --data, no --grayscale
    assert int(np.sum(result["confusion"])) == 6
    last = project.history["epochs"][-1]                        # what training (and the app) showed
    assert result["accuracy"] == pytest.approx(last["val_acc"], abs=1e-9)
    assert result["loss"] == pytest.approx(last["val_loss"], rel=1e-4)
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 images" in text and "mistakes" in text


def test_a_missing_folder_names_the_path_and_how_to_give_it(trained, capsys):
    folder, out = trained
    moved = folder.parent / "moved"
    shutil.move(str(folder), str(moved))
    assert main(["evaluate", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(folder) in err and "--data" in err and "circle, square, triangle" in err and "30 images" in err
    # given its new place, the same data is evaluated on its recorded validation images
    assert int(np.sum(_evaluate(capsys, out, "--data", moved)["confusion"])) == 6


def test_other_data_given_with_data_is_evaluated_whole(trained, tmp_path, capsys):
    _folder, out = trained
    other = shapes_folder(tmp_path / "test-shapes", n=4)
    assert int(np.sum(_evaluate(capsys, out, "--data", other, "--grayscale")["confusion"])) == 12


def test_continuing_training_keeps_the_recorded_split(trained, tmp_path, capsys):
    _folder, out = trained
    again = tmp_path / "again.cnnproj"
    assert main(["train", str(out), "--epochs", "1", "--out", str(again)]) == 0
    assert "24 train / 6 validation" in capsys.readouterr().out
    assert load_project(again).datasource == load_project(out).datasource


def test_export_pytorch_without_data_exports_the_recorded_images_and_split(trained, tmp_path, capsys):
    pytest.importorskip("safetensors")
    _folder, out = trained
    folder_out = tmp_path / "pt"
    assert main(["export", str(out), "--format", "pytorch", "--out", str(folder_out)]) == 0
    train, val = datasource.load(load_project(out).datasource)
    with np.load(folder_out / "data.npz") as data:
        assert data["x_train"].shape == (24, 28, 28, 1) and data["x_val"].shape == (6, 28, 28, 1)  # grayscale kept
        assert np.array_equal(data["x_val"], val.x) and np.array_equal(data["y_val"], val.y)


def test_an_older_project_without_the_record_still_evaluates_and_says_the_split_is_a_guess(trained, tmp_path,
                                                                                           capsys):
    from cnnstudio.project.file import save_project

    _folder, out = trained
    project = load_project(out)
    project.datasource = None            # as files written before issue 13
    old = tmp_path / "old.cnnproj"
    save_project(old, project)
    assert main(["evaluate", str(old), "--grayscale"]) == 0
    captured = capsys.readouterr()
    assert "saved before CNN Studio recorded its data's split" in captured.err and "images" in captured.out
