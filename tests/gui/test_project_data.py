"""A project records its data (issue 13): reopening a project trained on an imported image
folder gives the same images, the same split and the same evaluation (in the app and from
`cnnstudio evaluate` without --data); a moved folder is asked for, never replaced by the sample;
going on without it leaves the project open with the data marked missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnnstudio.gui.datasets.import_dialog import ImportFolderDialog
from cnnstudio.project.workspace import DataState
from imagefolders import CLASSES, shapes_folder


def _three_outputs(state) -> None:
    from cnnstudio.model import ReplaceNetwork
    from cnnstudio.model.classes import fit_classes

    fitted, _note = fit_classes(state.spec, len(CLASSES))
    state.document.execute(ReplaceNetwork(fitted))


def _evaluated(qtbot, panel, n_val: int):
    panel.result = None
    qtbot.waitUntil(lambda: panel.result is not None and len(panel.result.y) == n_val, timeout=30_000)
    r = panel.result
    return float(r.loss), float(r.accuracy), np.asarray(r.confusion).tolist()


def _cli_project(tmp_path: Path, folder: Path) -> Path:
    """A project trained (1 epoch) by the CLI on ``folder``, imported as grayscale with a 0.2 split."""
    from cnnstudio.cli import main

    out = tmp_path / "shapes.cnnproj"
    assert main(["train", "lenet5", "--data", str(folder), "--grayscale", "--classes", "auto", "--epochs", "1",
                 "--val-fraction", "0.2", "--out", str(out)]) == 0
    return out


def _opened_after_the_folder_went(window, qtbot, tmp_path: Path, move: bool = True):
    """A CLI project on a shapes folder; the folder then moved elsewhere (or, ``move`` False, deleted);
    the project opened in the window until the locate dialog shows.
    Returns (the folder's old path, its new one or None, the project's path, the dataset browser)."""
    folder = shapes_folder(tmp_path / "shapes")
    path = _cli_project(tmp_path, folder)
    moved = tmp_path / "elsewhere" / "shapes" if move else None
    if moved is not None:
        moved.parent.mkdir()
        shutil.move(str(folder), str(moved))
    else:
        shutil.rmtree(folder)
    browser = window.panel("datasetDock")
    assert window.open_path(str(path))
    qtbot.waitUntil(lambda: browser.locate_dialog is not None, timeout=10_000)
    return folder, moved, path, browser


def test_reopened_folder_project_has_the_same_data_split_and_evaluation(window, qtbot, tmp_path, capsys):
    state = window.state
    folder = shapes_folder(tmp_path / "shapes")
    _three_outputs(state)
    dialog = ImportFolderDialog(state)
    qtbot.addWidget(dialog)
    dialog.set_folder(str(folder))
    dialog.channels.setCurrentIndex(0)          # grayscale (the images are colour)
    assert dialog.val_fraction.value() == pytest.approx(0.2)
    with qtbot.waitSignal(state.datasetChanged, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog._thread is None)
    dialog.close()
    train, val = state.dataset
    assert (len(train), len(val), train.image_shape) == (24, 6, (28, 28, 1))
    # the dialog's split is what the training settings (and so the file) say
    assert state.training_config.val_fraction == pytest.approx(0.2)

    training = window.training_panel
    training.epochs.setValue(1)
    with qtbot.waitSignal(training.controller.finished, timeout=60_000):
        assert training.start()
    evaluation = window.panel("evaluationDock")
    figures = _evaluated(qtbot, evaluation, len(val))
    path = tmp_path / "shapes.cnnproj"
    state.save(path)

    import zipfile
    with zipfile.ZipFile(path) as zf:
        data = json.loads(zf.read("project.json"))["data"]
    assert data["kind"] == "folder" and data["path"] == str(folder)
    assert (data["channels"], data["read_channels"], data["val_fraction"]) == (1, 1, 0.2)
    assert sorted(data["val_files"]) == sorted(val.meta["files"])
    assert not set(data["val_files"]) & set(train.meta["files"])   # validation never holds a training image

    # another dataset in between: reopening must bring the folder back, not keep this or the sample
    window.panel("datasetDock").use_sample()
    assert window.open_path(str(path))
    qtbot.waitUntil(lambda: state.data_state is DataState.READY and state.dataset[0].source == str(folder),
                    timeout=20_000)
    train2, val2 = state.dataset
    assert train2.meta["files"] == train.meta["files"] and val2.meta["files"] == val.meta["files"]
    assert np.array_equal(train2.x, train.x) and np.array_equal(val2.x, val.x) and np.array_equal(val2.y, val.y)
    assert not state.is_dirty()
    again = _evaluated(qtbot, evaluation, len(val))
    assert again[1:] == figures[1:] and again[0] == pytest.approx(figures[0], rel=1e-5)

    # the CLI, without --data and without --grayscale: the same images, the same figures
    from cnnstudio.cli import main

    capsys.readouterr()
    assert main(["evaluate", str(path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["accuracy"] == pytest.approx(figures[1], abs=1e-12) and cli["confusion"] == figures[2]
    assert cli["loss"] == pytest.approx(figures[0], rel=1e-5)

    # continuing the reopened project trains and validates on the recorded split, not a new one
    training.ask_start_trained = lambda: ("continue", False)
    with qtbot.waitSignal(training.controller.finished, timeout=60_000):
        assert training.start()
    used_train, used_val = training.controller.datasets
    assert np.array_equal(used_val.y, val.y) and np.array_equal(used_val.x, val.x) and len(used_train) == len(train)


def test_a_moved_folder_is_asked_for_and_found_again(window, qtbot, tmp_path):
    state = window.state
    folder, moved, path, browser = _opened_after_the_folder_went(window, qtbot, tmp_path)
    dialog = browser.locate_dialog
    text = dialog.expects.text()
    assert "image folder \"shapes\"" in text and "circle, square, triangle" in text and "30 images" in text
    assert str(folder) in text                      # where it was last
    train, val = state.dataset                      # meanwhile: the recorded classes, no images, not the sample
    assert train.source != "sample" and len(train) == len(val) == 0 and train.class_names == CLASSES

    dialog.ask_path = lambda: str(moved)            # the person picks the folder's new place
    dialog._browse()
    qtbot.waitUntil(lambda: state.data_state is DataState.READY, timeout=20_000)
    train, val = state.dataset
    assert (len(train), len(val), train.image_shape) == (24, 6, (28, 28, 1))
    from cnnstudio.project.file import load_project
    recorded = load_project(path).datasource
    assert list(val.meta["files"]) == list(recorded.val_files)
    assert state.datasource.path == str(moved) and state.is_dirty()   # the new place is saved with the project
    evaluation = window.panel("evaluationDock")
    _evaluated(qtbot, evaluation, 6)


def test_going_on_without_the_data_keeps_the_project_and_says_the_data_is_missing(window, qtbot, tmp_path,
                                                                                  monkeypatch):
    state = window.state
    folder, _moved, path, browser = _opened_after_the_folder_went(window, qtbot, tmp_path, move=False)
    qtbot.mouseClick(browser.locate_dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.data_state is DataState.MISSING)
    assert state.path == str(path) and state.weights              # the project stays open, trained
    assert "data missing" in browser.title.text() and "is not at" in browser.info.text()
    assert browser.locate_button.isVisible()
    evaluation = window.panel("evaluationDock")
    evaluation.evaluate()
    qtbot.waitUntil(lambda: "Cannot evaluate" in evaluation.status.text(), timeout=10_000)
    status = evaluation.status.text()
    assert "shapes" in status and "Dense" not in status and "MNIST" not in status   # never blames the network
    errors = []
    monkeypatch.setattr(window.training_panel, "show_error", lambda title, text: errors.append(text))
    monkeypatch.setattr(window.training_panel, "ask_start_trained", lambda: ("continue", False))
    assert not window.training_panel.start()
    assert errors and "shapes" in errors[0] and "Dense" not in errors[0]
    # exporting for PyTorch needs the images: refused with what is missing, never an empty data.npz
    with pytest.raises(ValueError, match="shapes"):
        window.menus.exports.export_pytorch_to(str(tmp_path / "pt"))
    # the record is kept: saving does not forget where the data was
    state.save(path)
    from cnnstudio.project.file import load_project
    assert load_project(path).datasource.path == str(folder)


def test_a_second_import_after_a_failed_one_starts_clean(qtbot, state, tmp_path):
    from PIL import Image

    good = shapes_folder(tmp_path / "shapes", n=3)
    (good / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    dialog = ImportFolderDialog(state)
    qtbot.addWidget(dialog)
    dialog.set_folder(str(good))
    with qtbot.waitSignal(state.datasetChanged, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog._thread is None)
    assert dialog.skipped.count() == 1 and dialog.close_button.text() == "Close"
    bad = tmp_path / "bad" / "only"
    bad.mkdir(parents=True)
    (bad / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")   # a folder whose every image is unreadable
    Image.new("L", (4, 4)).save(bad / "b.txt", format="PNG")    # named as not an image
    assert dialog.set_folder(str(tmp_path / "bad"))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog._thread is None, timeout=20_000)
    assert "Import failed" in dialog.message.text()
    assert dialog.skipped.isHidden() and dialog.skipped.count() == 0      # the first import's list is gone
    assert dialog.close_button.text() == "Close"                          # not "Stop": nothing is running
    assert state.dataset[0].source == str(good)                           # the first import stays current


def test_a_moved_npz_file_is_asked_for_by_its_name(window, qtbot, tmp_path):
    from cnnstudio.cli import main

    rng = np.random.default_rng(0)
    data = tmp_path / "letters.npz"
    np.savez(data, x=rng.integers(0, 255, (40, 28, 28), dtype=np.uint8), y=np.arange(40) % 4)
    path = tmp_path / "letters.cnnproj"
    assert main(["train", "lenet5", "--data", str(data), "--classes", "auto", "--epochs", "1",
                 "--val-fraction", "0.25", "--out", str(path)]) == 0
    moved = tmp_path / "moved.npz"
    data.rename(moved)
    browser = window.panel("datasetDock")
    assert window.open_path(str(path))
    qtbot.waitUntil(lambda: browser.locate_dialog is not None, timeout=10_000)
    dialog = browser.locate_dialog
    assert ".npz file \"letters.npz\"" in dialog.expects.text() and "40 images" in dialog.expects.text()
    assert dialog.use_button.text() == "Use this file"
    dialog.path.setText(str(moved))
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.data_state is DataState.READY, timeout=20_000)
    train, val = window.state.dataset
    assert (len(train), len(val)) == (32, 8) and train.source == str(moved)   # as the CLI split it
