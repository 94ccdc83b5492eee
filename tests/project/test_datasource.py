"""project.datasource: a project records its data so the same images and split come back
(issue 13); the record in project.json is hostile input; older files without it open as before."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnstudio.data import read_image_folder
from cnnstudio.project import datasource
from cnnstudio.project.datasource import DataMissingError, DataSource, record_split
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project

CLASSES = ["circle", "square", "triangle"]


def _folder(root: Path, n: int = 10) -> Path:
    from PIL import Image

    rng = np.random.default_rng(5)
    for ci, cls in enumerate(CLASSES):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            a = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
            a[..., ci] = 255
            Image.fromarray(a).save(root / cls / f"{i:03d}.png")
    return root


def _imported(root: Path, fraction: float = 0.2, channels: int | None = 1):
    full, _ = read_image_folder(root, size=(12, 12), channels=channels)
    return record_split(full, fraction, 0, kind="folder", path=str(root), image_size=(12, 12), read_channels=channels)


def test_a_folder_comes_back_with_the_same_images_and_split(tmp_path):
    train, val = _imported(_folder(tmp_path / "shapes"))
    src = datasource.source_of(train)
    assert (src.kind, src.val_fraction, src.read_channels, src.num_images, src.num_val) == ("folder", 0.2, 1, 30, 6)
    assert set(src.val_files) == set(val.meta["files"]) and not set(src.val_files) & set(train.meta["files"])
    again = DataSource.from_dict(json.loads(json.dumps(src.to_dict())))
    assert again == src
    t2, v2 = datasource.load(again)
    assert t2.meta["files"] == train.meta["files"] and v2.meta["files"] == val.meta["files"]
    assert np.array_equal(t2.x, train.x) and np.array_equal(v2.x, val.x) and t2.image_shape == (12, 12, 1)
    assert datasource.source_of(t2).notes == ()


def test_a_folder_that_gained_and_lost_files_validates_on_the_recorded_files_only(tmp_path):
    root = _folder(tmp_path / "shapes")
    train, val = _imported(root)
    src = datasource.source_of(train)
    shutil.copy(root / "circle" / "000.png", root / "circle" / "new.png")
    (root / Path(src.val_files[0])).unlink()
    t2, v2 = datasource.load(src)
    assert list(v2.meta["files"]) == list(src.val_files[1:])        # the recorded ones still there, in order
    assert "circle/new.png" in t2.meta["files"]                       # a new file trains, never validates
    assert not set(v2.meta["files"]) & set(t2.meta["files"])
    assert "changed since" in datasource.source_of(t2).notes[0]


def test_missing_data_says_what_it_expects(tmp_path):
    root = _folder(tmp_path / "shapes")
    src = datasource.source_of(_imported(root)[0])
    shutil.rmtree(root)
    with pytest.raises(DataMissingError) as info:
        datasource.load(src)
    text = str(info.value)
    assert str(root) in text and "image folder \"shapes\"" in text and "circle, square, triangle" in text
    assert "30 images" in text
    moved = _folder(tmp_path / "other")
    shutil.rmtree(moved / "triangle")
    (moved / "star").mkdir()
    shutil.copytree(moved / "circle", moved / "star", dirs_exist_ok=True)
    with pytest.raises(Exception, match="is not the project's data"):
        datasource.load(src.relocated(moved))                       # other classes: not the project's data


def test_a_placeholder_is_empty_with_the_recorded_classes(tmp_path):
    src = datasource.source_of(_imported(_folder(tmp_path / "shapes"))[0])
    train, val = datasource.placeholder(src, "gone")
    assert len(train) == len(val) == 0 and train.class_names == CLASSES and train.image_shape == (12, 12, 1)
    assert datasource.missing_problem(val) == "gone"
    from cnnstudio.data import DataError
    from cnnstudio.project.session import prepare_data
    from cnnstudio.model import NetworkSpec
    from cnnstudio.model.templates import get_template
    spec: NetworkSpec = get_template("lenet5")
    with pytest.raises(DataError, match="gone"):
        prepare_data((train, val), spec)                             # training refuses it with what it stands for


def test_session_records_a_path_split_with_its_settings(tmp_path):
    from cnnstudio.model.templates import get_template
    from cnnstudio.project.session import prepare_data

    root = _folder(tmp_path / "shapes")
    train, val = prepare_data(str(root), get_template("lenet5"), val_fraction=0.3, convert_channels=True, limit=20,
                              seed=7)
    src = datasource.source_of(train)
    assert (src.kind, src.val_fraction, src.split_seed, src.limit, src.channels) == ("folder", 0.3, 7, 20, 1)
    assert src.image_size == (28, 28) and src.read_channels is None
    t2, v2 = datasource.load(src)
    assert np.array_equal(v2.y, val.y) and v2.image_shape == (28, 28, 1) and len(t2) == len(train)


def test_npz_file_is_recorded_with_a_fingerprint(tmp_path):
    from cnnstudio.model.templates import get_template
    from cnnstudio.project.session import prepare_data

    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.integers(0, 255, (40, 28, 28), dtype=np.uint8), y=np.arange(40) % 4)
    train, val = prepare_data(str(path), get_template("lenet5"), val_fraction=0.25)
    src = datasource.source_of(train)
    assert (src.kind, src.format, src.val_files) == ("file", "npz", None) and src.fingerprint.startswith("sha256:")
    t2, v2 = datasource.load(src)
    assert np.array_equal(v2.x, val.x) and datasource.source_of(v2).notes == ()
    np.savez(path, x=rng.integers(0, 255, (44, 28, 28), dtype=np.uint8), y=np.arange(44) % 4)
    assert "may include some the network trained on" in datasource.source_of(datasource.load(src)[0]).notes[0]


# ---- project.json ------------------------------------------------------------------------------
def _saved(tmp_path, spec, src: DataSource | None) -> Path:
    path = tmp_path / "p.cnnproj"
    save_project(path, Project(spec, datasource=src))
    return path


def _with_data(path: Path, data) -> Path:
    """The project file with project.json's "data" replaced (as a hostile writer would)."""
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("project.json"))
        others = {n: zf.read(n) for n in zf.namelist() if n != "project.json"}
    doc["data"] = data
    out = path.with_name("hostile.cnnproj")
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("project.json", json.dumps(doc))
        for name, raw in others.items():
            zf.writestr(name, raw)
    return out


