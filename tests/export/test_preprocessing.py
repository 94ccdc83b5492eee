"""The Input block's preprocessing: recorded, validated, saved, and applied by training, prediction,
the drawing canvas's path and every export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnstudio.data import Dataset, to_float_nchw
from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.model import Document, build_network
from cnnstudio.model.commands import SetInput, SetPreprocessing
from cnnstudio.model.errors import ModelFormatError
from cnnstudio.model.spec import DEFAULT_SCALE, InputSpec, LayerSpec, NetworkSpec
from cnnstudio.model.templates import get_template
from cnnstudio.project import session
from cnnstudio.project.file import Project, load_project, save_project

MEAN, STD = [0.5, 0.25, 0.125], [0.2, 0.3, 0.4]


def colour_spec() -> NetworkSpec:
    return NetworkSpec("colour", InputSpec(6, 6, 3, 1 / 255, MEAN, STD),
                       [LayerSpec("Conv2D", {"filters": 2}), LayerSpec("ReLU"), LayerSpec("Flatten"),
                        LayerSpec("Dense", {"units": 3}), LayerSpec("Softmax")])


def images(n=4, hwc=(6, 6, 3)):
    return np.random.default_rng(0).integers(0, 256, (n, *hwc)).astype(np.uint8)


def test_default_is_exactly_the_old_scaling():
    x = images()
    inp = InputSpec(6, 6, 3)
    assert inp.scale == DEFAULT_SCALE == 1 / 255 and inp.mean is None and not inp.normalized
    np.testing.assert_array_equal(inp.prepare(x), to_float_nchw(x))   # bit for bit


def test_mean_and_std_per_channel():
    x = images()
    got = InputSpec(6, 6, 3, 1 / 255, MEAN, STD).prepare(x)
    want = (x.transpose(0, 3, 1, 2).astype(np.float64) / 255 - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got.dtype == np.float32


@pytest.mark.parametrize("kwargs, field, requirement", [
    ({"scale": 0}, "scale", "a number above 0"),
    ({"scale": float("nan")}, "scale", "a finite number"),
    ({"std": [1, 0, 1]}, "std", "a number above 0"),
    ({"mean": [0.1, 0.2]}, "mean", "one number per channel (3)"),
])
def test_impossible_preprocessing_is_refused_quoting_the_value(kwargs, field, requirement):
    with pytest.raises(LayerConfigError) as info:
        InputSpec(6, 6, 3, **kwargs)
    assert info.value.field == field and requirement in str(info.value)


def test_one_of_mean_or_std_and_one_value_for_all_channels():
    inp = InputSpec(6, 6, 3, 1.0, mean=0.5)
    assert inp.mean == (0.5, 0.5, 0.5) and inp.std == (1.0, 1.0, 1.0)


def test_saved_in_the_network_json_and_the_project(tmp_path):
    spec = colour_spec()
    data = spec.to_dict()
    assert data["input"] == {"height": 6, "width": 6, "channels": 3, "scale": 1 / 255, "mean": MEAN, "std": STD}
    assert NetworkSpec.from_dict(json.loads(json.dumps(data))) == spec
    save_project(tmp_path / "p.cnnproj", Project(spec))
    assert load_project(tmp_path / "p.cnnproj").network.input == spec.input


def test_old_networks_without_preprocessing_load_with_1_over_255():
    old = {"format_version": 1, "name": "old", "input": {"height": 28, "width": 28, "channels": 1},
           "layers": [{"type": "Flatten", "config": {}}, {"type": "Dense", "config": {"units": 10}}]}
    assert NetworkSpec.from_dict(old).input == InputSpec(28, 28, 1, 1 / 255)


def test_a_bad_stored_value_names_the_field():
    bad = colour_spec().to_dict()
    bad["input"]["std"] = [1, 1, -1]
    with pytest.raises(ModelFormatError, match=r"input\.std"):
        NetworkSpec.from_dict(bad)


def test_edits_are_undoable_and_a_resize_keeps_the_preprocessing():
    doc = Document(get_template("simple-cnn"))
    doc.execute(SetPreprocessing(1.0, [10.0], [50.0]))
    assert doc.spec.input.scale == 1.0 and doc.spec.input.mean == (10.0,)
    assert doc.undo_text == "Undo Change input preprocessing to pixels x 1, - (10), / (50)"
    doc.execute(SetInput(20, 20, 1))
    assert doc.spec.input.mean == (10.0,) and doc.spec.input.height == 20
    doc.execute(SetInput(20, 20, 3))   # one value for every channel stays one value per channel
    assert doc.spec.input.mean == (10.0, 10.0, 10.0)
    doc.undo()
    doc.undo()
    doc.undo()
    assert doc.spec.input == get_template("simple-cnn").input


def test_training_and_prediction_apply_it():
    spec = colour_spec()
    rng = np.random.default_rng(1)
    ds = Dataset("d", images(12), rng.integers(0, 3, 12), ["a", "b", "c"])
    from cnnstudio.model import TrainingConfig

    run = session.make_trainer(spec, ds, ds.subset([]), TrainingConfig(epochs=1, batch_size=4), threads=1)
    np.testing.assert_array_equal(run.trainer.x_train, spec.input.prepare(ds.x))
    net = build_network(spec)
    got = session.predict(net, ds.x, input_spec=spec.input)
    np.testing.assert_allclose(got, net.forward(spec.input.prepare(ds.x)), atol=1e-7)
    assert np.abs(got - session.predict(net, ds.x)).max() > 1e-4   # without it, other answers


def test_the_inside_view_path_applies_it():
    from cnnstudio.gui.inside.networks import sample_nchw   # no Qt in this module

    spec = colour_spec()
    x = images(1)
    np.testing.assert_array_equal(sample_nchw(x, 6, 6, 3, spec.input), spec.input.prepare(x))
