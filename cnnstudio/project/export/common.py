"""What every export format shares: block names, the missing-extra message, the errors."""

from __future__ import annotations

import importlib
from typing import Any

from cnnstudio.engine.layers import Layer


class ExportError(Exception):
    """An export or import that cannot be done; the message names the file, node or layer and what to do."""


def block_names(layers: list[Layer]) -> list[str]:
    """The editor's block names for exported files: the type's stem and its position, ``conv1``, ``relu2``."""
    return [f"{layer.export_stem()}{i + 1}" for i, layer in enumerate(layers)]


def require(module: str, purpose: str) -> Any:
    """Import ``module`` of the ``export`` extra, or ExportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(f"{purpose} needs the Python package {module.split('.')[0]!r}, which is not installed "
                          f"({exc}); install CNN Studio's export extra: pip install 'cnnstudio[export]'") from None


def layer_weights(weights: dict[str, Any] | None, index: int, layer: Layer, input_shape: tuple[int, ...],
                  ) -> dict[str, Any]:
    """Layer ``index``'s arrays by its own names ("W", "b", ...) from the network's ``"{index}.{name}"``
    weights; fresh zero/initial arrays are never invented: untrained networks export their initial weights."""
    assert weights is not None
    names = list(layer.param_shapes(input_shape)) + list(layer.state_shapes(input_shape))
    return {name: weights[f"{index}.{name}"] for name in names}


def check_chain(spec: Any, layers: list[Layer], format_name: str) -> None:
    """ExportError unless every layer reads the one before it (branching networks: not exported yet)."""
    for i, layer in enumerate(layers):
        if getattr(type(layer), "merges", False) or getattr(spec.layers[i], "inputs", None):
            raise ExportError(f"network {spec.name!r}: layer {i + 1} {layer.type_name} joins branches; "
                              f"the {format_name} export writes networks that are one chain of blocks "
                              "(branching networks are not exported yet)")
