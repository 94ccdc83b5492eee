"""One hyperparameter's path from an edit to the engine: validated once, by the layer."""

from __future__ import annotations

import pytest

import cnnstudio.engine.layers.base as base
from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.model import Document, SetLayerConfig, build_network, get_template, infer_shapes


@pytest.fixture
def validations(monkeypatch):
    """The layer types whose schema validation ran, in order."""
    seen: list[str] = []
    original = base.bind

    def counting(layer_type, schema, args, kwargs):
        seen.append(layer_type)
        return original(layer_type, schema, args, kwargs)

    monkeypatch.setattr(base, "bind", counting)
    return seen


def test_an_edit_is_validated_once_and_not_again_by_shapes_summary_or_build(validations):
    doc = Document(get_template("lenet5"))
    validations.clear()
    doc.execute(SetLayerConfig(0, "stride", [2, 2]))
    assert validations == ["Conv2D"]
    report = doc.report
    summary = doc.spec.layers[0].summary()
    net = build_network(doc.spec)
    assert validations == ["Conv2D"]
    assert report.layers[0].output_shape == (6, 14, 14) and "stride 2" in summary
    assert net.layers[0].stride == (2, 2)


def test_networks_built_from_one_spec_do_not_share_layer_objects():
    spec = get_template("simple-cnn")
    a, b = build_network(spec), build_network(spec)
    assert all(x is not y for x, y in zip(a.layers, b.layers))
    assert a.layers[0].params["W"] is not b.layers[0].params["W"]
    # the spec's own description was never built
    assert not hasattr(spec.layers[0].check(), "params")


def test_an_impossible_value_is_reported_by_shape_inference_with_the_layers_own_words():
    doc = Document(get_template("simple-cnn"))
    with pytest.raises(LayerConfigError, match="filters must be between 1 and 8192, got 0"):
        doc.execute(SetLayerConfig(0, "filters", 0))
    spec = doc.spec.with_layers([doc.spec.layers[0].with_config(filters=0)] + doc.spec.layers[1:])
    problem = infer_shapes(spec).problem
    assert problem is not None and problem.field == "filters" and "between 1 and 8192" in problem.message
