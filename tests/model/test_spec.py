"""NetworkSpec: JSON round-trip, value semantics, and refusals that name the field path."""

import json

import pytest

from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.model import TEMPLATES, InputSpec, LayerSpec, ModelFormatError, NetworkSpec, get_template


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_round_trips_through_json(name):
    spec = get_template(name)
    text = spec.to_json()
    back = NetworkSpec.from_json(text)
    assert back == spec
    assert json.loads(text)["format_version"] == (1 if spec.is_chain else 2)   # chains stay readable by 0.1
    assert NetworkSpec.from_dict(spec.to_dict()) == spec


def test_configs_are_normalised_so_equal_meaning_compares_equal():
    a = LayerSpec("Conv2D", {"kernel_size": 3, "filters": 8})
    b = LayerSpec("Conv2D", {"kernel_size": [3, 3], "stride": (1, 1)})
    assert a == b and hash(a) == hash(b)
    assert LayerSpec("Conv2D", {"filters": 9}) != a
    assert NetworkSpec("n", (28, 28, 1), [a]) == NetworkSpec("n", InputSpec(28, 28, 1), [b])


def test_copy_is_independent():
    spec = get_template("lenet5")
    other = spec.copy()
    assert other == spec
    other.layers[0].config["filters"] = 99
    assert spec.layers[0].config["filters"] == 6
    assert other != spec


def test_invalid_value_is_kept_for_shape_inference_but_check_raises():
    layer = LayerSpec("Conv2D", {"filters": 0})
    assert layer.config["filters"] == 0 and not layer.is_valid
    with pytest.raises(LayerConfigError, match="filters"):
        layer.check()


def _doc(**changes):
    data = get_template("lenet5").to_dict()
    data.update(changes)
    return data


def test_newer_format_version_is_refused_with_both_versions():
    with pytest.raises(ModelFormatError, match=r"newer CNN Studio \(format_version 7\); this version reads format_version 1"):
        NetworkSpec.from_dict(_doc(format_version=7))


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_bad_format_versions_are_refused(version):
    with pytest.raises(ModelFormatError) as info:
        NetworkSpec.from_dict(_doc(format_version=version))
    assert info.value.path == "format_version"


def test_unknown_layer_type_names_it_lists_known_and_suggests_nearest():
    data = _doc()
    data["layers"][3]["type"] = "Conv2d"
    with pytest.raises(ModelFormatError) as info:
        NetworkSpec.from_dict(data)
    msg = str(info.value)
    assert info.value.path == "layers[3].type"
    assert "'Conv2d'" in msg and "Did you mean 'Conv2D'?" in msg and "MaxPool2D" in msg and "Softmax" in msg


def test_long_spelling_gets_a_suggestion():
    with pytest.raises(ModelFormatError, match="Did you mean 'MaxPool2D'"):
        LayerSpec("maxpooling")


def test_wrong_value_type_names_the_field_path():
    data = _doc()
    data["layers"][3]["config"]["filters"] = "sixteen"
    with pytest.raises(ModelFormatError) as info:
        NetworkSpec.from_dict(data)
    assert info.value.path == "layers[3].config.filters"
    assert "'sixteen'" in str(info.value) and "whole number" in str(info.value)


def test_unknown_hyperparameter_names_the_path_and_the_real_ones():
    data = _doc()
    data["layers"][0]["config"]["filter"] = 6
    with pytest.raises(ModelFormatError) as info:
        NetworkSpec.from_dict(data)
    assert info.value.path == "layers[0].config.filter"
    assert "filters" in str(info.value)


def test_missing_hyperparameters_take_defaults():
    data = _doc()
    data["layers"][1]["config"] = {}
    data["layers"][0]["config"] = {"filters": 6}
    spec = NetworkSpec.from_dict(data)
    assert spec.layers[0].config["kernel_size"] == [3, 3]


@pytest.mark.parametrize("mutate, path", [
    (lambda d: d.pop("name"), "name"),
    (lambda d: d.update(extra=1), "extra"),
    (lambda d: d["input"].pop("channels"), "input.channels"),
    (lambda d: d["input"].update(height=0), "input.height"),
    (lambda d: d["input"].update(width=2.5), "input.width"),
    (lambda d: d["layers"][2].pop("config"), "layers[2].config"),
    (lambda d: d["layers"][2].update(name="x"), "layers[2].name"),
    (lambda d: d.update(layers={}), "layers"),
    (lambda d: d.update(name=3), "name"),
    (lambda d: d["layers"].__setitem__(1, "ReLU"), "layers[1]"),
])
def test_structural_faults_name_the_field(mutate, path):
    data = _doc()
    mutate(data)
    with pytest.raises(ModelFormatError) as info:
        NetworkSpec.from_dict(data)
    assert info.value.path == path
    assert str(info.value).startswith(path)


def test_not_json_is_refused_with_position():
    with pytest.raises(ModelFormatError, match="line 1"):
        NetworkSpec.from_json("{nope")


def test_input_spec_refuses_impossible_sizes():
    with pytest.raises(LayerConfigError, match="channels"):
        InputSpec(28, 28, 0)
    assert InputSpec(32, 24, 3).shape == (3, 32, 24)
    assert InputSpec(32, 24, 3).display() == "32 x 24 x 3"
