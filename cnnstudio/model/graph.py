"""The wiring of a branching network: who reads whom, checked in the model.

A ``NetworkSpec`` is an input plus layers; each layer reads the layers its
``inputs`` name (``INPUT`` = -1 is the network input) or, without ``inputs``, the
layer before it, so a chain is the special case where nobody names anything.
The rules (each broken one becomes a ``NetworkProblem`` whose ``kind`` maps to a
typed error in ``errors.GRAPH_ERRORS``):

- every named input exists (a layer number, or -1 for the input) and is not the layer itself;
- the list runs from input to output: a layer reads only layers before it
  (reading a later one is a ``forward_reference``; a circle of such reads is a ``cycle``);
- a layer that is not a merge reads one input; a merge (``Layer.merges``) reads two or more;
- exactly one layer, the last, is read by nobody: the network's output.

Layers are numbered from 1 in messages, as the editor shows them.
"""

from __future__ import annotations

from cnnstudio.engine.errors import ShapeError
from cnnstudio.model.errors import NetworkProblem
from cnnstudio.model.spec import INPUT, LayerSpec, NetworkSpec, layer_class


def readers(spec: NetworkSpec) -> dict[int, list[int]]:
    """For each layer (and ``INPUT``), the layers that read its output, in order."""
    out: dict[int, list[int]] = {i: [] for i in range(INPUT, len(spec.layers))}
    for i in range(len(spec.layers)):
        for src in spec.sources(i):
            if src in out:
                out[src].append(i)
    return out


def _name(spec: NetworkSpec, i: int) -> str:
    return "the input" if i == INPUT else f"layer {i + 1} {spec.layers[i].type}"


def _cycle(spec: NetworkSpec) -> list[int] | None:
    """Layers of one circle of reads (in reading order), or None."""
    n = len(spec.layers)
    state = [0] * n   # 0 new, 1 on the path, 2 done
    path: list[int] = []

    def visit(i: int) -> list[int] | None:
        state[i] = 1
        path.append(i)
        for src in spec.sources(i):
            if not 0 <= src < n:
                continue
            if state[src] == 1:
                return path[path.index(src):]
            if state[src] == 0:
                found = visit(src)
                if found:
                    return found
        path.pop()
        state[i] = 2
        return None

    for start in range(n):
        if state[start] == 0:
            found = visit(start)
            if found:
                return found[::-1]
    return None


def graph_problems(spec: NetworkSpec) -> list[NetworkProblem]:
    """Everything wrong with the wiring (empty for every chain)."""
    if spec.is_chain and not any(layer_class(layer.type).merges for layer in spec.layers):
        return []
    n = len(spec.layers)
    problems: list[NetworkProblem] = []
    cycle = _cycle(spec)
    if cycle:
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        loop = " -> ".join(str(i + 1) for i in cycle + cycle[:1])
        first = cycle[0]
        # the read that goes forward in the list is the one to remove
        back = [(src, i) for i in cycle for src in spec.sources(i) if src in cycle and src >= i]
        src, dst = back[0] if back else (first, first)
        problems.append(NetworkProblem(
            first, spec.layers[first].type, "inputs", [i + 1 for i in cycle],
            f"layer {first + 1} {spec.layers[first].type}: layers {loop} read each other in a circle, "
            "so none of them can run first",
            f"remove the connection from layer {src + 1} into layer {dst + 1}", "cycle"))
    for i, layer in enumerate(spec.layers):
        head = f"layer {i + 1} {layer.type}"
        srcs = spec.sources(i)
        cls = layer_class(layer.type)
        for src in srcs:
            if src >= n or src == i:
                what = "itself" if src == i else f"layer {src + 1}, which does not exist"
                problems.append(NetworkProblem(i, layer.type, "inputs", src + 1, f"{head}: reads {what}",
                                               "connect it to an earlier layer or to the input", "bad_input"))
            elif src > i and not cycle:
                problems.append(NetworkProblem(
                    i, layer.type, "inputs", src + 1,
                    f"{head}: reads layer {src + 1} {spec.layers[src].type}, which comes after it",
                    f"move layer {src + 1} {spec.layers[src].type} before layer {i + 1}", "forward_reference"))
        if cls.merges and len(srcs) < 2:
            problems.append(NetworkProblem(
                i, layer.type, "inputs", len(srcs),
                f"{head}: merges two or more inputs but reads only {_name(spec, srcs[0]) if srcs else 'nothing'}",
                "connect a second branch to it, or remove it", "merge_single_input"))
        if not cls.merges and len(srcs) > 1:
            names = " and ".join(_name(spec, s) for s in srcs)
            problems.append(NetworkProblem(
                i, layer.type, "inputs", [s + 1 for s in srcs], f"{head}: reads {names}, but it takes one input",
                "merge them first with an Add or a Concatenate layer", "too_many_inputs"))
    sinks = [i for i, read_by in readers(spec).items() if i != INPUT and not read_by]
    extra = [i for i in sinks if i != n - 1]
    if extra and not cycle:
        i = extra[0]
        problems.append(NetworkProblem(
            i, spec.layers[i].type, "inputs", None,
            f"layer {i + 1} {spec.layers[i].type}: nothing reads its output, so the network would have "
            f"{len(sinks)} outputs",
            f"connect it to a later layer (an Add or Concatenate merges branches) or remove it", "multiple_outputs"))
    return sorted(problems, key=lambda p: -1 if p.index is None else p.index)


