"""Project files: round trip, atomic save, and every way a file can be refused."""

import io
import json
import zipfile

import numpy as np
import pytest

from cnnstudio.data import Dataset
from cnnstudio.project import file as pf
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project


def _full_project(spec, weights):
    rng = np.random.default_rng(3)
    user = Dataset("my drawings", rng.integers(0, 256, (4, 28, 28, 1), dtype=np.uint8),
                   np.array([3, 1, 4, 1]), [str(i) for i in range(10)])
    history = pf.new_history()
    history["epochs"].append({"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.4,
                              "val_acc": 0.85, "lr": 0.001, "seconds": 1.5})
    history["lr_changes"].append({"epoch": 1, "step": 10, "lr": 0.0005})
    history["dataset"] = {"name": "MNIST sample", "source": "sample", "num_train": 4500, "num_val": 500,
                          "image_shape": [28, 28, 1], "classes": [str(i) for i in range(10)]}
    opt = {"m/0.W": np.ones((8, 1, 3, 3), np.float32), "steps": np.array(7)}  # Optimizer.get_state's form
    return Project(spec, weights=weights, optimizer_state=opt, history=history, user_dataset=user)


def test_round_trip_keeps_everything(tmp_path, spec, weights):
    project = _full_project(spec, weights)
    project.metadata["notes"] = "first try"
    path = tmp_path / "run.cnnproj"
    save_project(path, project)
    back = load_project(path)
    assert back.network == spec
    assert set(back.weights) == set(weights)
    for k, v in weights.items():
        assert back.weights[k].dtype == v.dtype and np.array_equal(back.weights[k], v)
    assert back.history == project.history
    assert back.optimizer_state["steps"].shape == () and back.optimizer_state["steps"] == 7
    np.testing.assert_array_equal(back.optimizer_state["m/0.W"], project.optimizer_state["m/0.W"])
    np.testing.assert_array_equal(back.user_dataset.x, project.user_dataset.x)
    np.testing.assert_array_equal(back.user_dataset.y, project.user_dataset.y)
    assert back.user_dataset.class_names == project.user_dataset.class_names
    assert back.metadata["notes"] == "first try" and "created" in back.metadata


def test_diverged_history_is_saved_as_null(tmp_path, spec):
    history = pf.new_history()
    history["epochs"].append({"epoch": np.int64(1), "train_loss": float("nan"), "val_loss": np.float32("inf"),
                              "val_acc": np.float64(0.1)})
    path = tmp_path / "nan.cnnproj"
    save_project(path, Project(spec, history=history))
    record = load_project(path).history["epochs"][0]
    assert record == {"epoch": 1, "train_loss": None, "val_loss": None, "val_acc": pytest.approx(0.1)}


def test_untrained_project_has_no_weights(tmp_path, spec):
    path = tmp_path / "new.cnnproj"
    save_project(path, Project(spec))
    back = load_project(path)
    assert back.weights is None and back.user_dataset is None and back.optimizer_state is None
    assert zipfile.ZipFile(path).namelist() == ["project.json"]


def test_weights_npz_is_a_standard_npz(tmp_path, spec, weights):
    path = tmp_path / "run.cnnproj"
    save_project(path, Project(spec, weights=weights))
    raw = zipfile.ZipFile(path).read("weights.npz")
    with np.load(io.BytesIO(raw), allow_pickle=False) as f:
        np.testing.assert_array_equal(f["0.W"], weights["0.W"])


def test_crash_mid_save_keeps_previous_file(tmp_path, spec, weights, make_weights, monkeypatch):
    path = tmp_path / "run.cnnproj"
    save_project(path, Project(spec, weights=weights))
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pf, "write_npz", explode)  # project.json is already written by then
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_project(path, Project(spec, weights=make_weights(spec, seed=9)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.cnnproj"]


def test_interrupt_mid_save_leaves_no_temp_file(tmp_path, spec, weights, monkeypatch):
    path = tmp_path / "run.cnnproj"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pf, "write_npz", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_project(path, Project(spec, weights=weights))
    assert list(tmp_path.iterdir()) == []


def test_save_into_missing_folder_is_explained(tmp_path, spec):
    with pytest.raises(ProjectFileError, match="does not exist"):
        save_project(tmp_path / "nope" / "x.cnnproj", Project(spec))


# ---- refusals -----------------------------------------------------------------------------
def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _good_json(spec, **over):
    doc = {"format_version": 1, "network": spec.to_dict(), "history": pf.new_history()}
    doc.update(over)
    return json.dumps(doc).encode()


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _refused(path, *fragments):
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    text = str(info.value)
    assert str(path) in text
    for frag in fragments:
        assert frag in text, text
    return text


def test_missing_file(tmp_path):
    _refused(tmp_path / "absent.cnnproj", "file not found")


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.cnnproj"
    p.write_text("hello")
    _refused(p, "not a zip")


def test_missing_project_json(tmp_path, weights):
    _refused(_zip(tmp_path / "x.cnnproj", {"weights.npz": _npz_bytes(**weights)}), "project.json is missing")


def test_unknown_member(tmp_path, spec):
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "evil.sh": b"rm"}),
             "unexpected member 'evil.sh'")


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a\\..\\b", "sub/../../x"])
def test_path_traversal_names(tmp_path, spec, name):
    p = tmp_path / "x.cnnproj"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("project.json", _good_json(spec))
        zf.writestr(zipfile.ZipInfo(name), b"x")  # ZipInfo keeps the name as given
    _refused(p, "outside the archive")


