"""ONNX import: an ONNX file (opset 9 and newer) -> an editable network with its weights.

The graph must be one chain from one image input (N, C, H, W) to one output. Each node is read by
the layer type that claims it (``Layer.from_onnx`` over the registry; the longest claim wins, so
``AveragePool`` + ``Mul`` by the window area is a SumPool2D); shape arithmetic (``Shape``,
``Gather``, ``Unsqueeze``, ``Concat`` ... ending in a ``Reshape``, as torch.onnx emits for
``x.view(x.size(0), -1)``) is evaluated so the Reshape is read as a Flatten. Leading ``Mul`` /
``Div`` by a scalar and ``Sub`` / ``Div`` by per-channel constants become the Input block's
preprocessing. Anything else is refused with one message naming the node, its op and, where
there is one, the block to use instead; nothing is returned (so nothing is written).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio.engine.errors import EngineError
from cnnstudio.engine.layers import LAYER_TYPES, Layer, Shape
from cnnstudio.project.export.common import ExportError, require

MIN_OPSET = 9
#: the batch size inside evaluated shape arithmetic (symbolic: the graph's batch dimension)
BATCH = -(2**40)
SHAPE_OPS = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Constant", "Identity")


@dataclass
class Node:
    """One ONNX node as plain data: ``attrs`` hold Python values (floats as their float32 spelling)."""

    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    doc: str = ""
    domain: str = ""


@dataclass
class ImportedNetwork:
    """What ``import_onnx`` read: the network, its weights and what the file said about itself."""

    spec: Any
    weights: dict[str, np.ndarray]
    class_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)


class ImportRefused(ExportError):
    """The file holds something CNN Studio cannot express; the message names the node."""


def short_float(value: float) -> float:
    """A float32 value as the shortest decimal that reads back as it (0.01, not 0.009999999776)."""
    return float(str(np.float32(value)))


class Reader:
    """What layers ask while they read nodes (see ``Layer.from_onnx``)."""

    BATCH = BATCH

    def __init__(self, path: Path, nodes: list[Node], consts: dict[str, np.ndarray]):
        self.path = path
        self.nodes = nodes
        self.consts = consts
        self.input_shape: Any = ()   # per sample; a tuple of shapes at a merge
        self.value_shapes: dict[str, tuple[int, ...]] = {}   # ONNX shapes of chain values, BATCH first
        self.producer = {out: n for n in nodes for out in n.outputs}
        self.consumers: dict[str, list[Node]] = {}
        for n in nodes:
            for v in n.inputs:
                if v:
                    self.consumers.setdefault(v, []).append(n)
        self._evaluated: dict[str, np.ndarray | None] = {}
        self.sources: dict[str, int] = {}   # the network's values -> the layer computing them (-1: input)

    # ---- for layers --------------------------------------------------------------
    def refuse(self, node: Node, why: str, substitute: str = "") -> None:
        fix = f"; {substitute}" if substitute else ""
        raise ImportRefused(f"{self.path}: node {node.name or '(unnamed)'} ({node.op}) {why}{fix}")

    def const(self, value: str) -> np.ndarray | None:
        if value in self.consts:
            return self.consts[value]
        return self.shape_value(value)

    def weight(self, node: Node, index: int) -> np.ndarray:
        """Input ``index`` of ``node`` as a constant array (refused when it is computed)."""
        value = node.inputs[index] if index < len(node.inputs) else ""
        arr = self.consts.get(value)
        if arr is None:
            self.refuse(node, f"takes input {index} ({value or 'missing'}) from the network rather than from a "
                        "stored constant; CNN Studio blocks hold their own weights")
        return np.asarray(arr)

    def tensor_inputs(self, node: Node) -> list[str]:
        """The inputs of ``node`` that are the network's values (not constants)."""
        return [v for v in node.inputs if v in self.sources]

    def only_consumer(self, value: str) -> Node | None:
        """The one node reading ``value`` (None when there are none, several, or it is a graph output)."""
        users = self.consumers.get(value, [])
        return users[0] if len(users) == 1 and value not in self.outputs else None

    def hint(self, node: Node, key: str) -> Any:
        """What CNN Studio's exporter noted on the node (e.g. the Conv padding mode), or None."""
        try:
            return (json.loads(node.doc).get("cnnstudio") or {}).get(key) if node.doc else None
        except (ValueError, AttributeError):
            return None

    short_float = staticmethod(short_float)

    def flattens(self, node: Node, size: int | None = None) -> bool:
        """``node`` turns (N, ...) into (N, size): Flatten(axis=1), Reshape to (N, -1) or (N, size),
        Squeeze of the trailing ones. ``size`` defaults to the current input's element count."""
        size = math.prod(self.input_shape) if size is None else size
        if node.op == "Flatten":
            return int(node.attrs.get("axis", 1)) == 1
        if node.op == "Reshape" and len(node.inputs) > 1:
            target = self.shape_value(node.inputs[1])
            if target is None or target.size != 2:
                return False
            first, second = (int(v) for v in target)
            return (first in (BATCH, 0) and second in (-1, size)) or (first == -1 and second == size)
        if node.op == "Squeeze":
            axes = node.attrs.get("axes")
            if axes is None and len(node.inputs) > 1:
                given = self.const(node.inputs[1])
                axes = None if given is None else [int(a) for a in given.reshape(-1)]
            return axes is not None and sorted(axes) == [2, 3]
        return False

    # ---- shape arithmetic ----------------------------------------------------------
    @property
    def outputs(self) -> set[str]:
        return self._outputs

    def set_outputs(self, outputs: set[str]) -> None:
        self._outputs = outputs

    def shape_value(self, value: str) -> np.ndarray | None:
        """``value`` evaluated when it is shape arithmetic over constants and chain shapes, else None."""
        if value in self.consts:
            return self.consts[value]
        if value in self._evaluated:
            return self._evaluated[value]
        self._evaluated[value] = None   # cycles and failures read as "not computable"
        node = self.producer.get(value)
        result = self._evaluate(node) if node is not None and node.op in SHAPE_OPS else None
        self._evaluated[value] = result
        return result

    def _evaluate(self, node: Node) -> np.ndarray | None:
        a = node.attrs
        if node.op == "Shape":
            shape = self.value_shapes.get(node.inputs[0])
            if shape is None:
                return None
            arr = np.array(shape, dtype=np.int64)
            return arr[a.get("start", 0):a.get("end", len(shape))]
        if node.op == "Constant":
            return self.consts.get(node.outputs[0])
        ins: list[Any] = [self.shape_value(v) if v else None for v in node.inputs]
        if any(v is None for v in ins[:1]):
            return None
        x = ins[0]
        try:
            if node.op in ("Identity", "Cast"):
                return np.asarray(x)
            if node.op == "Gather":
                return np.asarray(np.take(x, ins[1].astype(np.int64), axis=int(a.get("axis", 0))))
            if node.op == "Unsqueeze":
                axes: Any = a.get("axes") if "axes" in a else [int(v) for v in ins[1].reshape(-1)]
                out = np.asarray(x)
                for ax in sorted(int(v) for v in axes):
                    out = np.expand_dims(out, ax if ax >= 0 else out.ndim + 1 + ax)
                return out
            if node.op == "Squeeze":
                given = ins[1] if len(ins) > 1 else None
                axes = a.get("axes") if "axes" in a else (None if given is None else [int(v) for v in given.reshape(-1)])
                return np.asarray(np.squeeze(x, axis=None if axes is None else tuple(int(v) for v in axes)))
            if node.op == "Concat":
                if any(v is None for v in ins):
                    return None
                return np.concatenate([np.atleast_1d(v) for v in ins], axis=int(a.get("axis", 0)))
            if node.op == "Slice":
                starts, ends = ins[1], ins[2]
                axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
                steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), np.int64)
                index = [slice(None)] * np.ndim(x)
                for s, e, ax, st in zip(starts, ends, axes, steps):
                    index[int(ax)] = slice(int(s), int(min(e, 2**31)), int(st))
                return np.asarray(x)[tuple(index)]
        except (TypeError, ValueError, IndexError, AttributeError):
            return None
        return None


