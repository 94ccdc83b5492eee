"""Fit a network's class scores to a dataset's class count (``cnnstudio train --classes``).

The last Dense layer before the final Softmax gives one score per class; this sets its
``units``. Everything else in the network stays as it is.
"""

from __future__ import annotations

from cnnstudio.model.spec import NetworkSpec


def last_dense(spec: NetworkSpec) -> int | None:
    """Index of the last Dense layer, or None when the network has none."""
    found = [i for i, layer in enumerate(spec.layers) if layer.type == "Dense"]
    return found[-1] if found else None


def fit_classes(spec: NetworkSpec, num_classes: int) -> tuple[NetworkSpec, str | None]:
    """``spec`` with its last Dense layer giving ``num_classes`` scores, and a sentence saying
    what changed (None when it already fitted).

    Raises ValueError (naming the value) for a count below 2 or a network with no Dense layer.
    """
    if num_classes < 2:
        raise ValueError(f"the number of classes must be at least 2, got {num_classes}")
    j = last_dense(spec)
    if j is None:
        raise ValueError(f"{spec.name}: has no Dense layer to give {num_classes} class scores; "
                         f"add Dense {num_classes} before the Softmax")
    units = int(spec.layers[j].config.get("units", 0))
    if units == num_classes:
        return spec, None
    layers = list(spec.layers)
    layers[j] = layers[j].with_config(units=num_classes)
    return spec.with_layers(layers), (f"layer {j + 1} Dense: units {units} -> {num_classes} "
                                      f"(one score per class)")
