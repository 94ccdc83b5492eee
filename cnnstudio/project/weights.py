"""Expected weight shapes for a network description, computed without allocating.

Used to refuse a ``weights.npz`` that does not belong to the project's network
before anything is built. Names follow the engine contract: ``"{layer_index}.{param}"``;
the shapes are the ones each layer declares (``Layer.param_shapes`` for trainable
arrays, ``Layer.state_shapes`` for running statistics), so a new layer type needs
nothing here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.layers import Layer
from cnnstudio.model.spec import NetworkSpec



class WeightsMismatch(ValueError):
    """Weights do not fit the network; the message names the key and both shapes."""


def layer_input_shapes(spec: NetworkSpec) -> list[tuple[Any, Layer]]:
    """[(per-sample input shape (C, H, W) or (F,), engine layer)] for each layer of ``spec``;
    a merge's input shape is the tuple of its inputs' shapes (branching networks).

    A network with a mistake that leaves every shape known (a Softmax in the middle, an
    extra output) is fine here: saving and opening a network being edited must work. Raises
    ValueError (the model's NetworkError) when some layer's shape cannot be followed.
    """
    from cnnstudio.model.errors import NetworkError
    from cnnstudio.model.shapes import infer_shapes

    report = infer_shapes(spec)   # arithmetic only: nothing is allocated
    if not report.complete:
        raise NetworkError(report.problems[0]) if report.problems else ValueError("unknown layer shapes")
    return _known(spec, report)


def known_layer_shapes(spec: NetworkSpec) -> list[tuple[Any, Layer]]:
    """Like ``layer_input_shapes`` for the layers whose shapes are known, and never raises: a
    network being edited (a pool too big for its input) still has a size, and still opens."""
    from cnnstudio.model.shapes import infer_shapes

    return _known(spec, infer_shapes(spec))


def _known(spec: NetworkSpec, report: Any) -> list[tuple[Any, Layer]]:
    """(input shape, layer) of the layers whose output ``report`` knows (all, when complete)."""
    out: list[tuple[Any, Layer]] = []
    for ls, row in zip(spec.layers, report.layers):
        if row.output_shape is not None:
            layer = ls.check()   # a known output means the config was valid (validated once)
            out.append((tuple(row.input_shapes) if layer.merges else row.input_shape, layer))
    return out


def _named_shapes(layers: list[tuple[Any, Layer]], state: bool) -> dict[str, tuple[int, ...]]:
    """``"{index}.{name}" -> shape`` of the trainable arrays (or, with ``state``, the running statistics)."""
    return {f"{i}.{name}": tuple(shape)
            for i, (in_shape, layer) in enumerate(layers)
            for name, shape in (layer.state_shapes(in_shape) if state else layer.param_shapes(in_shape)).items()}


def stored_value_count(spec: NetworkSpec) -> int:
    """Trainable plus non-trainable values the weights file holds for ``spec`` (layers whose
    shapes are known; the others can hold none)."""
    return sum(layer.param_count(s) + layer.non_trainable_count(s) for s, layer in known_layer_shapes(spec))


def required_shapes(spec: NetworkSpec) -> dict[str, tuple[int, ...]]:
    """Shapes of the named trainable parameters every weights file must hold (``Layer.param_shapes``)."""
    return _named_shapes(layer_input_shapes(spec), state=False)


def optional_shapes(spec: NetworkSpec) -> dict[str, tuple[int, ...]]:
    """Shapes of the non-trainable arrays a weights file may hold (``Layer.state_shapes``: running statistics)."""
    return _named_shapes(layer_input_shapes(spec), state=True)


def check_weights(spec: NetworkSpec, weights: dict[str, np.ndarray]) -> None:
    """Raise WeightsMismatch unless ``weights`` fit ``spec`` key by key and value by value."""
    try:
        layers = layer_input_shapes(spec)
    except ValueError as exc:   # a layer's shape cannot be followed: no weights can belong to it
        raise WeightsMismatch(f"the network's shapes do not fit ({exc}), so no weights belong to it") from exc
    need = _named_shapes(layers, state=False)   # the shapes walked once, above
    allowed = {**need, **_named_shapes(layers, state=True)}
    for key, arr in weights.items():
        idx, _, param = key.partition(".")
        if not idx.isdigit() or not param or int(idx) >= len(layers):
            raise WeightsMismatch(f"weight {key!r} names no layer of this {len(layers)}-layer network")
        layer = layers[int(idx)][1]
        if arr.dtype.kind != "f":
            raise WeightsMismatch(f"weight {key!r} has dtype {arr.dtype}, expected floating point")
        expected = allowed.get(key)
        if expected is None:
            raise WeightsMismatch(f"weight {key!r}: layer {idx} ({layer.type_name}) has no parameter {param!r}")
        if tuple(arr.shape) != expected:
            raise WeightsMismatch(f"weight {key!r} ({layer.type_name}) has shape {tuple(arr.shape)}, "
                                  f"expected {expected}")
    missing = [k for k in need if k not in weights]
    if missing:
        raise WeightsMismatch(f"missing weight(s) {', '.join(missing[:5])} (expected shape {need[missing[0]]})")
