"""Branching networks in the model: wiring rules with typed errors, shapes across merges, files."""

from __future__ import annotations

import json

import pytest

from cnnstudio.model import LayerSpec, NetworkSpec, infer_shapes, validate
from cnnstudio.model.errors import (GraphCycleError, GraphInputError, GraphOrderError, GraphOutputError,
                                    MergeError, ModelFormatError)
from cnnstudio.model.spec import INPUT


def L(type_name, inputs=None, **config):
    return LayerSpec(type_name, config, None if inputs is None else tuple(inputs))


def head():
    return [L("GlobalAveragePool2D"), L("Dense", units=10), L("Softmax")]


def residual(filters_b=8):
    """conv(8) - relu - conv(8) - conv(b) - add(relu, conv b) - GAP - dense - softmax."""
    return NetworkSpec("res", (14, 14, 1), [
        L("Conv2D", filters=8, padding="same"),            # 1
        L("ReLU"),                                          # 2
        L("Conv2D", filters=8, padding="same"),            # 3
        L("Conv2D", filters=filters_b, padding="same"),    # 4
        L("Add", inputs=[1, 3]),                            # 5: relu (2) + conv (4)
    ] + head())


def test_a_residual_block_infers_shapes_across_the_merge():
    report = infer_shapes(residual())
    assert report.ok, report.problem
    add = report.layers[4]
    assert add.sources == (1, 3) and add.input_shapes == ((8, 14, 14), (8, 14, 14))
    assert add.output_shape == (8, 14, 14)
    assert report.output_shape == (10,)
    # the receptive field where branches meet is the wider branch's
    assert add.receptive_field == report.layers[3].receptive_field == (7, 7)


def test_add_with_different_channels_names_both_branches_and_a_concrete_fix():
    with pytest.raises(MergeError) as info:
        validate(residual(filters_b=16))
    p = info.value.problem
    assert p.index == 4 and p.kind == "merge_mismatch"
    assert p.message == ("layer 5 Add: inputs 14x14x8 (from layer 2 ReLU) and 14x14x16 (from layer 4 Conv2D) "
                         "differ in channels")
    assert p.fix == "set layer 4 Conv2D's filters to 8, or insert a 1x1 Conv2D with 16 filters after layer 2"


def test_add_with_different_sizes_suggests_a_strided_projection():
    spec = NetworkSpec("res", (14, 14, 1), [
        L("Conv2D", filters=8, padding="same"), L("ReLU"),
        L("Conv2D", filters=8, stride=2, padding="same"),
        L("Add", inputs=[1, 2])] + head())
    p = infer_shapes(spec).problem
    assert p.kind == "merge_mismatch" and "differ in height and width" in p.message
    assert "give the branch from layer 2 ReLU a 1x1 Conv2D with 8 filters and stride 2" in p.fix


def test_concatenate_stacks_channels_of_parallel_branches():
    spec = NetworkSpec("inc", (12, 12, 1), [
        L("Conv2D", filters=4, kernel_size=1),                                  # 1
        L("Conv2D", inputs=[INPUT], filters=6, kernel_size=3, padding="same"),  # 2
        L("MaxPool2D", inputs=[INPUT], pool_size=3, stride=1),                  # 3: 10x10
        L("Concatenate", inputs=[0, 1]),                                        # 4
    ] + head())
    report = infer_shapes(spec)
    assert report.layers[3].output_shape == (10, 12, 12)
    assert [p.kind for p in report.problems] == ["multiple_outputs"]   # layer 3 feeds nothing
    bad = spec.with_layers(spec.layers[:3] + [L("Concatenate", inputs=[0, 1, 2])] + head())
    p = infer_shapes(bad).problem
    assert p.kind == "merge_mismatch"
    assert p.message == ("layer 4 Concatenate: inputs 12x12x4 (from layer 1 Conv2D) and 10x10x1 "
                         "(from layer 3 MaxPool2D) differ in height and width")
    assert "use the same strides, padding and pooling on both branches" in p.fix


