"""Issue 6: 3-channel input works end to end (shape inference, training, saving, activations)."""

import numpy as np

from cnnstudio.data import Dataset, split
from cnnstudio.model import LayerSpec, NetworkSpec, TrainingConfig, infer_shapes
from cnnstudio.project import session
from cnnstudio.project.file import load_project, save_project


def _colour_net(filters: int = 4) -> NetworkSpec:
    return NetworkSpec("colour", (12, 12, 3), [
        LayerSpec("Conv2D", {"filters": filters, "kernel_size": [3, 3], "padding": "same"}),
        LayerSpec("ReLU", {}), LayerSpec("MaxPool2D", {}), LayerSpec("Flatten", {}),
        LayerSpec("Dense", {"units": 2}), LayerSpec("Softmax", {}),
    ])


def _red_vs_blue(n: int = 64, seed: int = 0) -> Dataset:
    """Colour is the only cue: class 0 images are reddish, class 1 bluish (same brightness)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.integers(0, 60, size=(n, 12, 12, 3))
    x[y == 0, :, :, 0] += 150
    x[y == 1, :, :, 2] += 150
    return Dataset("red-vs-blue", x.astype(np.uint8), y.astype(np.int64), ["red", "blue"], source="test")


def test_a_3x3_filter_on_3_channels_has_28_parameters():
    report = infer_shapes(_colour_net(filters=1))
    assert report.layers[0].params == 3 * 3 * 3 + 1 == 28


def test_colour_network_trains_saves_and_shows_colour_activations(tmp_path):
    train, val = split(_red_vs_blue(), 0.25, seed=0)
    config = TrainingConfig(epochs=3, batch_size=8, lr=0.01, seed=1)
    run = session.make_trainer(_colour_net(), train, val, config, threads=1)
    epochs = [r for r in run.trainer.run() if type(r).__name__ == "EpochReport"]
    assert len(epochs) == 3 and epochs[-1].val_acc == 1.0  # colour alone separates the classes

    path = tmp_path / "colour.cnnproj"
    save_project(path, run.project({"epochs": []}))
    loaded = load_project(path)
    assert loaded.network.input.channels == 3
    assert loaded.weights["0.W"].shape == (4, 3, 3, 3)  # (filters, C_in, kh, kw)

    net = session.build_with_weights(loaded.network, loaded.weights)
    acts = net.forward_activations(val.x[:1].astype(np.float32).transpose(0, 3, 1, 2) / 255)
    assert acts[0].shape == (1, 4, 12, 12)
