"""The layer registry: every layer type the engine knows, by its ``type_name``."""

from __future__ import annotations

from cnnstudio.engine.layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from cnnstudio.engine.layers.base import Layer, Shape
from cnnstudio.engine.layers.schema import Hyper
from cnnstudio.engine.layers.conv import Conv2D
from cnnstudio.engine.layers.dense import Dense, Dropout, Flatten
from cnnstudio.engine.layers.merge import Add, Concatenate
from cnnstudio.engine.layers.normalization import BatchNorm
from cnnstudio.engine.layers.pooling import AvgPool2D, GlobalAveragePool2D, MaxPool2D, SumPool2D
from cnnstudio.engine.layers.softmax import Softmax

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.type_name: cls
    for cls in (Conv2D, ReLU, LeakyReLU, Sigmoid, Tanh, MaxPool2D, AvgPool2D, SumPool2D, GlobalAveragePool2D,
                Flatten, Dense, Dropout, BatchNorm, Add, Concatenate, Softmax)
}

__all__ = ["LAYER_TYPES", "Layer", "Shape", "Hyper", "Conv2D", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "MaxPool2D", "AvgPool2D", "SumPool2D", "GlobalAveragePool2D", "Flatten", "Dense", "Dropout", "BatchNorm", "Add", "Concatenate", "Softmax"]