def test_member_lost_from_the_archive(tmp_path, spec, weights):
    p = tmp_path / "run.cnnproj"
    save_project(p, Project(spec, weights=weights))
    doc = zipfile.ZipFile(p).read("project.json")
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": doc}), "weights.npz listed", "missing")


def test_newer_format_version(tmp_path, spec):
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec, format_version=99)}),
             "format_version 99 is newer", "Update CNN Studio")


@pytest.mark.parametrize("version", [None, "1", True])
def test_missing_or_odd_format_version(tmp_path, spec, version):
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec, format_version=version)}),
             "format_version")


def test_corrupt_json(tmp_path):
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": b'{"format_version": 1, "net'}), "not valid JSON")


def test_json_not_an_object(tmp_path):
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": b"[1, 2]"}), "JSON object")


def test_invalid_network_description(tmp_path, spec):
    doc = _good_json(spec, network={"format_version": 1, "name": "x", "input": {"height": 28},
                                    "layers": [{"type": "Bogus", "config": {}}]})
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": doc}), "invalid")


def test_pickled_arrays_refused(tmp_path, spec):
    buf = io.BytesIO()
    np.savez(buf, **{"0.W": np.array([{"a": 1}], dtype=object)})
    text = _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": buf.getvalue()}),
                    "weights.npz", "'0.W'")
    assert "allow_pickle" in text or "Object arrays" in text


def test_string_arrays_refused(tmp_path, spec):
    npz = _npz_bytes(**{"0.W": np.array(["a", "b"])})
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": npz}), "dtype")


def test_weights_of_wrong_shape_name_key_and_shapes(tmp_path, spec, weights):
    weights["4.W"] = np.zeros((100, 10), np.float32)
    npz = _npz_bytes(**weights)
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": npz}),
             "'4.W'", "(100, 10)", "(1352, 10)")


def test_missing_weight_named(tmp_path, spec, weights):
    del weights["0.b"]
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": _npz_bytes(**weights)}),
             "missing weight", "0.b")


def test_weight_for_unknown_layer(tmp_path, spec, weights):
    weights["17.W"] = np.zeros(3, np.float32)
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": _npz_bytes(**weights)}),
             "'17.W'", "names no layer")


def test_oversized_json_refused_before_reading(tmp_path, spec, monkeypatch):
    p = _zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec) + b" " * 5000})
    monkeypatch.setattr(pf.limits, "MAX_JSON_BYTES", 1000)
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: read.append(a) or io.BytesIO(b""))
    _refused(p, "zip bomb", "project.json")
    assert read == []  # refused from the declared size alone


def test_weights_larger_than_network_allows(tmp_path, spec, weights):
    weights["0.W"] = np.zeros((8, 1, 3, 3), np.float32)
    # a huge, highly compressible extra array: the declared size gives it away
    weights["0.pad"] = np.zeros(3_000_000, np.float64)
    p = _zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "weights.npz": _npz_bytes(**weights)})
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", _good_json(spec))
        zf.writestr("weights.npz", _npz_bytes(**weights))
    assert p.stat().st_size < 1_000_000
    _refused(p, "weights.npz", "zip bomb")


def test_truncated_file(tmp_path, spec, weights):
    p = tmp_path / "run.cnnproj"
    save_project(p, Project(spec, weights=weights))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _refused(p)


def test_user_data_must_be_consistent(tmp_path, spec):
    npz = _npz_bytes(x=np.zeros((3, 28, 28, 1), np.uint8), y=np.array([1, 2]))
    _refused(_zip(tmp_path / "x.cnnproj", {"project.json": _good_json(spec), "user_data.npz": npz}),
             "user_data.npz")


def _bn_spec():
    from cnnstudio.model import LayerSpec, NetworkSpec

    return NetworkSpec("bn", (12, 12, 2), [
        LayerSpec("Conv2D", {"filters": 4}), LayerSpec("BatchNorm"), LayerSpec("ReLU"), LayerSpec("Flatten"),
        LayerSpec("Dense", {"units": 16, "use_bias": False}), LayerSpec("BatchNorm"), LayerSpec("Dropout"),
        LayerSpec("Dense", {"units": 3}), LayerSpec("Softmax")])


@pytest.mark.parametrize("name", ["simple-cnn", "lenet5", "mini-vgg", "mlp", "bn"])
def test_engine_weights_fit_the_file_checks(tmp_path, name):
    """The loader's expected names and shapes agree with what the engine really holds."""
    from cnnstudio.model import get_template
    from cnnstudio.project.session import build_network, build_with_weights

    spec = _bn_spec() if name == "bn" else get_template(name)
    weights = build_network(spec, seed=1).get_weights()
    path = tmp_path / f"{name}.cnnproj"
    save_project(path, Project(spec, weights=weights))
    back = load_project(path)
    assert set(back.weights) == set(weights)
    net = build_with_weights(back.network, back.weights)
    for k, v in net.get_weights().items():
        np.testing.assert_array_equal(v, weights[k])


@pytest.mark.parametrize("dataset, fragment", [
    ([1, 2], "history.dataset must be an object"),
    ({"classes": 1.5}, "history.dataset.classes must be a list of names"),
    ({"classes": ["0", 1]}, "history.dataset.classes must be a list of names"),
    ({"source": 3}, "history.dataset.source must be text"),
])
def test_dataset_record_that_predict_and_evaluate_read_is_checked(tmp_path, spec, dataset, fragment):
    # found by fuzzing project.json: `predict` crashed on classes = 1.5 (internal error)
    history = {**pf.new_history(), "dataset": dataset}
    path = _zip(tmp_path / "d.cnnproj", {"project.json": _good_json(spec, history=history)})
    _refused(path, fragment, "damaged")