def ancestors(spec: NetworkSpec, index: int) -> list[int]:
    """Every layer that ``index`` depends on, in list order (the input not included)."""
    seen: set[int] = set()
    todo = [index]
    while todo:
        for src in spec.sources(todo.pop()):
            if 0 <= src < len(spec.layers) and src not in seen:
                seen.add(src)
                todo.append(src)
    return sorted(seen)


def _hwc(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(s) for s in shape)


def _filters_upstream(spec: NetworkSpec, index: int) -> int | None:
    """The nearest layer at or before ``index`` on its branch that sets the channel count
    (a layer with a ``filters`` hyperparameter), walking back through one-input layers."""
    i = index
    while 0 <= i < len(spec.layers):
        cls = layer_class(spec.layers[i].type)
        if any(h.name == "filters" for h in cls.hyperparameters):
            return i
        srcs = spec.sources(i)
        if cls.merges or len(srcs) != 1:
            return None
        i = srcs[0]
    return None


def merge_problem(spec: NetworkSpec, index: int, exc: ShapeError) -> NetworkProblem:
    """A merge whose inputs disagree: both branches named, both shapes, and a concrete fix."""
    details = exc.details
    shapes = details.get("shapes", ())
    a, b = details.get("first", 0), details.get("other", 1)
    srcs = spec.sources(index)
    layer = spec.layers[index]
    sa, sb = shapes[a], shapes[b]
    head = f"layer {index + 1} {layer.type}"
    what = f"inputs {_hwc(sa)} (from {_name(spec, srcs[a])}) and {_hwc(sb)} (from {_name(spec, srcs[b])})"
    fixes: list[str] = []
    if len(sa) != len(sb):
        return NetworkProblem(index, layer.type, "inputs", [_hwc(sa), _hwc(sb)],
                              f"{head}: {what} are not both images or both vectors",
                              "merge two image branches, or Flatten both first", "merge_mismatch")
    if len(sa) == 3 and sa[1:] != sb[1:]:
        kind = "height and width"
        big, small, src_big = (sa, sb, srcs[a]) if sa[1] >= sb[1] else (sb, sa, srcs[b])
        if small[1] and big[1] % small[1] == 0 and big[2] % small[2] == 0:
            s = big[1] // small[1]
            fixes.append(f"give the branch from {_name(spec, src_big)} a 1x1 Conv2D with "
                         f"{small[0] if layer.type == 'Add' else big[0]} filters and stride {s}")
        fixes.append("use the same strides, padding and pooling on both branches")
    else:
        kind = "channels"
        j = _filters_upstream(spec, srcs[b])
        if j is not None:
            fixes.append(f"set layer {j + 1} {spec.layers[j].type}'s filters to {sa[0]}")
        where = "the input" if srcs[a] == INPUT else f"layer {srcs[a] + 1}"
        fixes.append(f"insert a 1x1 Conv2D with {sb[0]} filters after {where}")
    return NetworkProblem(index, layer.type, "inputs", [_hwc(sa), _hwc(sb)],
                          f"{head}: {what} differ in {kind}", ", or ".join(fixes), "merge_mismatch")


# ---- keeping the wiring when the list changes ----------------------------------------
def _rewire(layer: LayerSpec, refs: list[int]) -> LayerSpec:
    unique = list(dict.fromkeys(refs))   # a bypass can name a source twice
    return layer.with_inputs(unique)


def inserted(layers: list[LayerSpec], index: int, layer: LayerSpec) -> list[LayerSpec]:
    """``layers`` with ``layer`` at ``index``; named inputs still point at the same layers.

    A layer without named inputs reads the one before it, so inserting into a chain
    puts the new layer between its neighbours, as it always did.
    """
    out = layers[:index] + [layer] + layers[index:]
    for j in range(index + 1, len(out)):
        refs = out[j].inputs
        if refs is not None:
            out[j] = _rewire(out[j], [r + 1 if r >= index else r for r in refs])
    return out


def removed(layers: list[LayerSpec], index: int) -> list[LayerSpec]:
    """``layers`` without the one at ``index``; whoever read it now reads what it read."""
    gone = layers[index]
    bypass = list(gone.inputs) if gone.inputs is not None else [index - 1]
    out = layers[:index] + layers[index + 1:]
    for j in range(index, len(out)):
        refs = out[j].inputs
        if refs is None:
            continue
        new: list[int] = []
        for r in refs:
            new += bypass if r == index else [r - 1 if r > index else r]
        out[j] = _rewire(out[j], new)
    return out


def moved(layers: list[LayerSpec], src: int, dst: int) -> list[LayerSpec]:
    """``layers`` with the one at ``src`` moved to ``dst``; named inputs follow their layers."""
    order = list(range(len(layers)))
    order.insert(dst, order.pop(src))
    where = {old: new for new, old in enumerate(order)}
    where[INPUT] = INPUT
    out = [layers[old] for old in order]
    return [layer if layer.inputs is None else _rewire(layer, [where.get(r, r) for r in layer.inputs])
            for layer in out]
