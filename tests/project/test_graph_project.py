"""A branching network's project saves and reopens with its wiring and weights."""

from __future__ import annotations

import numpy as np

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
