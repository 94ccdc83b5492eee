"""Built-in network templates: the classic networks people start from.

``TEMPLATES`` maps each name to a one-line description (in menu order);
``get_template(name)`` returns a fresh ``NetworkSpec``.
"""

from __future__ import annotations

from typing import Any, Callable

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


def _layer(type_name: str, inputs: tuple[int, ...] | None = None, **config: Any) -> LayerSpec:
    return LayerSpec(type_name, dict(config), inputs)


def _residual_block(layers: list[LayerSpec], in_filters: int, filters: int, stride: int) -> None:
    """He et al.'s basic block (2016): conv-BN-ReLU-conv-BN plus the block's input, then ReLU.

    Where the block changes the shape (stride or filters), the shortcut is a 1x1 convolution
    with the same stride and BatchNorm (the "projection shortcut").
    """
    start = len(layers) - 1   # the block's input
    conv: dict[str, Any] = {"kernel_size": [3, 3], "padding": "same", "use_bias": False}
    layers += [_layer("Conv2D", filters=filters, stride=[stride, stride], **conv), _layer("BatchNorm"),
               _layer("ReLU"), _layer("Conv2D", filters=filters, **conv), _layer("BatchNorm")]
    body = len(layers) - 1
    shortcut = start
    if stride != 1 or in_filters != filters:
        layers += [_layer("Conv2D", (start,), filters=filters, kernel_size=[1, 1], stride=[stride, stride],
                          use_bias=False), _layer("BatchNorm")]
        shortcut = len(layers) - 1
    layers += [_layer("Add", (body, shortcut)), _layer("ReLU")]


def _mini_resnet() -> list[LayerSpec]:
    layers = [conv(16, 3, "same"), LayerSpec("BatchNorm"), relu(), pool(2)]   # stem: 14 x 14 x 16
    _residual_block(layers, 16, 16, 1)
    _residual_block(layers, 16, 32, 2)    # 7 x 7 x 32
    _residual_block(layers, 32, 64, 2)    # 4 x 4 x 64
    return layers + [LayerSpec("GlobalAveragePool2D"), dense(10), softmax()]


def _mini_inception() -> list[LayerSpec]:
    # Szegedy et al.'s parallel 1x1 / 3x3 / 5x5 / pool branches, as a grid-reduction block
    # (Inception-v3's kind: every branch has stride 2, the pool branch a 2x2 max-pool, since
    # pooling here has no padding), concatenated along channels.
    layers = [conv(16, 3, "same"), relu(), pool(2)]                        # 0-2: 14 x 14 x 16
    stem = len(layers) - 1
    s2: dict[str, Any] = {"stride": [2, 2], "padding": "same"}
    layers += [_layer("Conv2D", (stem,), filters=16, kernel_size=[1, 1], stride=[2, 2]), relu(),   # 3-4: 1x1
               _layer("Conv2D", (stem,), filters=16, kernel_size=[1, 1]), relu(),                  # 5-6
               _layer("Conv2D", filters=24, kernel_size=[3, 3], **s2), relu(),                     # 7-8: 3x3
               _layer("Conv2D", (stem,), filters=8, kernel_size=[1, 1]), relu(),                   # 9-10
               _layer("Conv2D", filters=16, kernel_size=[5, 5], **s2), relu(),                     # 11-12: 5x5
               _layer("MaxPool2D", (stem,), pool_size=[2, 2]),                                      # 13: pool
               _layer("Conv2D", filters=16, kernel_size=[1, 1]), relu(),                            # 14-15
               _layer("Concatenate", (4, 8, 12, 15))]                                               # 16: 7x7x72
    # Flatten + Dense rather than global average pooling: one block is too shallow for its
    # maps to be class scores (with GAP: 80.8% after 10 epochs on the sample; like this: 97.2%)
    return layers + [flatten(), dense(10), softmax()]


def _mlp() -> list[LayerSpec]:
    return [flatten(), dense(128), relu(), dense(10), softmax()]


def _blank() -> list[LayerSpec]:
    # a student's empty page that still trains: put convolutions before the Flatten
    return [flatten(), dense(10), softmax()]


_BUILDERS: dict[str, tuple[InputSpec, Callable[[], list[LayerSpec]]]] = {
    "blank": (MNIST, _blank),
    "simple-cnn": (MNIST, _simple_cnn),
    "lenet5": (MNIST, _lenet5),
    "mini-vgg": (MNIST, _mini_vgg),
    "vgg16": (InputSpec(224, 224, 3), _vgg16),
    "all-conv": (MNIST, _all_conv),
    "mini-resnet": (MNIST, _mini_resnet),
    "mini-inception": (MNIST, _mini_inception),
    "mlp": (MNIST, _mlp),
}

TEMPLATES: dict[str, str] = {
    "blank": "An empty page: the input, then Flatten, Dense 10 and Softmax; add your own layers before the Flatten.",
    "simple-cnn": "The classic first CNN: one 3x3 convolution, ReLU, max-pool, then a dense classifier.",
    "lenet5": "LeCun's LeNet-5 (1998): two conv/pool stages and three dense layers; 61,706 parameters.",
    "mini-vgg": "Two VGG-style blocks of two 3x3 convolutions and a pool, then dense with dropout.",
    "vgg16": "VGG-16 at 224x224x3 with 1000 classes (138 M parameters): for inspecting shapes, not for laptops.",
    "all-conv": "No dense layers: a 1x1 convolution makes one map per class and global average pooling scores it.",
    "mini-resnet": "Three residual blocks (skip connections, BatchNorm, 1x1 projections where the shape changes).",
    "mini-inception": "One Inception block: parallel 1x1, 3x3, 5x5 and pool branches, concatenated.",
    "mlp": "No convolutions: Flatten, Dense 128, Dense 10. Compare its parameter count with a CNN.",
}


def get_template(name: str) -> NetworkSpec:
    """A fresh copy of the template ``name``; ``UnknownTemplateError`` lists the known names."""
    if name not in _BUILDERS:
        raise UnknownTemplateError(f"unknown template {name!r}; known templates: {', '.join(TEMPLATES)}")
    inp, build = _BUILDERS[name]
    return NetworkSpec(name, inp, build())
