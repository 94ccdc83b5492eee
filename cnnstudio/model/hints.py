"""Teaching hints: things that are allowed but probably not what the student meant.

Hints never stop training (problems do). Each names the layer, as the editor numbers
them (from 1), and says what to do.
"""

from __future__ import annotations

from typing import Sequence

from cnnstudio.model.spec import NetworkSpec

ACTIVATIONS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")
LINEAR = ("Conv2D", "Dense")
# Layers that keep a stack linear: a Conv2D -> AvgPool2D -> Conv2D chain is still one linear map.
TRANSPARENT = ("Dropout", "BatchNorm", "Flatten", "AvgPool2D", "SumPool2D")
BIG_DENSE = 1_000_000
BIG_NETWORK = 50_000_000


def network_hints(spec: NetworkSpec, rows: Sequence) -> list[str]:
    """Hints for ``spec``; ``rows`` are the ShapeReport's LayerShape rows."""
    out: list[str] = []
    layers = spec.layers
    total = sum(r.params or 0 for r in rows)
    for i, layer in enumerate(layers):
        nxt = layers[i + 1].type if i + 1 < len(layers) else None
        if nxt == "Softmax" and layer.type in ACTIVATIONS:
            out.append(f"layer {i + 1} {layer.type} right before Softmax squashes the class scores; "
                       "the last Dense layer usually feeds Softmax directly")
        if layer.type == "Flatten" and rows[i].input_shape is not None and len(rows[i].input_shape) == 1:
            out.append(f"layer {i + 1} Flatten: the input is already flat, so this layer does nothing")
        if layer.type in LINEAR:
            j = _previous_linear(layers, i)
            if j is not None:
                out.append(f"layer {i + 1} {layer.type} follows layer {j + 1} {layers[j].type} with no activation "
                           f"between them, so together they are still one linear map; insert ReLU after layer {j + 1}")
        if rows[i].output_shape is not None:  # config known valid (normalised) only then
            out += _stride_hint(i, layer.type, layer.config)
        params = rows[i].params or 0
        if layer.type == "Dense" and params > BIG_DENSE and params > total / 2:
            out.append(f"layer {i + 1} Dense holds {params:,} of the network's {total:,} parameters "
                       f"({100 * params / total:.0f}%); more pooling before Flatten shrinks it")
    if total > BIG_NETWORK:
        # float32 weights + gradients + Adam's two moment buffers, before any activations
        gb = total * 4 * 4 / 1e9
        out.append(f"the network has {total:,} parameters: training with Adam needs about {gb:.1f} GB for "
                   "weights, gradients and optimizer state alone")
    return out


def _previous_linear(layers: Sequence, i: int) -> int | None:
    for j in range(i - 1, -1, -1):
        t = layers[j].type
        if t in LINEAR:
            return j
        if t not in TRANSPARENT:
            return None
    return None


def _stride_hint(i: int, layer_type: str, config: dict) -> list[str]:
    window = config.get("kernel_size") if layer_type == "Conv2D" else config.get("pool_size")
    stride = config.get("stride")
    if not window or not stride:
        return []
    if stride[0] > window[0] or stride[1] > window[1]:
        return [f"layer {i + 1} {layer_type}: stride {stride[0]}x{stride[1]} is larger than the "
                f"{window[0]}x{window[1]} window, so some pixels are never looked at; use a stride of at most "
                f"{window[0]}x{window[1]}"]
    return []
