"""Teaching hints: things that are allowed but probably not what the student meant.

Hints never stop training (problems do). Each names the layer, as the editor numbers
them (from 1), and says what to do.
"""

from __future__ import annotations

from typing import Any, Sequence

from cnnstudio.engine.layers import LAYER_TYPES, Layer
from cnnstudio.model.spec import NetworkSpec

BIG_DENSE = 1_000_000
BIG_NETWORK = 50_000_000


def network_hints(spec: NetworkSpec, rows: Sequence[Any]) -> list[str]:
    """Hints for ``spec``; ``rows`` are the ShapeReport's LayerShape rows.

    What a layer says about itself comes from its class (``Layer.hints``); the rules
    across layers read the declared traits (``category``, ``affine``, ``keeps_linearity``).
    """
    out: list[str] = []
    layers = spec.layers
    classes = [LAYER_TYPES[layer.type] for layer in layers]
    total = sum(r.params or 0 for r in rows)
    for i, layer in enumerate(layers):
        cls = classes[i]
        nxt = classes[i + 1] if i + 1 < len(layers) else None
        if nxt is not None and nxt.must_be_last and cls.category == "activation":
            out.append(f"layer {i + 1} {layer.type} right before {nxt.type_name} squashes the class scores; "
                       f"the last Dense layer usually feeds {nxt.type_name} directly")
        if rows[i].output_shape is not None and rows[i].input_shape is not None:
            # the config is known valid (normalised) only then
            obj = layer.check()
            out += [f"layer {i + 1} {layer.type}: {text}" for text in obj.hints(rows[i].input_shape)]
        if cls.affine:
            j = _previous_affine(classes, i)
            if j is not None:
                out.append(f"layer {i + 1} {layer.type} follows layer {j + 1} {layers[j].type} with no activation "
                           f"between them, so together they are still one linear map; insert ReLU after layer {j + 1}")
        params = rows[i].params or 0
        if cls.affine and len(rows[i].output_shape or ()) == 1 and params > BIG_DENSE and params > total / 2:
            out.append(f"layer {i + 1} {layer.type} holds {params:,} of the network's {total:,} parameters "
                       f"({100 * params / total:.0f}%); more pooling before Flatten shrinks it")
    if total > BIG_NETWORK:
        # float32 weights + gradients + Adam's two moment buffers, before any activations
        gb = total * 4 * 4 / 1e9
        out.append(f"the network has {total:,} parameters: training with Adam needs about {gb:.1f} GB for "
                   "weights, gradients and optimizer state alone")
    return out


def _previous_affine(classes: Sequence[type[Layer]], i: int) -> int | None:
    """The affine layer before ``i`` with only linearity-keeping layers between, or None."""
    for j in range(i - 1, -1, -1):
        if classes[j].affine:
            return j
        if not classes[j].keeps_linearity:
            return None
    return None
