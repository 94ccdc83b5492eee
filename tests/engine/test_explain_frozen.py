"""Frozen layers: training leaves their weights alone; the flag is saved with the network and
toggled by one undoable edit from the inspector (tests/gui/test_explain_inspector.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.optimizers import Adam, SGD
from cnnstudio.model import build_network
from cnnstudio.model.spec import InputSpec, LayerSpec, NetworkSpec


def spec(frozen=True):
    return NetworkSpec("f", InputSpec(8, 8, 1), [
        LayerSpec("Conv2D", {"filters": 2, "kernel_size": [3, 3]}, frozen=frozen), LayerSpec("ReLU"),
        LayerSpec("Flatten"), LayerSpec("Dense", {"units": 3}), LayerSpec("Softmax")])


@pytest.mark.parametrize("optimizer", [SGD(momentum=0.9), Adam()], ids=["sgd", "adam"])
def test_training_leaves_a_frozen_layer_alone_and_trains_the_rest(optimizer):
    net = build_network(spec())
    before = net.get_weights()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (16, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 16)
    for _ in range(3):
        net.train_step(x, y, optimizer, 0.05)
    after = net.get_weights()
    np.testing.assert_array_equal(after["0.W"], before["0.W"])
    np.testing.assert_array_equal(after["0.b"], before["0.b"])
    assert not np.array_equal(after["3.W"], before["3.W"])
    assert net.param_count() == 2 * 9 + 2 + 72 * 3 + 3   # frozen parameters still count
    assert [n for n, _, _ in net.parameters()] == ["3.W", "3.b"]


def test_frozen_is_saved_only_when_set_and_round_trips():
    s = spec()
    d = s.to_dict()
    assert d["layers"][0]["frozen"] is True and "frozen" not in d["layers"][3]
    back = NetworkSpec.from_dict(d)
    assert back == s and back.layers[0].frozen and back.layers[0].copy().frozen
    assert back.layers[0].with_config(filters=3).frozen and not spec(False).layers[0].frozen
    assert back != spec(False)
    d["layers"][0]["frozen"] = "yes"
    with pytest.raises(ValueError, match="frozen must be true or false"):
        NetworkSpec.from_dict(d)

