"""Every edit the editor can make, as one document command each.

The widgets call these functions; each builds one of the model's commands and
hands it to ``document.execute``, so every edit is one undo step, named after
itself ("Undo Change MaxPool2D to AvgPool2D"), and the document stays the single
source of truth. Whatever widget changes a hyperparameter, consecutive changes of
one field of one layer (spin-box arrow clicks) merge into one undo step: the
merge is decided here and in the command, not by the widget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.view_model import input_hwc
from cnnstudio.model import commands as cmds
from cnnstudio.model.document import Document
from cnnstudio.model.spec import LayerSpec


def default_config(type_name: str) -> dict[str, Any]:
    """The hyperparameters a fresh block of this type starts with."""
    return LAYER_TYPES[type_name]().get_config()


def add_layer(document: Document, index: int, type_name: str, config: dict[str, Any] | None = None) -> None:
    """Insert a ``type_name`` block so that it becomes layer ``index``."""
    cfg = default_config(type_name) if config is None else dict(config)
    document.execute(cmds.AddLayer(index, LayerSpec(type_name, cfg)))


def append_layer(document: Document, type_name: str) -> None:
    add_layer(document, len(document.spec.layers), type_name)


def remove_layer(document: Document, index: int) -> None:
    document.execute(cmds.RemoveLayer(index))


def duplicate_layer(document: Document, index: int) -> None:
    document.execute(cmds.DuplicateLayer(index))


def move_layer(document: Document, source: int, target: int) -> None:
    """Move layer ``source`` so that it ends up at index ``target`` (after removal)."""
    if source != target:
        document.execute(cmds.MoveLayer(source, target))


def set_hyperparameter(document: Document, index: int, field: str, value: Any) -> None:
    """One field of layer ``index``; right after a change of the same field of the same layer it
    merges into that undo step (``SetLayerConfig.merge_with``), so ten arrow clicks undo at once."""
    if document.spec.layers[index].config.get(field) != value:
        document.execute(cmds.SetLayerConfig(index, field, value), merge=True)


def set_input(document: Document, shape: tuple[int, int, int]) -> None:
    """``shape`` is (height, width, channels)."""
    if input_hwc(document.spec) != tuple(shape):
        document.execute(cmds.SetInput(*shape))


def set_frozen(document: Document, index: int, frozen: bool) -> None:
    """Freeze layer ``index`` (training leaves its weights alone) or let it train again; one command."""
    if document.spec.layers[index].frozen != bool(frozen):
        document.execute(cmds.SetFrozen(index, bool(frozen)))


Weights = dict[str, np.ndarray]


@dataclass
class SetWeights(cmds.Command):
    """Replace the project's weights (hand-set filters) as one undo step of the document.

    The weights live in the workspace, not in the spec, so the command carries the workspace's
    ``read`` ((weights, optimizer state)) and ``write(weights, optimizer state)``; ``redo``
    remembers what it replaces and ``undo`` puts exactly those arrays back (None: untrained).
    Weights replaced since by something else (a training run) are newer than this step: undo and
    redo then leave them as they are rather than throw a run's result away.
    """

    read: Callable[[], tuple[Weights | None, Weights | None]]
    write: Callable[[Weights | None, Weights | None], None]
    weights: Weights
    label: str
    changes_outside_spec = True
    _old: tuple[Weights | None, Weights | None] | None = field(default=None, init=False, repr=False)

    def redo(self, spec: Any) -> Any:
        self.text = self.label
        current = self.read()
        if self._old is None:    # the first time: what it replaces
            self._old = (None if current[0] is None else dict(current[0]),
                         None if current[1] is None else dict(current[1]))
        elif not _same_arrays(current[0], self._old[0]):
            return spec
        self.write(dict(self.weights), None)   # the optimizer's moments belong to the old weights
        return spec

    def undo(self, spec: Any) -> Any:
        assert self._old is not None, "undo before redo"
        if _same_arrays(self.read()[0], self.weights):
            self.write(*self._old)
        return spec


def _same_arrays(a: Weights | None, b: Weights | None) -> bool:
    """The same arrays (the objects, not equal copies): nothing replaced them in between."""
    if a is None or b is None:
        return a is b
    return a.keys() == b.keys() and all(a[k] is b[k] for k in a)


def set_filter_weights(document: Document, workspace: Any, weights: Weights, label: str) -> None:
    """Hand-set weights (``model.filters.with_filter``'s result) as one undoable command named
    ``label`` ("Set filter 1 of layer 1 (Conv2D)"); ``workspace``: the project's (project.workspace)."""
    document.execute(SetWeights(lambda: (workspace.weights, workspace.optimizer_state),
                                lambda w, s: workspace.set_weights(w, s), weights, label))


#: the Input block's preprocessing fields: (name, label, tooltip); their rules live in model.spec.InputSpec
PREPROCESSING_FIELDS = (
    ("scale", "Scale", "Each pixel (0..255) is multiplied by this first: 1/255 gives 0..1, 1 keeps 0..255."),
    ("mean", "Mean", "Then subtracted, one number per channel (e.g. 0.485, 0.456, 0.406); empty: none."),
    ("std", "Std", "Then divided by, one number per channel (e.g. 0.229, 0.224, 0.225); empty: none."),
)


def preprocessing_fields(inp: Any) -> dict[str, str]:
    """The Input block's preprocessing as the inspector's texts."""
    def join(values: Any) -> str:
        return ", ".join(f"{v:g}" for v in values) if values else ""
    return {"scale": inp.scale_text(), "mean": join(inp.mean), "std": join(inp.std)}


def _numbers(field: str, text: str) -> list[float] | None:
    from cnnstudio.engine.errors import LayerConfigError

    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return None
    try:
        return [_number(p) for p in parts]
    except ValueError:
        raise LayerConfigError("Input", field, text, "numbers separated by commas, e.g. 0.5, 0.5, 0.5") from None


def _number(text: str) -> float:
    if "/" in text:   # "1/255"
        top, bottom = text.split("/", 1)
        return float(top) / float(bottom)
    return float(text)


def set_preprocessing(document: Document, scale_text: str, mean_text: str, std_text: str) -> None:
    """Texts from the inspector ("1/255", "0.5, 0.5, 0.5", "") -> one SetPreprocessing when they change."""
    from cnnstudio.engine.errors import LayerConfigError

    scale = _numbers("scale", scale_text)
    if scale is None or len(scale) != 1:
        raise LayerConfigError("Input", "scale", scale_text, "one number above 0, e.g. 1/255")
    inp = document.spec.input
    new = inp.with_preprocessing(scale[0], _numbers("mean", mean_text), _numbers("std", std_text))
    if (new.scale, new.mean, new.std) != (inp.scale, inp.mean, inp.std):
        document.execute(cmds.SetPreprocessing(new.scale, new.mean, new.std))


def change_layer_type(document: Document, index: int, type_name: str) -> None:
    """Swap layer ``index`` for another type keeping compatible hyperparameters (one command,
    "Change MaxPool2D to AvgPool2D")."""
    old = document.spec.layers[index]
    if old.type == type_name:
        return
    config = default_config(type_name)
    config.update({k: v for k, v in old.config.items() if k in config})
    # dataclasses.replace keeps the layer's other fields (what it reads from, in a graph)
    document.execute(cmds.ReplaceLayer(index, dataclasses.replace(old, type=type_name, config=config)))
