"""Every edit the editor can make, as one document command each.

The widgets call these functions; each builds one of the model's commands and
hands it to ``document.execute``, so every edit is exactly one undo step and the
document stays the single source of truth.
"""

from __future__ import annotations

from typing import Any

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.view_model import input_hwc

from cnnstudio.model import commands as cmds
from cnnstudio.model.spec import LayerSpec


def default_config(type_name: str) -> dict[str, Any]:
    """The hyperparameters a fresh block of this type starts with."""
    return LAYER_TYPES[type_name]().get_config()


def add_layer(document: Any, index: int, type_name: str, config: dict[str, Any] | None = None) -> None:
    """Insert a ``type_name`` block so that it becomes layer ``index``."""
    cfg = default_config(type_name) if config is None else dict(config)
    document.execute(_command("AddLayer", index=index, type=type_name, config=cfg))


def append_layer(document: Any, type_name: str) -> None:
    add_layer(document, len(document.spec.layers), type_name)


def remove_layer(document: Any, index: int) -> None:
    document.execute(_command("RemoveLayer", index=index))


def duplicate_layer(document: Any, index: int) -> None:
    document.execute(_command("DuplicateLayer", index=index))


def move_layer(document: Any, source: int, target: int) -> None:
    """Move layer ``source`` so that it ends up at index ``target`` (after removal)."""
    if source != target:
        document.execute(_command("MoveLayer", source=source, target=target))


def set_hyperparameter(document: Any, index: int, field: str, value: Any) -> None:
    if document.spec.layers[index].config.get(field) != value:
        document.execute(_command("SetHyperparameter", index=index, field=field, value=value))


def set_input(document: Any, shape: tuple[int, int, int]) -> None:
    """``shape`` is (height, width, channels)."""
    if input_hwc(document.spec) != tuple(shape):
        document.execute(_command("SetInput", shape=tuple(shape)))


def change_layer_type(document: Any, index: int, type_name: str) -> None:
    """Swap layer ``index`` for another type keeping compatible hyperparameters (one command)."""
    old = document.spec.layers[index]
    if old.type == type_name:
        return
    config = default_config(type_name)
    config.update({k: v for k, v in old.config.items() if k in config})
    layers = list(document.spec.layers)
    layers[index] = LayerSpec(type_name, config)
    document.execute(_command("ReplaceNetwork", spec=document.spec.with_layers(layers)))


# ---- the model's command classes -----------------------------------------------
def _command(kind: str, **kw: Any) -> Any:
    if kind == "AddLayer":
        return cmds.AddLayer(kw["index"], LayerSpec(kw["type"], kw["config"]))
    if kind == "RemoveLayer":
        return cmds.RemoveLayer(kw["index"])
    if kind == "DuplicateLayer":
        return cmds.DuplicateLayer(kw["index"])
    if kind == "MoveLayer":
        return cmds.MoveLayer(kw["source"], kw["target"])
    if kind == "SetHyperparameter":
        return cmds.SetLayerConfig(kw["index"], kw["field"], kw["value"])
    if kind == "SetInput":
        return cmds.SetInput(*kw["shape"])
    if kind == "ReplaceNetwork":
        return cmds.ReplaceNetwork(kw["spec"])
    raise ValueError(f"unknown edit {kind!r}")