def test_the_record_round_trips_through_the_project_file(tmp_path, spec):
    src = datasource.source_of(_imported(_folder(tmp_path / "shapes"))[0])
    assert load_project(_saved(tmp_path, spec, src)).datasource == src
    assert load_project(_saved(tmp_path, spec, datasource.named("sample"))).datasource.kind == "sample"


def test_a_file_without_the_record_opens_as_before(tmp_path, spec):
    path = _with_data(_saved(tmp_path, spec, None), None)
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("project.json"))
    doc.pop("data")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.json", json.dumps(doc))
    assert load_project(path).datasource is None
    from cnnstudio.project.workspace import DataState, Workspace

    ws = Workspace("lenet5")
    ws.open(path)
    assert ws.data_state is DataState.READY and ws.dataset[0].source == "sample"


GOOD = {"kind": "folder", "name": "shapes", "path": "/data/shapes", "classes": ["a", "b"], "num_images": 10,
        "num_val": 2, "val_fraction": 0.2, "split_seed": 0, "val_files": ["a/1.png", "b/2.png"],
        "image_size": [28, 28], "read_channels": 1, "channels": 1}


@pytest.mark.parametrize("change, words", [
    ("[1, 2]", "data must be an object"),
    ({"kind": "network"}, "data.kind"),
    ({"path": 5}, "data.path must be text"),
    ({"path": "relative/shapes"}, "absolute path"),
    ({"path": "/x" * 3000}, "characters long"),
    ({"path": None}, "data.path is needed"),
    ({"classes": "ab"}, "data.classes must be a list"),
    ({"classes": [1, 2]}, "data.classes[0] must be text"),
    ({"classes": ["c"] * 10_001}, "entries"),
    ({"num_images": -1}, "data.num_images"),
    ({"num_images": True}, "whole number"),
    ({"num_images": 10**15}, "data.num_images"),
    ({"num_val": 11}, "more than data.num_images"),
    ({"val_fraction": "0.2"}, "data.val_fraction must be a number"),
    ({"val_fraction": 5}, "data.val_fraction must be from 0"),
    ({"split_seed": -3}, "data.split_seed"),
    ({"image_size": [28]}, "data.image_size"),
    ({"image_size": [28, 100_000]}, "data.image_size"),
    ({"read_channels": 2}, "data.read_channels"),
    ({"val_files": ["../../etc/passwd", "b/2.png"]}, "inside the folder"),
    ({"val_files": ["/abs/x.png", "b/2.png"]}, "inside the folder"),
    ({"val_files": ["a/1.png", "a/1.png"]}, "twice"),
    ({"val_files": ["a/1.png"]}, "data.num_val is 2"),
    ({"val_files": "a/1.png"}, "data.val_files must be a list"),
    ({"fingerprint": "md5:abc"}, "data.fingerprint"),
    ({"kind": "standard", "key": "imagenet"}, "data.key"),
    ({"name": "x\x00y"}, "NUL"),
])
def test_hostile_records_are_refused_by_name(tmp_path, spec, change, words):
    data = change if isinstance(change, str) else {**GOOD, **change}
    if isinstance(change, str):
        data = json.loads(change)
    path = _with_data(_saved(tmp_path, spec, None), data)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert words in str(info.value) and "record of the project's data" in str(info.value)


def test_a_good_hostile_shaped_record_loads(tmp_path, spec):
    path = _with_data(_saved(tmp_path, spec, None), {**GOOD, "unknown": {"deep": [1]}})
    src = load_project(path).datasource
    assert src.val_files == ("a/1.png", "b/2.png") and src.image_size == (28, 28)


def test_the_workspace_reopens_the_recorded_data_and_marks_it_missing(tmp_path):
    from cnnstudio.project.workspace import DataState, Workspace

    root = _folder(tmp_path / "shapes")
    ws = Workspace("lenet5")
    train, val = _imported(root, fraction=0.3)
    ws.set_dataset((train, val))
    assert ws.training_config.val_fraction == pytest.approx(0.3)    # the import's split is the settings'
    path = tmp_path / "p.cnnproj"
    ws.save(path)
    again = Workspace("lenet5")
    again.open(path)
    assert again.data_state is DataState.PENDING                       # the app loads it in the background
    t, v = again.dataset
    assert len(t) == 0 and t.class_names == CLASSES and "loading" in datasource.missing_problem(t)
    again.load_data()
    assert again.data_state is DataState.READY and again.dataset[1].meta["files"] == val.meta["files"]
    assert not again.is_dirty()
    shutil.rmtree(root)
    gone = Workspace("lenet5")
    gone.open(path)
    with pytest.raises(DataMissingError):
        gone.load_data()
    gone.mark_data_missing()
    assert gone.data_state is DataState.MISSING and "is not at" in datasource.missing_problem(gone.dataset[1])
    gone.save(path)                                                   # the record survives a save while missing
    assert load_project(path).datasource == datasource.source_of(train)
    gone.new_project("lenet5")                                        # a new project starts with real data
    assert gone.data_state is DataState.READY and gone.dataset[0].source == "sample"
