"""Built-in network templates: the classic networks people start from.

``TEMPLATES`` maps each name to a one-line description (in menu order);
``get_template(name)`` returns a fresh ``NetworkSpec``.
"""

from __future__ import annotations

from typing import Callable

from cnnstudio.model.errors import ModelError
from cnnstudio.model.spec import InputSpec, LayerSpec, NetworkSpec


class UnknownTemplateError(ModelError, KeyError):
    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


def conv(filters: int, k: int, padding: str = "valid") -> LayerSpec:
    return LayerSpec("Conv2D", {"filters": filters, "kernel_size": [k, k], "stride": [1, 1], "padding": padding})


def pool(size: int = 2) -> LayerSpec:
    return LayerSpec("MaxPool2D", {"pool_size": [size, size], "stride": [size, size]})


def dense(units: int) -> LayerSpec:
    return LayerSpec("Dense", {"units": units})


def relu() -> LayerSpec:
    return LayerSpec("ReLU")


def flatten() -> LayerSpec:
    return LayerSpec("Flatten")


def softmax() -> LayerSpec:
    return LayerSpec("Softmax")


MNIST = InputSpec(28, 28, 1)


def _simple_cnn() -> list[LayerSpec]:
    return [conv(8, 3), relu(), pool(2), flatten(), dense(10), softmax()]


def _lenet5() -> list[LayerSpec]:
    return [conv(6, 5, "same"), relu(), pool(2), conv(16, 5), relu(), pool(2), flatten(),
            dense(120), relu(), dense(84), relu(), dense(10), softmax()]


def _mini_vgg() -> list[LayerSpec]:
    return [conv(32, 3, "same"), relu(), conv(32, 3, "same"), relu(), pool(2),
            conv(64, 3, "same"), relu(), conv(64, 3, "same"), relu(), pool(2),
            flatten(), dense(128), relu(), LayerSpec("Dropout", {"rate": 0.5}), dense(10), softmax()]


def _vgg16() -> list[LayerSpec]:
    layers: list[LayerSpec] = []
    for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(repeats):
            layers += [conv(filters, 3, "same"), relu()]
        layers.append(pool(2))
    return layers + [flatten(), dense(4096), relu(), dense(4096), relu(), dense(1000), softmax()]


def _all_conv() -> list[LayerSpec]:
    # Springenberg et al. (2015) / Lin et al.'s network-in-network head: a 1x1 convolution
    # gives one map per class and global average pooling turns each map into its score.
    return [conv(16, 3, "same"), relu(), pool(2), conv(32, 3, "same"), relu(), pool(2),
            conv(64, 3, "same"), relu(), conv(10, 1), LayerSpec("GlobalAveragePool2D"), softmax()]


def _mlp() -> list[LayerSpec]:
    return [flatten(), dense(128), relu(), dense(10), softmax()]


_BUILDERS: dict[str, tuple[InputSpec, Callable[[], list[LayerSpec]]]] = {
    "simple-cnn": (MNIST, _simple_cnn),
    "lenet5": (MNIST, _lenet5),
    "mini-vgg": (MNIST, _mini_vgg),
    "vgg16": (InputSpec(224, 224, 3), _vgg16),
    "all-conv": (MNIST, _all_conv),
    "mlp": (MNIST, _mlp),
}

TEMPLATES: dict[str, str] = {
    "simple-cnn": "The classic first CNN: one 3x3 convolution, ReLU, max-pool, then a dense classifier.",
    "lenet5": "LeCun's LeNet-5 (1998): two conv/pool stages and three dense layers; 61,706 parameters.",
    "mini-vgg": "Two VGG-style blocks of two 3x3 convolutions and a pool, then dense with dropout.",
    "vgg16": "VGG-16 at 224x224x3 with 1000 classes (138 M parameters): for inspecting shapes, not for laptops.",
    "all-conv": "No dense layers: a 1x1 convolution makes one map per class and global average pooling scores it.",
    "mlp": "No convolutions: Flatten, Dense 128, Dense 10. Compare its parameter count with a CNN.",
}


def get_template(name: str) -> NetworkSpec:
    """A fresh copy of the template ``name``; ``UnknownTemplateError`` lists the known names."""
    if name not in _BUILDERS:
        raise UnknownTemplateError(f"unknown template {name!r}; known templates: {', '.join(TEMPLATES)}")
    inp, build = _BUILDERS[name]
    return NetworkSpec(name, inp, build())
