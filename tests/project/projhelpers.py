"""Helpers shared by the project tests (a unique module name: tests/ has no packages)."""

import numpy as np

from cnnstudio.model.spec import LayerSpec, NetworkSpec
from cnnstudio.project.weights import required_shapes


def small_spec() -> NetworkSpec:
    """simple-cnn written out here so these tests do not depend on the template module."""
    return NetworkSpec("small", (28, 28, 1), [
        LayerSpec("Conv2D", {"filters": 8, "kernel_size": [3, 3]}), LayerSpec("ReLU"),
        LayerSpec("MaxPool2D", {"pool_size": [2, 2]}),
        LayerSpec("Flatten"), LayerSpec("Dense", {"units": 10}), LayerSpec("Softmax")])


def random_weights(spec, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in required_shapes(spec).items()}
