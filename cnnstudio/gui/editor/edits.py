"""Every edit the editor can make, as one document command each.

The widgets call these functions; each builds one of the model's commands and
hands it to ``document.execute``, so every edit is exactly one undo step and the
document stays the single source of truth.
"""

from __future__ import annotations

import copy
from typing import Any

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.view_model import input_hwc

try:
    from cnnstudio.model import commands as _cmds
except ImportError:  # pragma: no cover - until the model lands
    _cmds = None  # type: ignore[assignment]


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
    layers[index] = _layer_spec(type_name, config)
    document.execute(_command("ReplaceNetwork", spec=document.spec.with_layers(layers)))


# ---- adapter to the model's command classes --------------------------------
def _command(kind: str, **kwargs: Any) -> Any:
    if _cmds is not None:
        return _real_command(kind, **kwargs)
    return _PlaceholderCommand(kind, kwargs)


def _real_command(kind: str, **kw: Any) -> Any:
    c = _cmds
    if kind == "AddLayer":
        return c.AddLayer(kw["index"], _layer_spec(kw["type"], kw["config"]))
    if kind == "RemoveLayer":
        return c.RemoveLayer(kw["index"])
    if kind == "DuplicateLayer":
        return c.DuplicateLayer(kw["index"])
    if kind == "MoveLayer":
        return c.MoveLayer(kw["source"], kw["target"])
    if kind == "SetHyperparameter":
        return c.SetLayerConfig(kw["index"], kw["field"], kw["value"])
    if kind == "SetInput":
        return c.SetInput(*kw["shape"])
    if kind == "ReplaceNetwork":
        return c.ReplaceNetwork(kw["spec"])
    raise ValueError(f"unknown edit {kind!r}")


def _layer_spec(type_name: str, config: dict[str, Any]) -> Any:
    try:
        from cnnstudio.model.spec import LayerSpec
    except ImportError:  # pragma: no cover
        return _PlaceholderLayer(type_name, config)
    return LayerSpec(type_name, config)


class _PlaceholderLayer:
    def __init__(self, type: str, config: dict[str, Any]):
        self.type = type
        self.config = dict(config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _PlaceholderLayer) and (self.type, self.config) == (other.type, other.config)


class _PlaceholderCommand:
    """Snapshot command used only until model.commands exists."""

    def __init__(self, kind: str, kw: dict[str, Any]):
        self.kind, self.kw = kind, kw
        self.before: Any = None
        self.text = kind

    def redo(self, spec: Any) -> Any:
        self.before = copy.deepcopy(spec)
        new = copy.deepcopy(spec)
        k, kw = self.kind, self.kw
        if k == "AddLayer":
            new.layers.insert(kw["index"], _layer_spec(kw["type"], kw["config"]))
        elif k == "RemoveLayer":
            del new.layers[kw["index"]]
        elif k == "DuplicateLayer":
            new.layers.insert(kw["index"] + 1, copy.deepcopy(new.layers[kw["index"]]))
        elif k == "MoveLayer":
            new.layers.insert(kw["target"], new.layers.pop(kw["source"]))
        elif k == "SetHyperparameter":
            old = new.layers[kw["index"]]
            new.layers[kw["index"]] = _layer_spec(old.type, {**old.config, kw["field"]: kw["value"]})
        elif k == "SetInput":
            new = type(new)(new.name, tuple(kw["shape"]), new.layers)
        elif k == "ReplaceNetwork":
            new = copy.deepcopy(kw["spec"])
        return new

    def undo(self, spec: Any) -> Any:
        return self.before
