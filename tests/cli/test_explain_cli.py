"""cnnstudio explain: one cell's arithmetic from a project and an image, as text or JSON."""

from __future__ import annotations

import json

import numpy as np
from clihelpers import assert_one_line_error, run

from cnnstudio.project import lessons
from cnnstudio.project.file import Project, save_project


def lesson_args(slug):
    item = lessons.lesson(slug)
    return item.project_path, item.image_path


def test_text_shows_the_patch_kernel_products_and_149(capsys):
    proj, png = lesson_args("convolution-by-hand")
    code, out, err = run(capsys, "explain", proj, png, "--layer", 1, "--at", "0,0,0")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "layer 1 Conv2D, cell (0, 0, 0) = 149"
    assert any(l.split() == ["6", "9", "14", "0", "2", "5", "0", "18", "70"] for l in lines)
    assert lines[-1] == "sum(patch x kernel) = 149; + bias 0 = 149"


def test_json_keys_and_values_for_conv(capsys):
    proj, png = lesson_args("edge-detection")
    code, out, _ = run(capsys, "explain", proj, png, "--layer", "1", "--at", "0,0,1", "--json")
    assert code == 0
    e = json.loads(out)
    assert {"layer", "type", "at", "value", "patch", "kernel", "bias", "sum"} <= set(e)
    assert (e["layer"], e["type"], e["at"], e["value"], e["bias"], e["sum"]) == (1, "Conv2D", [0, 0, 1], 27, 0, [27])
    assert e["kernel"] == [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]
    assert np.array(e["patch"]).shape == (1, 3, 3)
    assert e["input_window"] == {"rows": [0, 2], "cols": [1, 3]}    # the 3x3 patch, on the image itself


def test_json_for_pooling_and_dense(capsys, tmp_path):
    proj, png = lesson_args("pooling")
    _, out, _ = run(capsys, "explain", proj, png, "--layer", "1", "--at", "0,0,0", "--json")
    e = json.loads(out)
    assert (e["rule"], e["window"], e["value"]) == ("max", [[1, 3], [4, 6]], 6)
    # a Dense layer of a project of one's own
    from cnnstudio.model.spec import InputSpec, LayerSpec, NetworkSpec

    spec = NetworkSpec("tiny", InputSpec(2, 2, 1, scale=1.0), [LayerSpec("Flatten"), LayerSpec("Dense", {"units": 3})])
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    save_project(tmp_path / "t.cnnproj", Project(spec, {"1.W": w, "1.b": np.array([1, 2, 3], np.float32)}))
    from PIL import Image

    Image.fromarray(np.array([[1, 2], [3, 4]], np.uint8)).save(tmp_path / "t.png")
    code, out, err = run(capsys, "explain", tmp_path / "t.cnnproj", tmp_path / "t.png", "--layer", "2", "--at", "2",
                         "--json")
    assert code == 0, err
    e = json.loads(out)
    assert (e["inputs"], e["weights"], e["bias"]) == ([1, 2, 3, 4], [2, 5, 8, 11], 3)
    assert e["value"] == 1 * 2 + 2 * 5 + 3 * 8 + 4 * 11 + 3
    assert e["input_window"] is None       # a flat cell has no window on the image
    assert e["at"] == [2] and e["top"][0]["index"] == 3


def test_bad_layer_and_cell_are_one_line_errors(capsys):
    proj, png = lesson_args("convolution-by-hand")
    code, _, err = run(capsys, "explain", proj, png, "--layer", 2, "--at", "0,0,0")
    assert code == 2
    assert_one_line_error(err, "--layer 2 does not exist", "layers 1 to 1")
    code, _, err = run(capsys, "explain", proj, png, "--layer", 1, "--at", "0,2,0")
    assert code == 2
    assert_one_line_error(err, "layer 1 (Conv2D) outputs 1 channel x 2 rows x 2 columns", "row 2 is outside 0..1")
    code, _, err = run(capsys, "explain", proj, png, "--layer", 1, "--at", "x")
    assert code == 2
    assert_one_line_error(err, "not whole numbers")


def test_untrained_project_is_refused(capsys):
    item = lessons.lesson("mlp-versus-cnn")
    code, _, err = run(capsys, "explain", item.project_path, lessons.lesson("pooling").image_path,
                       "--layer", 1, "--at", "0,0,0")
    assert code == 2
    assert_one_line_error(err, "has no trained weights")


def test_text_of_an_add_cell_names_where_each_value_came_from():
    """`explain` on a mini-resnet Add printed only '0.1042 + 0 = 0.1042': not which layers those were."""
    from cnnstudio.cli.explain import text_lines
    from cnnstudio.engine.explain import Explainer
    from cnnstudio.engine.layers.explaining import fmt
    from cnnstudio.model.build import build_network
    from cnnstudio.model.templates import get_template

    net = build_network(get_template("mini-resnet"), seed=0)
    image = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    e = Explainer(net, image).cell(9, (4, 6, 6))   # layer 10: Add of layers 9 (the branch) and 4 (the shortcut)
    lines = text_lines(e)
    assert e["reads"] == [9, 4]
    assert f"layer 9, cell (4, 6, 6): {fmt(e['values'][0])}" in lines
    assert f"layer 4, cell (4, 6, 6): {fmt(e['values'][1])}" in lines
