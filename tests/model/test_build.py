"""build_network: a spec becomes an engine Network with the inferred shapes and parameter counts."""

import numpy as np
import pytest

from cnnstudio.model import LayerSpec, NetworkError, NetworkSpec, get_template, infer_shapes
from cnnstudio.model.build import build_network, build_optimizer, build_schedule
from cnnstudio.model.training_config import TrainingConfig


@pytest.mark.parametrize("name", ["simple-cnn", "lenet5", "mlp"])
def test_built_network_matches_shape_inference(name):
    spec = get_template(name)
    net = build_network(spec, seed=1)
    report = infer_shapes(spec)
    assert net.param_count() == report.total_params
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    probs = net.forward(x)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    acts = net.forward_activations(x)
    assert [a.shape[1:] for a in acts] == [layer.output_shape for layer in report.layers]


def test_same_seed_same_weights():
    a = build_network(get_template("simple-cnn"), seed=3).get_weights()
    b = build_network(get_template("simple-cnn"), seed=3).get_weights()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_invalid_network_is_refused_with_the_fix():
    spec = NetworkSpec("bad", (28, 28, 1), [LayerSpec("Conv2D"), LayerSpec("Dense"), LayerSpec("Softmax")])
    with pytest.raises(NetworkError, match="insert Flatten before it"):
        build_network(spec)


def test_optimizer_and_schedule_from_config():
    opt = build_optimizer(TrainingConfig(optimizer="sgd", momentum=0.5, nesterov=True))
    assert opt.name == "sgd" and opt.momentum == 0.5
    assert build_optimizer(TrainingConfig()).name == "adam"
    assert build_schedule(TrainingConfig(lr=0.02, schedule="constant")).lr_at(5) == pytest.approx(0.02)