@pytest.mark.parametrize("layers,error,kind,text", [
    ([L("Conv2D", filters=2), L("ReLU", inputs=[2]), L("Flatten", inputs=[1]), L("Dense", units=3), L("Softmax")],
     GraphCycleError, "cycle", "layers 2 -> 3 -> 2 read each other in a circle"),
    ([L("Conv2D", filters=2, inputs=[1]), L("Flatten", inputs=[INPUT]), L("Dense", units=3), L("Softmax")],
     GraphOrderError, "forward_reference", "layer 1 Conv2D: reads layer 2 Flatten, which comes after it"),
    ([L("Flatten", inputs=[7]), L("Dense", units=3), L("Softmax")],
     GraphInputError, "bad_input", "layer 1 Flatten: reads layer 8, which does not exist"),
    ([L("Conv2D", filters=2), L("Conv2D", filters=2, inputs=[INPUT]), L("ReLU", inputs=[0, 1]), L("Flatten"),
      L("Dense", units=3), L("Softmax")],
     GraphInputError, "too_many_inputs", "layer 3 ReLU: reads layer 1 Conv2D and layer 2 Conv2D, but it takes one"),
    ([L("Conv2D", filters=2), L("Flatten", inputs=[INPUT]), L("Dense", units=3), L("Softmax")],
     GraphOutputError, "multiple_outputs", "layer 1 Conv2D: nothing reads its output"),
    ([L("Conv2D", filters=2), L("Add", inputs=[0]), L("Flatten"), L("Dense", units=3), L("Softmax")],
     MergeError, "merge_single_input", "layer 2 Add: merges two or more inputs but reads only layer 1 Conv2D"),
])
def test_each_wiring_mistake_is_a_typed_error_with_its_message(layers, error, kind, text):
    spec = NetworkSpec("bad", (6, 6, 1), layers)
    problems = infer_shapes(spec).problems
    assert any(p.kind == kind and text in p.message and p.fix for p in problems), problems
    with pytest.raises(error):
        validate(spec)


def test_a_merge_dropped_into_a_chain_explains_itself():
    spec = NetworkSpec("c", (6, 6, 1), [L("Conv2D", filters=2), L("Add"), L("Flatten"), L("Dense", units=3),
                                        L("Softmax")])
    with pytest.raises(MergeError, match="connect a second branch to it"):
        validate(spec)


def test_chains_are_written_as_format_1_and_graphs_as_format_2_and_both_read_back():
    chain = NetworkSpec("c", (6, 6, 1), [L("Flatten"), L("Dense", units=3), L("Softmax")])
    assert chain.to_dict()["format_version"] == 1 and "inputs" not in chain.to_dict()["layers"][0]
    graph = residual()
    data = json.loads(graph.to_json())
    assert data["format_version"] == 2 and data["layers"][4]["inputs"] == [1, 3]
    assert NetworkSpec.from_json(graph.to_json()) == graph
    assert NetworkSpec.from_json(chain.to_json()) == chain


def test_a_network_file_written_by_the_previous_release_opens_unchanged():
    # written by CNN Studio 0.1.0 (format_version 1, before branching networks)
    text = ('{"format_version": 1, "name": "simple-cnn", "input": {"height": 28, "width": 28, "channels": 1}, '
            '"layers": [{"type": "Conv2D", "config": {"filters": 8, "kernel_size": [3, 3], "stride": [1, 1], '
            '"padding": "valid", "use_bias": true}}, {"type": "ReLU", "config": {}}, {"type": "MaxPool2D", '
            '"config": {"pool_size": [2, 2], "stride": [2, 2]}}, {"type": "Flatten", "config": {}}, '
            '{"type": "Dense", "config": {"units": 10, "use_bias": true}}, {"type": "Softmax", "config": {}}]}')
    spec = NetworkSpec.from_json(text)
    assert spec.is_chain and [spec.sources(i) for i in range(3)] == [(INPUT,), (0,), (1,)]
    written = json.loads(spec.to_json())
    assert written["format_version"] == 1 and written["layers"] == json.loads(text)["layers"]
    assert infer_shapes(spec).total_params == 13_610


@pytest.mark.parametrize("inputs,message", [
    ("1", "must be a list of layer numbers"), ([], "inputs must be a list of layer numbers"),
    ([True], "inputs must be a list"), ([-2], "inputs must be a list"),
])
def test_malformed_inputs_in_a_file_are_refused_with_the_field_path(inputs, message):
    data = json.loads(residual().to_json())
    data["layers"][4]["inputs"] = inputs
    with pytest.raises(ModelFormatError, match=message) as info:
        NetworkSpec.from_dict(data)
    assert info.value.path.startswith("layers[4].inputs")


def test_format_1_cannot_name_inputs():
    data = json.loads(residual().to_json())
    data["format_version"] = 1
    with pytest.raises(ModelFormatError, match="format_version 1 networks are chains"):
        NetworkSpec.from_dict(data)