def _attrs(onnx: Any, node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, float):
            value = short_float(value)
        elif isinstance(value, list):
            value = [short_float(v) if isinstance(v, float) else v for v in value]
        elif attr.type == onnx.AttributeProto.TENSOR:
            value = onnx.numpy_helper.to_array(value)
        out[attr.name] = value
    return out


def _load(path: Path) -> Any:
    onnx = require("onnx", "ONNX import")
    if not path.exists():
        raise ExportError(f"{path}: not found; check the path")
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give an .onnx file")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises several unrelated types for a bad file
        raise ExportError(f"{path}: is not an ONNX model ({type(exc).__name__}: {exc}); give an .onnx file "
                          "saved by torch.onnx.export, CNN Studio or another ONNX exporter") from None


def import_onnx(path: str | os.PathLike[str], scale: float | None = None, mean: Any = None, std: Any = None,
                name: str | None = None) -> ImportedNetwork:
    """Read ``path`` into a network. ``scale``/``mean``/``std``: the preprocessing the model expects
    (how pixels 0..255 become its input); refused when the graph does its own. Default 1/255."""
    onnx = require("onnx", "ONNX import")
    path = Path(path)
    model = _load(path)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset < MIN_OPSET:
        raise ImportRefused(f"{path}: uses ONNX opset {opset}; CNN Studio reads opset {MIN_OPSET} and newer "
                            "(convert it with onnx.version_converter.convert_version(model, 13))")
    graph = model.graph
    consts = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    nodes: list[Node] = []
    for i, n in enumerate(graph.node):
        node = Node(n.op_type, n.name or f"node{i}", list(n.input), list(n.output), _attrs(onnx, n), n.doc_string,
                    n.domain)
        if node.op == "Constant" and not node.domain:
            consts[node.outputs[0]] = _constant_value(node)
        nodes.append(node)
    meta = {p.key: p.value for p in model.metadata_props}
    reader = Reader(path, nodes, consts)
    reader.set_outputs({o.name for o in graph.output})
    x, (c, h, w) = _graph_input(path, graph, consts)
    reader.value_shapes[x] = (BATCH, c, h, w)
    reader.input_shape = (c, h, w)
    used: set[int] = {id(n) for n in nodes if n.op == "Constant"}
    x, pre, pre_nodes = _leading_preprocessing(reader, x, c, meta)
    used |= {id(n) for n in pre_nodes}
    if pre is not None and (scale is not None or mean is not None or std is not None):
        raise ImportRefused(f"{path}: the model does its own preprocessing (node {pre_nodes[0].name} "
                            f"({pre_nodes[0].op}) and after); leave out --scale, --mean and --std")
    found = _read_graph(reader, x, used)
    if not found:
        raise ImportRefused(f"{path}: the graph has no layers CNN Studio can read")
    found, exact = _wiring(found, meta)
    spec, weights = _network(path, found, exact, (c, h, w), pre, scale, mean, std,
                             name or meta.get("cnnstudio.network") or graph.name or path.stem)
    names = _class_names(meta)
    notes = [] if pre is not None or scale is not None else [
        "assumed pixels are scaled by 1/255 (the model holds no preprocessing); give --scale, --mean and --std "
        "if it was trained otherwise"]
    return ImportedNetwork(spec, weights, names, notes)


