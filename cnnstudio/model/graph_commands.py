"""Undoable edits of a branching network's wiring (plain Python, no Qt).

Like ``commands``: ``redo(spec) -> new spec``, ``undo(spec) -> the spec before``,
with a ``text`` that names the edit. Wiring that breaks a rule (a cycle, a merge
with one input) is allowed and shown as a problem, never blocked; indices that do
not exist are refused with ``EditError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from cnnstudio.model import graph
from cnnstudio.model.commands import Command
from cnnstudio.model.errors import EditError
from cnnstudio.model.spec import INPUT, LayerSpec, NetworkSpec, layer_class


def _name(spec: NetworkSpec, i: int) -> str:
    return "Input" if i == INPUT else f"{i + 1} {spec.layers[i].type}"


def _check(spec: NetworkSpec, i: int, what: str, allow_input: bool = False) -> int:
    low = INPUT if allow_input else 0
    if isinstance(i, bool) or not isinstance(i, int) or not low <= i < len(spec.layers):
        raise EditError(f"{what}: layer index {i!r} is out of range (valid: {low}..{len(spec.layers) - 1})")
    return i


class _Rewire(Command):
    """Base: keeps the layers before the edit; undo puts them back exactly."""

    _before: list[LayerSpec]

    def _done(self, spec: NetworkSpec, layers: list[LayerSpec]) -> NetworkSpec:
        self._before = [layer.copy() for layer in spec.layers]
        return NetworkSpec(spec.name, spec.input, layers)

    def undo(self, spec: NetworkSpec) -> NetworkSpec:
        return NetworkSpec(spec.name, spec.input, [layer.copy() for layer in self._before])


@dataclass
class SetInputs(_Rewire):
    """Layer ``index`` reads ``inputs`` (layer indices, -1 for the network input)."""

    index: int
    inputs: tuple[int, ...]
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        i = _check(spec, self.index, "Connect")
        refs = tuple(_check(spec, r, "Connect", allow_input=True) for r in self.inputs)
        if not refs:
            raise EditError(f"Connect: layer {i + 1} needs at least one input")
        self.text = f"Connect layer {i + 1} {spec.layers[i].type} to {', '.join(_name(spec, r) for r in refs)}"
        layers = list(spec.layers)
        layers[i] = layers[i].with_inputs(refs)
        return self._done(spec, layers)


@dataclass
class Connect(_Rewire):
    """Wire ``src``'s output into ``dst``: a merge gains an input; any other layer reads ``src`` instead."""

    src: int
    dst: int
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        dst = _check(spec, self.dst, "Connect")
        src = _check(spec, self.src, "Connect", allow_input=True)
        layers = list(spec.layers)
        current = spec.sources(dst)
        if layer_class(layers[dst].type).merges:
            refs = current if src in current else current + (src,)
        else:
            refs = (src,)
        self.text = f"Connect {_name(spec, src)} to {_name(spec, dst)}"
        layers[dst] = layers[dst].with_inputs(refs)
        return self._done(spec, layers)


@dataclass
class Disconnect(_Rewire):
    """Remove the wire from ``src`` into ``dst`` (a layer left with no input reads the network input)."""

    src: int
    dst: int
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        dst = _check(spec, self.dst, "Disconnect")
        current = spec.sources(dst)
        if self.src not in current:
            raise EditError(f"Disconnect: layer {dst + 1} {spec.layers[dst].type} does not read "
                            f"{'the input' if self.src == INPUT else f'layer {self.src + 1}'}")
        refs = tuple(r for r in current if r != self.src) or (INPUT,)
        self.text = f"Disconnect {_name(spec, self.src)} from {_name(spec, dst)}"
        layers = list(spec.layers)
        layers[dst] = layers[dst].with_inputs(refs)
        return self._done(spec, layers)


@dataclass
class AddSkipConnection(_Rewire):
    """Insert an Add right after ``to`` that sums ``to``'s output with ``start``'s (a residual
    connection around the blocks between them); whoever read ``to`` reads the Add instead."""

    start: int
    to: int
    _before: list[LayerSpec] = dc_field(default_factory=list, init=False, repr=False, compare=False)

    def redo(self, spec: NetworkSpec) -> NetworkSpec:
        to = _check(spec, self.to, "Add skip connection")
        start = _check(spec, self.start, "Add skip connection", allow_input=True)
        if start >= to:
            raise EditError(f"Add skip connection: the skip must start before layer {to + 1}, "
                            f"got {_name(spec, start)}")
        add_at = to + 1
        layers = graph.inserted(list(spec.layers), add_at, LayerSpec("Add", {}, (start, to)))
        # the layer after ``to`` read it implicitly and now reads the Add; named readers follow too
        for j in range(add_at + 1, len(layers)):
            refs = layers[j].inputs
            if refs is not None and to in refs:
                layers[j] = layers[j].with_inputs([add_at if s == to else s for s in refs])
        self.text = f"Add skip connection from {_name(spec, start)} to {_name(spec, to)}"
        return self._done(spec, layers)
