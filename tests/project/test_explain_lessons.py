"""Lessons: the shipped projects reproduce the texts' worked examples, through the engine's explain."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.explain import Explainer
from cnnstudio.model.shapes import infer_shapes
from cnnstudio.model.spec import LayerSpec
from cnnstudio.model.templates import get_template
from cnnstudio.project import lessons, session
from cnnstudio.project.file import load_project


def explainer(item):
    project = lessons.load_project(item)
    net = session.build_with_weights(project.network, project.weights)
    x = project.network.input.prepare(item.image()[None])[0]
    return Explainer(net, x)


def test_menu_order_and_titles():
    assert [item.title for item in lessons.lessons()] == [
        "Convolution by hand", "Edge detection", "Counting parameters", "Pooling", "MLP versus CNN"]


def test_convolution_by_hand_gives_149_from_the_patch_and_kernel():
    item = lessons.lesson("convolution-by-hand")
    e = explainer(item).cell(0, (0, 0, 0))
    assert e["value"] == 149 == e["total"]
    assert e["patch"] == [[[3, 1, 2], [5, 8, 7], [6, 9, 14]]] and e["kernel"] == [[[2, 1, 0], [3, 4, 1], [0, 2, 5]]]
    assert "149" in item.text[0]
    ex = explainer(item)
    assert ex.outputs[0][0].tolist() == [[149, 95], [117, 153]]


def test_edge_detection_sobel_first_row_is_3_27_16_26():
    item = lessons.lesson("edge-detection")
    ex = explainer(item)
    assert [ex.cell(0, (0, 0, j))["value"] for j in range(4)] == [3, 27, 16, 26]
    assert "3, 27, 16, 26" in item.text[1]
    assert item.frozen == [0] and lessons.load_project(item).network.layers[0].frozen


def test_counting_parameters_28_then_56():
    item = lessons.lesson("counting-parameters")
    spec = lessons.network_spec(item)
    assert infer_shapes(spec).total_params == 28
    two = spec.with_layers([spec.layers[0].with_config(filters=2)])
    assert infer_shapes(two).total_params == 56
    e = explainer(item).cell(0, (0, 3, 3))
    assert len(e["patch"]) == 3 and len(e["sum"]) == 3   # one patch and one sum per colour channel
    assert abs(sum(e["sum"]) + e["bias"] - e["value"]) < 1e-3


@pytest.mark.parametrize("pool", ["MaxPool2D", "AvgPool2D", "SumPool2D"])
def test_pooling_max_average_and_sum_of_the_same_windows(pool):
    item = lessons.lesson("pooling")
    project = lessons.load_project(item)
    spec = project.network.with_layers([LayerSpec(pool, {"pool_size": [2, 2]})])
    ex = Explainer(session.build_network(spec), spec.input.prepare(item.image()[None])[0])
    assert ex.outputs[0][0].tolist() == item.source["pools"][pool]
    e = ex.cell(0, (0, 1, 1))
    assert e["window"] == [[1, 0], [0, 4]] and e["total"] == item.source["pools"][pool][1][1]


def test_mlp_versus_cnn_quotes_the_templates_counts():
    item = lessons.lesson("mlp-versus-cnn")
    mlp, lenet = (infer_shapes(get_template(n)).total_params for n in ("mlp", "lenet5"))
    assert f"{mlp:,}" in item.text[0] and f"{lenet:,}" in item.text[1]
    assert mlp > lenet


def test_shipped_files_match_the_source(tmp_path):
    written = lessons.write_files(tmp_path)
    for item in lessons.lessons():
        shipped, fresh = lessons.load_project(item), load_project(tmp_path / f"{item.slug}.cnnproj")
        assert shipped.network == fresh.network
        assert (shipped.weights is None) == (fresh.weights is None)
        for k, v in (fresh.weights or {}).items():
            np.testing.assert_array_equal(shipped.weights[k], v)
        assert shipped.metadata["notes"] == fresh.metadata["notes"]
        if item.image_path is not None:
            assert item.image_path.read_bytes() == (tmp_path / f"{item.slug}.png").read_bytes()
            image, _ = session.load_image_file(item.image_path, item.image().shape)
            np.testing.assert_array_equal(image, item.image())
            np.testing.assert_array_equal(shipped.user_dataset.x[0], item.image())
    assert len(written) == 9


def test_unknown_lesson_names_the_lessons():
    with pytest.raises(lessons.LessonError, match="convolution-by-hand, edge-detection"):
        lessons.lesson("nope")