def _constant_value(node: Node) -> np.ndarray:
    a = node.attrs
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            return np.asarray(a[key], dtype=np.float32 if "float" in key else (np.int64 if "int" in key else None))
    return np.zeros(0, np.float32)


def _graph_input(path: Path, graph: Any, consts: dict[str, np.ndarray]) -> tuple[str, tuple[int, int, int]]:
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise ImportRefused(f"{path}: the graph has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                            "CNN Studio networks take one image batch")
    inp = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    if len(dims) != 4 or any(d is None or d < 1 for d in dims[1:]):
        shown = ["?" if d is None else d for d in dims]
        raise ImportRefused(f"{path}: input {inp.name} has shape {shown}; CNN Studio reads image batches "
                            "(N, C, H, W) with a fixed channel count, height and width")
    if inp.type.tensor_type.elem_type != 1:   # TensorProto.FLOAT
        raise ImportRefused(f"{path}: input {inp.name} is not float32; CNN Studio feeds float32 images")
    c, h, w = (int(d or 0) for d in dims[1:])
    return inp.name, (c, h, w)


def _per_channel(arr: np.ndarray | None, c: int) -> np.ndarray | None:
    """A constant broadcasting over channels only: (C,), (C, 1, 1) or (1, C, 1, 1) -> (C,); else None."""
    if arr is None or arr.dtype.kind != "f":
        return None
    if arr.size == 1:
        return np.full(c, float(arr.reshape(())), np.float64)
    squeezed = arr.reshape(-1)
    trailing = arr.shape[-2:] == (1, 1) if arr.ndim >= 3 else False
    if squeezed.size == c and (arr.ndim == 1 and c == 1 or trailing):
        return squeezed.astype(np.float64)
    return None


def _leading_preprocessing(reader: Reader, x: str, c: int, meta: dict[str, str],
                           ) -> tuple[str, tuple[float, Any, Any] | None, list[Node]]:
    """Mul/Div by a scalar, then Sub/Div per channel, at the graph's start -> (value after them,
    (scale, mean, std) or None, their nodes)."""
    nodes: list[Node] = []
    scale, mean, std = 1.0, None, None

    def other(node: Node) -> np.ndarray | None:
        if node.inputs[0] != x or len(node.inputs) != 2:
            return None
        return reader.const(node.inputs[1])

    node = reader.only_consumer(x)
    if node is not None and node.op in ("Mul", "Div"):
        k = other(node)
        if k is not None and k.size == 1 and k.dtype.kind == "f" and float(k.reshape(())) != 0:
            v = float(k.reshape(()))
            scale = v if node.op == "Mul" else 1.0 / v
            nodes.append(node)
            x = node.outputs[0]
            node = reader.only_consumer(x)
    if node is not None and node.op == "Sub":
        m = _per_channel(other(node), c)
        nxt = reader.only_consumer(node.outputs[0])
        if m is not None and nxt is not None and nxt.op == "Div" and nxt.inputs[0] == node.outputs[0]:
            s = _per_channel(reader.const(nxt.inputs[1]), c)
            if s is not None and (s > 0).all():
                mean, std = m, s
                nodes += [node, nxt]
                x = nxt.outputs[0]
    if not nodes:
        return x, None, nodes
    reader.value_shapes[x] = reader.value_shapes[next(iter(reader.value_shapes))]
    recorded = _recorded_preprocessing(meta)
    if recorded is not None and _same_in_float32(recorded, (scale, mean, std)):
        return x, recorded, nodes      # CNN Studio's own export: its exact values
    pre = (short_float(scale), None if mean is None else [short_float(v) for v in mean],
           None if std is None else [short_float(v) for v in std])
    return x, pre, nodes


def _recorded_preprocessing(meta: dict[str, str]) -> tuple[float, Any, Any] | None:
    try:
        rec = json.loads(meta["cnnstudio.preprocessing"])
        return (float(rec["scale"]), rec.get("mean"), rec.get("std"))
    except (KeyError, ValueError, TypeError):
        return None


def _same_in_float32(recorded: tuple[float, Any, Any], found: tuple[float, Any, Any]) -> bool:
    for a, b in zip(recorded, found):
        if (a is None) != (b is None):
            return False
        if a is not None and not np.array_equal(np.float32(a), np.float32(b)):
            return False
    return True


def _read_node(reader: Reader, node: Node) -> Any:
    matches = []
    joins = len(reader.tensor_inputs(node)) > 1   # only merges read several of the network's values
    for cls in LAYER_TYPES.values():
        if bool(getattr(cls, "merges", False)) != joins:
            continue
        try:
            match = cls.from_onnx(node, reader)
        except EngineError as exc:   # a value the layer's schema refuses (e.g. a 9000-filter Conv)
            reader.refuse(node, f"cannot be expressed: {exc}")
        if match is not None:
            matches.append(match)
    if not matches:
        substitute = next((cls for cls in LAYER_TYPES.values() if node.op in cls.onnx_substitute_for), None)
        fix = f"replace it with {substitute.type_name}" if substitute else ""
        if joins:
            reader.refuse(node, "combines two branches of the network; CNN Studio networks are one chain of blocks")
        reader.refuse(node, "has no CNN Studio block", fix)
    return max(matches, key=lambda m: len(m.nodes))


#: one read layer: the layer, its arrays, the indices of the layers it reads (INPUT: the input)
Found = tuple[Layer, dict[str, np.ndarray], Any]
INPUT = -1


def _read_graph(reader: Reader, x: str, used: set[int]) -> list[Found]:
    """Every node on the network's values, in graph order (topological), read into layers."""
    source: dict[str, int] = {x: INPUT}
    shapes: dict[int, Shape] = {INPUT: reader.input_shape}
    found: list[Found] = []
    reader.sources = source
    for node in reader.nodes:
        if id(node) in used:
            continue
        ins = [v for v in node.inputs if v in source]
        if not ins:
            if node.op not in SHAPE_OPS:
                reader.refuse(node, "is not on the network's path from its input to its output; CNN Studio "
                              "networks compute everything from their one input")
            continue
        if node.op == "Shape":
            continue
        if node.op == "Identity":   # a renaming (e.g. to the output's name)
            source[node.outputs[0]] = source[ins[0]]
            reader.value_shapes[node.outputs[0]] = reader.value_shapes[ins[0]]
            used.add(id(node))
            continue
        srcs = tuple(source[v] for v in ins)
        reader.input_shape = shapes[srcs[0]] if len(srcs) == 1 else tuple(shapes[s] for s in srcs)
        match = _read_node(reader, node)
        match = _exact(reader, match)
        used |= {id(n) for n in match.nodes}
        try:
            out_shape = match.layer.output_shape(reader.input_shape)
        except EngineError as exc:
            raise ImportRefused(f"{reader.path}: node {node.name} ({node.op}): {exc}") from None
        index = len(found)
        found.append((match.layer, {k: np.asarray(v, np.float32) for k, v in match.weights.items() if v is not None},
                      srcs))
        source[match.output] = index
        shapes[index] = out_shape
        reader.value_shapes[match.output] = (BATCH, *out_shape)
    outs = sorted(reader.outputs)
    if len(outs) != 1:
        raise ImportRefused(f"{reader.path}: the graph has {len(outs)} outputs ({', '.join(outs)}); CNN Studio "
                            "networks have one")
    if source.get(outs[0]) != len(found) - 1:
        raise ImportRefused(f"{reader.path}: the graph's output {outs[0]} is not computed by its last layer; "
                            "CNN Studio networks end in their last block")
    return found


def _exact(reader: Reader, match: Any) -> Any:
    """The match with the hyperparameters CNN Studio's exporter noted on its node, when they are
    what the node's attributes say up to float32 rounding (0.1 rather than 0.10000000149)."""
    node = match.nodes[0]
    config = reader.hint(node, "config")
    if reader.hint(node, "type") != match.layer.type_name or not isinstance(config, dict):
        return match
    try:
        exact = type(match.layer).from_config(config)
    except (EngineError, TypeError):
        return match
    if not _same_in_float32_tree(exact.get_config(), match.layer.get_config()):
        return match
    return dataclasses.replace(match, layer=exact)


def _same_in_float32_tree(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_in_float32_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_in_float32_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.float32(a) == np.float32(b))
    return type(a) is type(b) and a == b


def _wiring(found: list[Found], meta: dict[str, str]) -> tuple[list[Found], bool]:
    """Layers CNN Studio's exporter left out (the identity at inference, e.g. Dropout) back in their
    place, and the inputs spelled as the exported network spelled them, when the metadata agrees
    with the wiring read from the graph; else the wiring as read."""
    try:
        omitted = json.loads(meta["cnnstudio.omitted_layers"])
        spelled = json.loads(meta["cnnstudio.inputs"])
        gone = {int(o["index"]): LAYER_TYPES[o["type"]].from_config(o["config"]) for o in omitted}
    except (ValueError, KeyError, TypeError, EngineError):
        return found, False
    if not isinstance(spelled, list) or len(spelled) != len(found) + len(gone):
        return found, False
    kept = [j for j in range(len(spelled)) if j not in gone]   # imported index -> original index
    where = {INPUT: INPUT, **{k: j for k, j in enumerate(kept)}}

    def sources(j: int) -> tuple[int, ...]:
        refs = spelled[j]
        return (j - 1,) if refs is None else tuple(int(r) for r in refs)

    def resolve(r: int) -> int:   # a left-out layer stands for what it read
        while r in gone:
            r = sources(r)[0]
        return r

    for k, (_, _, srcs) in enumerate(found):
        j = kept[k]
        if tuple(resolve(r) for r in sources(j)) != tuple(where[s] for s in srcs):
            return found, False
    out: list[Found] = []
    for j in range(len(spelled)):
        layer, arrays = (gone[j], {}) if j in gone else found[kept.index(j)][:2]
        out.append((layer, arrays, None if spelled[j] is None else tuple(int(r) for r in spelled[j])))
    return out, True


def _network(path: Path, found: list[Found], exact: bool, chw: tuple[int, int, int], pre: Any, scale: Any,
             mean: Any, std: Any, name: str) -> tuple[Any, dict[str, np.ndarray]]:
    from cnnstudio.engine.network import WeightsMismatchError
    from cnnstudio.model import build_network
    from cnnstudio.model.errors import ModelError
    from cnnstudio.model.spec import DEFAULT_SCALE, InputSpec, LayerSpec, NetworkSpec

    c, h, w = chw
    if pre is not None:
        scale, mean, std = pre
    try:
        inp = InputSpec(h, w, c, DEFAULT_SCALE if scale is None else scale, mean, std)
    except EngineError as exc:
        raise ExportError(f"{path}: preprocessing: {exc}") from None
    layers = [LayerSpec(layer.type_name, layer.get_config(), srcs if exact or srcs != (i - 1,) else None)
              for i, (layer, _, srcs) in enumerate(found)]
    spec = NetworkSpec(name, inp, layers)
    weights = {f"{i}.{k}": v for i, (_, arrays, _) in enumerate(found) for k, v in arrays.items()}
    try:
        build_network(spec).set_weights(weights)
    except (ModelError, WeightsMismatchError, ValueError) as exc:
        raise ImportRefused(f"{path}: the network read from it does not run in CNN Studio: {exc}") from None
    return spec, weights


def _class_names(meta: dict[str, str]) -> list[str] | None:
    try:
        names = json.loads(meta["cnnstudio.class_names"])
    except (KeyError, ValueError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None
