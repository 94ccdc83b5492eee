"""`cnnstudio train --classes auto|N` fits the last Dense layer to the data and says so."""

import numpy as np
import pytest

from clihelpers import assert_one_line_error, run

from cnnstudio.model import get_template
from cnnstudio.model.classes import fit_classes
from cnnstudio.project import load_project


def _three_class_npz(path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    np.savez(path, x=x, y=np.repeat(np.arange(3), 10))
    return path


def _last_dense_units(spec):
    return [layer.config["units"] for layer in spec.layers if layer.type == "Dense"][-1]


def test_classes_auto_fits_the_last_dense_to_the_data_and_says_so(capsys, tmp_path):
    data, out_path = _three_class_npz(tmp_path / "three.npz"), tmp_path / "r.cnnproj"
    code, out, err = run(capsys, "train", "simple-cnn", "--data", data, "--classes", "auto",
                         "--epochs", "1", "--out", out_path)
    assert code == 0, err
    assert "--classes auto: layer" in out and "units 10 -> 3" in out
    assert _last_dense_units(load_project(out_path).network) == 3


def test_classes_n_sets_the_units_and_a_wrong_n_is_still_explained(capsys, tmp_path):
    data = _three_class_npz(tmp_path / "three.npz")
    code, out, err = run(capsys, "train", "simple-cnn", "--data", data, "--classes", "3",
                         "--epochs", "1", "--out", tmp_path / "a.cnnproj")
    assert code == 0, err
    assert "units 10 -> 3" in out
    code, _, err = run(capsys, "train", "simple-cnn", "--data", data, "--classes", "4",
                       "--epochs", "1", "--out", tmp_path / "b.cnnproj")
    assert code == 2
    assert_one_line_error(err, "Dense", "3 classes")


@pytest.mark.parametrize("value, fragment", [("many", "'auto' or a number"), ("1", "at least 2, got 1")])
def test_bad_classes_values_exit_2_naming_the_value(capsys, tmp_path, value, fragment):
    data = _three_class_npz(tmp_path / "three.npz")
    code, _, err = run(capsys, "train", "simple-cnn", "--data", data, "--classes", value,
                       "--out", tmp_path / "x.cnnproj")
    assert code == 2
    assert_one_line_error(err, "--classes", fragment)


def test_a_trained_project_is_not_silently_refitted(capsys, tmp_path):
    data, first = _three_class_npz(tmp_path / "three.npz"), tmp_path / "r.cnnproj"
    assert run(capsys, "train", "simple-cnn", "--data", data, "--classes", "auto", "--epochs", "1",
               "--out", first)[0] == 0
    code, _, err = run(capsys, "train", first, "--data", data, "--classes", "5", "--epochs", "1",
                       "--out", tmp_path / "again.cnnproj")
    assert code == 2
    assert_one_line_error(err, "--classes 5", "trained weights would not fit")


def test_fit_classes_keeps_a_fitting_network_and_names_a_missing_dense():
    spec = get_template("simple-cnn")
    same, note = fit_classes(spec, _last_dense_units(spec))
    assert same is spec and note is None
    no_dense = spec.with_layers([layer for layer in spec.layers if layer.type != "Dense"])
    with pytest.raises(ValueError, match="no Dense layer"):
        fit_classes(no_dense, 3)


def test_a_mismatch_without_the_flag_names_classes_auto(capsys, tmp_path):
    """QA of issue 13: the error said only 'set its units to 3', which a template cannot be from the CLI."""
    data = _three_class_npz(tmp_path / "three.npz")
    code, _, err = run(capsys, "train", "simple-cnn", "--data", data, "--epochs", "1", "--out", tmp_path / "x.cnnproj")
    assert code == 2
    assert_one_line_error(err, "Dense", "10 class scores", "3 classes", "--classes auto")
