"""Shared by the export tests: networks with non-trivial weights and random valid chains over the registry."""

from __future__ import annotations

import numpy as np

from cnnstudio.engine.errors import EngineError
from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.model import build_network
from cnnstudio.model.spec import LayerSpec, NetworkSpec


def trained_like_weights(spec: NetworkSpec, seed: int = 1) -> dict[str, np.ndarray]:
    """The network's initial weights with every bias and BatchNorm statistic made non-zero
    (zeros would hide a bias or a running mean that an export forgets)."""
    rng = np.random.default_rng(seed)
    weights = build_network(spec, seed=seed).get_weights()
    for name, value in weights.items():
        key = name.split(".", 1)[1]
        if key == "running_var":
            weights[name] = rng.uniform(0.5, 2.0, value.shape).astype(np.float32)
        elif key == "W":
            continue
        else:
            weights[name] = rng.normal(0, 0.3, value.shape).astype(np.float32)
    return weights


def raw_pixels(n: int, spec: NetworkSpec, seed: int = 0) -> np.ndarray:
    """uint8 images (n, H, W, C) for ``spec``'s input."""
    return np.random.default_rng(seed).integers(0, 256, (n, *spec.input.hwc)).astype(np.uint8)


def chain_types() -> list[str]:
    """Registry types that sit in a chain (not merges) and not only at its end."""
    return [t for t, cls in LAYER_TYPES.items() if not getattr(cls, "merges", False) and not cls.must_be_last]


def random_config(cls, draw) -> dict:
    """Random valid hyperparameters from the layer's declared schema; ``draw(kind, *args)``."""
    config = {}
    for h in cls.hyperparameters:
        if h.kind == "int":
            config[h.name] = draw("int", int(h.low or 1), int(min(h.high or 6, 6)))
        elif h.kind == "pair":
            if h.optional and draw("bool"):
                config[h.name] = None
            else:
                config[h.name] = [draw("int", 1, 3), draw("int", 1, 3)]
        elif h.kind == "float":
            low = h.low if h.low is not None else -1.0
            high = h.high if h.high is not None else 1.0
            v = draw("float", low, high)
            # an open end closer than float32 can tell apart would be stored as the end itself
            if (h.low_open and np.float32(v) <= low) or (h.high_open and np.float32(v) >= high):
                v = (low + high) / 2
            config[h.name] = min(max(v, low + 1e-4), high - 1e-4) if h.name == "epsilon" else v
        elif h.kind == "bool":
            config[h.name] = draw("bool")
        elif h.kind == "choice":
            config[h.name] = h.choices[draw("int", 0, len(h.choices) - 1)]
        elif h.kind == "padding":
            config[h.name] = ["valid", "same", 1, 2][draw("int", 0, 3)]
    return config


def random_chain(draw, max_layers: int = 6) -> NetworkSpec:
    """A random valid network: random registry layers on a small image, sometimes a merge (Add,
    Concatenate) of the last layer with an earlier one, then Flatten, Dense and Softmax so it ends in
    class probabilities (the layer types come from the registry, not a list)."""
    h, w, c = draw("int", 5, 12), draw("int", 5, 12), draw("int", 1, 3)
    types = chain_types()
    layers: list[LayerSpec] = []
    shape: tuple[int, ...] = (c, h, w)
    shapes = []   # shapes[k + 1]: the output of layer k (shapes[0]: the input)
    for _ in range(draw("int", 1, max_layers)):
        cls = LAYER_TYPES[types[draw("int", 0, len(types) - 1)]]
        try:
            layer = cls(**random_config(cls, draw))
            out = layer.output_shape(shape)
        except EngineError:
            continue
        shapes.append(shape)
        layers.append(LayerSpec(cls.type_name, layer.get_config()))
        shape = out
    shapes.append(shape)
    if layers and draw("bool"):   # a skip connection: a merge of the last layer and an earlier one
        merges = [cls for cls in LAYER_TYPES.values() if getattr(cls, "merges", False)]
        cls = merges[draw("int", 0, len(merges) - 1)]
        last = len(layers) - 1
        earlier = draw("int", -1, last - 1) if last > 0 else -1
        try:
            shape = cls().output_shape((shapes[earlier + 1], shapes[last + 1]))
            layers.append(LayerSpec(cls.type_name, {}, (earlier, last)))
        except EngineError:
            pass
    if len(shape) == 3:
        layers.append(LayerSpec("Flatten"))
    layers += [LayerSpec("Dense", {"units": draw("int", 2, 5)}), LayerSpec("Softmax")]
    return NetworkSpec("random", (h, w, c), layers)
