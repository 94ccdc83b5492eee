"""A branching network's project saves and reopens with its wiring and weights."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.model import build_network, get_template
from cnnstudio.project import Project, load_project, save_project
from cnnstudio.project.weights import check_weights, required_shapes


def test_a_graph_project_round_trips_with_its_weights(tmp_path):
    spec = get_template("mini-resnet")
    net = build_network(spec, seed=3)
    weights = net.get_weights()
    check_weights(spec, weights)   # merges' inputs are followed, not the previous layer's
    # the projection shortcut reads the first block's output, not the layer before it
    proj = next(i for i, layer in enumerate(spec.layers) if layer.inputs is not None and layer.type == "Conv2D")
    assert required_shapes(spec)[f"{proj}.W"] == (32, 16, 1, 1)
    path = tmp_path / "res.cnnproj"
    save_project(path, Project(spec, weights=weights))
    back = load_project(path)
    assert back.network == spec and not back.network.is_chain
    for key, value in weights.items():
        np.testing.assert_array_equal(back.weights[key], value)
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    again = build_network(back.network)
    again.set_weights(back.weights)
    np.testing.assert_allclose(again.forward(x), net.forward(x), rtol=1e-6)


@pytest.mark.parametrize("change", ["pool_too_big", "softmax_in_the_middle"])
def test_a_network_being_edited_saves_and_opens_with_its_mistake(tmp_path, change):
    """The editor never blocks a shape mistake (impossible values are refused as typed), so the
    file must keep it: opening refuses nothing here."""
    from cnnstudio.model import LayerSpec, infer_shapes

    spec = get_template("simple-cnn")
    layers = list(spec.layers)
    if change == "pool_too_big":
        layers.insert(3, LayerSpec("MaxPool2D", {"pool_size": [40, 40]}))
    else:
        layers.append(LayerSpec("Dropout"))
    spec = spec.with_layers(layers)
    assert infer_shapes(spec).problem is not None
    path = tmp_path / "wip.cnnproj"
    save_project(path, Project(spec))
    assert load_project(path).network == spec
