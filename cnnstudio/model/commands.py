"""Undoable edit commands on a NetworkSpec (plain Python, no Qt).

Each command checks itself against the spec it is applied to (``redo`` raises
``EditError`` for a bad index or field name, ``LayerConfigError`` for an
impossible value), remembers what it needs to undo, and never mutates a spec:
``redo(spec) -> new spec`` and ``undo(spec) -> previous spec``. A command that
makes the network *invalid* (a pool too big for its input) is allowed: the editor
shows the problem, it never blocks editing. Modelled on orange-canvas-core's
``document/commands.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace as dc_replace
from typing import Any, TypeVar

from cnnstudio.engine.errors import LayerConfigError, field_words
from cnnstudio.model import graph
from cnnstudio.model.errors import EditError
from cnnstudio.model.spec import InputSpec, LayerSpec, NetworkSpec


class Command:
    """Base class. ``text`` ("Add Conv2D") is set by ``redo`` and shown as "Undo Add Conv2D"."""

    text: str = "Edit"
    #: True for a command whose change lies outside the spec (hand-set weights): the document
    #: records it even though ``redo`` returns the spec unchanged
    changes_outside_spec: bool = False

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        raise NotImplementedError

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        raise NotImplementedError

    def merge_with(self, other: Command) -> bool:
        """Take ``other``, the edit made right after this one, into this command (Qt's
        ``QUndoCommand.mergeWith``): True when this command now stands for both, so that one
        undo goes back to before the first; False (the default) keeps two undo steps.
        ``Document.execute(other, merge=True)`` asks, after ``other.redo`` succeeded."""
        return False


def _check_index(spec: NetworkSpec, index: Any, what: str, allow_end: bool = False) -> int:
    n = len(spec.layers) + (1 if allow_end else 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        where = f"0..{n - 1}" if n else "none: the network has no layers"
        raise EditError(f"{what}: layer index {index!r} is out of range (valid: {where})")
    return index


def _check_layer(layer: Any, what: str) -> LayerSpec:
    if not isinstance(layer, LayerSpec):
        raise EditError(f"{what}: expected a LayerSpec, got {type(layer).__name__}")
    layer.check()  # LayerConfigError for an impossible value
    return layer.copy()


T = TypeVar("T")


def _kept(value: "T | None") -> T:
    """What ``redo`` remembered for ``undo`` (undo only ever follows a redo)."""
    if value is None:
        raise EditError("undo before redo: nothing to restore")
    return value


def _replace(spec: NetworkSpec, layers: list[LayerSpec]) -> NetworkSpec:
    return NetworkSpec(spec.name, spec.input, layers)


@dataclass
class AddLayer(Command):
    """Insert ``layer`` so that it ends up at ``index`` (``len(layers)`` appends)."""

    index: int
    layer: LayerSpec

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Add layer", allow_end=True)
        layer = _check_layer(self.layer, "Add layer")
        self.text = f"Add {layer.type}"
        self._before = [ls.copy() for ls in spec.layers]
        return _replace(spec, graph.inserted(spec.layers, i, layer))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, [ls.copy() for ls in self._before])


@dataclass
class RemoveLayer(Command):
    index: int
    _removed: LayerSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Remove layer")
        self._removed = spec.layers[i].copy()
        self.text = f"Remove {self._removed.type}"
        self._before = [ls.copy() for ls in spec.layers]
        return _replace(spec, graph.removed(spec.layers, i))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, [ls.copy() for ls in self._before])


@dataclass
class MoveLayer(Command):
    """Move the layer at ``src`` so that it ends up at ``dst`` (an index in the result)."""

    src: int
    dst: int

    @staticmethod
    def _move(layers: list[LayerSpec], a: int, b: int) -> list[LayerSpec]:
        return graph.moved(list(layers), a, b)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        _check_index(spec, self.src, "Move layer")
        _check_index(spec, self.dst, "Move layer")
        self.text = f"Move {spec.layers[self.src].type}"
        return _replace(spec, self._move(spec.layers, self.src, self.dst))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, self._move(spec.layers, self.dst, self.src))


@dataclass
class DuplicateLayer(Command):
    """Insert a copy of the layer at ``index`` right after it."""

    index: int

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Duplicate layer")
        self.text = f"Duplicate {spec.layers[i].type}"
        self._before = [ls.copy() for ls in spec.layers]
        twin = spec.layers[i].with_inputs(None)   # the copy reads the original, as in a chain
        return _replace(spec, graph.inserted(spec.layers, i + 1, twin))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, [ls.copy() for ls in self._before])


@dataclass
class SetLayerConfig(Command):
    """Set one hyperparameter ``field`` of the layer at ``index`` to ``value``."""

    index: int
    field: str
    value: Any
    _old: LayerSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Change hyperparameter")
        layer = spec.layers[i]
        if self.field not in layer.config:
            names = ", ".join(layer.config) or "none"
            raise EditError(f"layer {i + 1} {layer.type} has no hyperparameter {self.field!r}; "
                            f"its hyperparameters are: {names}")
        changes = {self.field: self.value}
        if (self.field == "pool_size" and layer.type.endswith("Pool2D")
                and layer.config.get("stride") == layer.config.get("pool_size")):
            changes["stride"] = self.value  # a stride that followed the window keeps following it
        new = layer.with_config(**changes)
        new.check()  # refuse filters=0 etc. with the LayerConfigError message
        if self._old is None:  # keep the first old value when merged spin-box steps re-run redo
            self._old = layer.copy()
        self.text = f"Change {layer.type} {field_words(layer.type, self.field)}"   # "kernel", not kernel_size
        return _replace(spec, spec.layers[:i] + [new] + spec.layers[i + 1:])

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, spec.layers[:self.index] + [_kept(self._old).copy()] + spec.layers[self.index + 1:])

    def merge_with(self, other: Command) -> bool:
        """Steps of one field of one layer (spin-box arrow clicks) merge; any other edit does not."""
        if not isinstance(other, SetLayerConfig) or (other.index, other.field) != (self.index, self.field):
            return False
        self.value = other.value  # redo after undo goes to the last step; undo keeps self._old, the first
        return True


@dataclass
class ReplaceLayer(Command):
    """Put ``layer`` in place of the layer at ``index`` (e.g. change a block's type)."""

    index: int
    layer: LayerSpec
    _old: LayerSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Replace layer")
        new = _check_layer(self.layer, "Replace layer")
        self._old = spec.layers[i].copy()
        if new.inputs is None and self._old.inputs is not None:
            new = new.with_inputs(self._old.inputs)   # a new type in the same place keeps its wires
        same = self._old.type == new.type
        self.text = f"Change {new.type}" if same else f"Change {self._old.type} to {new.type}"
        return _replace(spec, spec.layers[:i] + [new] + spec.layers[i + 1:])

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _replace(spec, spec.layers[:self.index] + [_kept(self._old).copy()] + spec.layers[self.index + 1:])


@dataclass
class SetFrozen(Command):
    """Freeze layer ``index`` (training leaves its weights alone) or let it train again:
    "Freeze layer 1 (Conv2D)" / "Unfreeze layer 1 (Conv2D)"."""

    index: int
    frozen: bool

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check_index(spec, self.index, "Freeze layer")
        if not isinstance(self.frozen, bool):
            raise EditError(f"Freeze layer: frozen must be true or false, got {self.frozen!r}")
        old = spec.layers[i]
        self.text = f"{'Freeze' if self.frozen else 'Unfreeze'} layer {i + 1} ({old.type})"
        return _replace(spec, spec.layers[:i] + [_with_frozen(old, self.frozen)] + spec.layers[i + 1:])

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        old = spec.layers[self.index]
        return _replace(spec, spec.layers[:self.index] + [_with_frozen(old, not self.frozen)]
                        + spec.layers[self.index + 1:])


def _with_frozen(layer: LayerSpec, frozen: bool) -> LayerSpec:
    return dc_replace(layer.copy(), frozen=frozen)


@dataclass
class SetInput(Command):
    height: int
    width: int
    channels: int
    _old: InputSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        # LayerConfigError("Input", ...) if impossible; the preprocessing stays
        new = spec.input.resized(self.height, self.width, self.channels)
        self._old = spec.input
        self.text = f"Change input to {new.display()}"
        return NetworkSpec(spec.name, new, [layer.copy() for layer in spec.layers])

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return NetworkSpec(spec.name, _kept(self._old), [layer.copy() for layer in spec.layers])


@dataclass
class SetPreprocessing(Command):
    """How the Input block turns pixels into numbers: ``x * scale``, then ``(x - mean) / std``."""

    scale: float
    mean: Any = None
    std: Any = None
    _old: InputSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        new = spec.input.with_preprocessing(self.scale, self.mean, self.std)  # LayerConfigError if impossible
        self._old = spec.input
        self.text = f"Change input preprocessing to {new.preprocessing_text()}"
        return NetworkSpec(spec.name, new, [layer.copy() for layer in spec.layers])

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return NetworkSpec(spec.name, _kept(self._old), [layer.copy() for layer in spec.layers])


@dataclass
class ReplaceNetwork(Command):
    """Replace the whole network (load a template)."""

    spec: NetworkSpec
    _old: NetworkSpec | None = dc_field(default=None, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        if not isinstance(self.spec, NetworkSpec):
            raise EditError(f"Replace network: expected a NetworkSpec, got {type(self.spec).__name__}")
        for i, layer in enumerate(self.spec.layers):
            try:
                layer.check()
            except LayerConfigError as exc:
                raise EditError(f"Replace network: layer {i + 1} {exc}") from exc
        self._old = spec.copy()
        self.text = _replacement_text(spec, self.spec)
        return self.spec.copy()

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return _kept(self._old).copy()


def _replacement_text(old: NetworkSpec, new: NetworkSpec) -> str:
    """"Load lenet5", or, when the new network differs from the old in one layer only (a
    health fix that swaps a ReLU), what happened to that layer: "Change ReLU to LeakyReLU"."""
    if new.name == old.name and new.input == old.input and len(new.layers) == len(old.layers):
        changed = [(a, b) for a, b in zip(old.layers, new.layers) if a != b]
        if len(changed) == 1:
            a, b = changed[0]
            return f"Change {a.type}" if a.type == b.type else f"Change {a.type} to {b.type}"
    return f"Load {new.name}"


@dataclass
class RenameNetwork(Command):
    name: str
    _old: str = dc_field(default="", init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        if not isinstance(self.name, str) or not self.name.strip():
            raise EditError(f"Rename network: the name must be a non-empty string, got {self.name!r}")
        self._old = spec.name
        self.text = "Rename network"
        return spec.with_name(self.name)

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return spec.with_name(self._old)
