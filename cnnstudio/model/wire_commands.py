"""Undoable edits that put a layer on a wire of a branching network (plain Python, no Qt).

A wire runs from ``src``'s output into ``dst`` (``src`` may be ``INPUT``). Inserting on it
puts the new layer just before ``dst`` in the list, reading ``src``; ``dst`` then reads the
new layer in place of ``src`` and every other wire stays as it was. In a chain this is
exactly ``AddLayer(dst, layer)``, and the chain stays a chain (nobody names inputs).
Like ``graph_commands``: ``redo(spec) -> new spec``, ``undo`` restores the layers exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from cnnstudio.model import graph
from cnnstudio.model.commands import Command
from cnnstudio.model.errors import EditError
from cnnstudio.model.spec import INPUT, LayerSpec, NetworkSpec


def _name(spec: NetworkSpec, i: int) -> str:
    return "Input" if i == INPUT else f"{i + 1} {spec.layers[i].type}"


def _check_wire(spec: NetworkSpec, src: int, dst: int, what: str) -> None:
    n = len(spec.layers)
    if isinstance(dst, bool) or not isinstance(dst, int) or not 0 <= dst < n:
        raise EditError(f"{what}: layer index {dst!r} is out of range (valid: 0..{n - 1})")
    if src not in spec.sources(dst):
        raise EditError(f"{what}: layer {dst + 1} {spec.layers[dst].type} does not read "
                        f"{'the input' if src == INPUT else f'layer {src + 1}'}, so there is no such wire")
    if src >= dst:
        raise EditError(f"{what}: the wire from layer {src + 1} into layer {dst + 1} runs backwards; "
                        "fix that connection first")


def _on_wire(layers: list[LayerSpec], src: int, dst: int, layer: LayerSpec) -> list[LayerSpec]:
    """``layers`` with ``layer`` inserted at ``dst``, reading ``src``, and old ``dst`` reading it."""
    implicit = src == dst - 1
    new = layer.with_inputs(None if implicit else (src,))
    out = graph.inserted(layers, dst, new)
    reader = out[dst + 1]
    if reader.inputs is not None:   # a layer with no named inputs already reads the one before it
        out[dst + 1] = reader.with_inputs([dst if s == src else s for s in reader.inputs])
    return out


@dataclass
class InsertOnWire(Command):
    """Insert ``layer`` on the wire from ``src`` into ``dst``."""

    src: int
    dst: int
    layer: LayerSpec
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        _check_wire(spec, self.src, self.dst, "Insert on wire")
        if not isinstance(self.layer, LayerSpec):
            raise EditError(f"Insert on wire: expected a LayerSpec, got {type(self.layer).__name__}")
        self.layer.check()
        self.text = f"Insert {self.layer.type} between {_name(spec, self.src)} and {_name(spec, self.dst)}"
        self._before = [layer.copy() for layer in spec.layers]
        return NetworkSpec(spec.name, spec.input, _on_wire(list(spec.layers), self.src, self.dst, self.layer))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return NetworkSpec(spec.name, spec.input, [layer.copy() for layer in self._before])


@dataclass
class MoveOntoWire(Command):
    """Take layer ``index`` out (its readers read what it read) and insert it on the wire
    from ``src`` into ``dst`` (indices of the network before the move)."""

    index: int
    src: int
    dst: int
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        n = len(spec.layers)
        if isinstance(self.index, bool) or not isinstance(self.index, int) or not 0 <= self.index < n:
            raise EditError(f"Move onto wire: layer index {self.index!r} is out of range (valid: 0..{n - 1})")
        _check_wire(spec, self.src, self.dst, "Move onto wire")
        if self.index in (self.src, self.dst):
            raise EditError(f"Move onto wire: layer {self.index + 1} is an end of that wire already")
        layer = spec.layers[self.index]
        self.text = f"Move {layer.type} between {_name(spec, self.src)} and {_name(spec, self.dst)}"
        self._before = [ls.copy() for ls in spec.layers]
        layers = graph.removed(list(spec.layers), self.index)
        src = self.src - 1 if self.src > self.index else self.src
        dst = self.dst - 1 if self.dst > self.index else self.dst
        rest = NetworkSpec(spec.name, spec.input, layers)
        if src not in rest.sources(dst):   # the removal rewired dst (it read the moved layer's reader)
            src = rest.sources(dst)[0]
        return NetworkSpec(spec.name, spec.input, _on_wire(layers, src, dst, layer))

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return NetworkSpec(spec.name, spec.input, [layer.copy() for layer in self._before])
