"""ONNX export: opset 17, input NCHW float32 with a symbolic batch, inference semantics.

The graph's input is the raw pixels (0..255 as float32, NCHW): the Input block's preprocessing
is folded into the graph as its first nodes (``Mul`` by the scale, then ``Sub`` the per-channel
mean and ``Div`` by the std when the block has them), and also recorded in the metadata
(``cnnstudio.preprocessing``, with ``"in_graph": true``). Each layer adds its own nodes
(``Layer.onnx_nodes``); layers that are the identity at inference (Dropout) add none and their
place is kept in the metadata (``cnnstudio.omitted_layers``) so an import gives them back.
Shapes are inferred and stored, so Netron shows them on every edge.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio import __version__
from cnnstudio.model.spec import INPUT
from cnnstudio.project.export.common import ExportError, block_names, layer_weights, require

OPSET = 17
INPUT_NAME = "pixels"
#: ONNX's IR version for opset 17 (onnx 1.12+); newer runtimes read it, older ones too
IR_VERSION = 8


class OnnxBuilder:
    """Collects nodes and initializers; names follow torch.onnx's (``/conv1/Conv``, ``conv1.weight``)."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.block = ""
        self._used: set[str] = set()
        self._helper = require("onnx.helper", "ONNX export")
        self._numpy_helper = require("onnx.numpy_helper", "ONNX export")

    def _unique(self, name: str) -> str:
        base, n = name, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name

    def node(self, op: str, inputs: list[str], hint: dict[str, Any] | None = None, **attrs: Any) -> str:
        """Add one node of ``op`` on ``inputs``; returns its output's name. ``hint`` goes in the
        node's doc_string (what the importer may use to pick among equivalent spellings)."""
        name = self._unique(f"/{self.block}/{op}")
        out = f"{name}_output_0"
        doc = json.dumps({"cnnstudio": hint}) if hint else None
        self.nodes.append(self._helper.make_node(op, inputs, [out], name=name, doc_string=doc, **attrs))
        return out

    def note(self, node: Any, **facts: Any) -> None:
        """Add ``facts`` to what the node's doc_string tells an importer (``{"cnnstudio": {...}}``)."""
        told = json.loads(node.doc_string).get("cnnstudio", {}) if node.doc_string else {}
        node.doc_string = json.dumps({"cnnstudio": {**told, **facts}})

    def weight(self, suffix: str, array: np.ndarray) -> str:
        return self._initializer(f"{self.block}.{suffix}", array)

    def const(self, suffix: str, array: np.ndarray) -> str:
        return self._initializer(f"/{self.block}/{suffix}", array)

    def _initializer(self, name: str, array: np.ndarray) -> str:
        name = self._unique(name)
        arr = np.asarray(array)
        arr = arr.astype(np.float32) if arr.dtype.kind == "f" else arr
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name


def preprocessing_record(input_spec: Any) -> dict[str, Any]:
    """The Input block's preprocessing as JSON data (the metadata's ``cnnstudio.preprocessing``)."""
    return {"scale": input_spec.scale, "mean": list(input_spec.mean) if input_spec.mean else None,
            "std": list(input_spec.std) if input_spec.std else None}


def build_model(spec: Any, weights: dict[str, np.ndarray], class_names: list[str] | None = None,
                project_name: str | None = None) -> Any:
    """An ``onnx.ModelProto`` for ``spec`` (model.NetworkSpec) with ``weights`` ("{i}.{name}" arrays),
    shapes inferred, checked with ``onnx.checker.check_model(full_check=True)``."""
    onnx = require("onnx", "ONNX export")
    helper = onnx.helper
    from cnnstudio.model.shapes import validate

    validate(spec)
    layers = [layer.check() for layer in spec.layers]
    names = block_names(layers)
    g = OnnxBuilder()
    inp = spec.input
    g.block = "preprocess"
    x = g.node("Mul", [INPUT_NAME, g.const("scale", np.array(inp.scale, np.float32))])
    if inp.mean is not None:
        x = g.node("Sub", [x, g.const("mean", np.asarray(inp.mean, np.float32).reshape(1, -1, 1, 1))])
        x = g.node("Div", [x, g.const("std", np.asarray(inp.std, np.float32).reshape(1, -1, 1, 1))])
    # each layer reads its sources (the one before it in a chain; named inputs in a branching network)
    values: dict[int, str] = {INPUT: x}
    shapes: dict[int, tuple[int, ...]] = {INPUT: inp.shape}
    omitted = []
    for i, (layer, name) in enumerate(zip(layers, names)):
        g.block = name
        srcs = spec.sources(i)
        merges = getattr(type(layer), "merges", False)
        xin: Any = [values[s] for s in srcs] if merges else values[srcs[0]]
        shape: Any = tuple(shapes[s] for s in srcs) if merges else shapes[srcs[0]]
        first = len(g.nodes)
        values[i] = layer.onnx_nodes(g, xin, shape, layer_weights(weights, i, layer, shape))
        if len(g.nodes) > first:   # the exact hyperparameters (ONNX keeps float attributes as float32)
            g.note(g.nodes[first], type=layer.type_name, config=spec.layers[i].to_dict()["config"])
        shapes[i] = layer.output_shape(shape)
        if values[i] == xin:
            omitted.append({"index": i, "type": layer.type_name, "config": spec.layers[i].to_dict()["config"]})
    x, shape = values[len(layers) - 1], shapes[len(layers) - 1]
    out_name = "probabilities" if layers[-1].must_be_last else "scores"
    g.nodes.append(helper.make_node("Identity", [x], [out_name], name="/output/Identity"))
    batch = "batch"
    graph = helper.make_graph(
        g.nodes, _graph_name(spec.name),
        [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT, [batch, *inp.shape])],
        [helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, [batch, *shape])],
        initializer=g.initializers,
        doc_string=f"{spec.name}: input {INPUT_NAME} is raw pixels (0..255) NCHW; "
                   f"preprocessing ({inp.preprocessing_text()}) is the graph's first nodes")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="CNN Studio", producer_version=__version__,
                              doc_string=f"CNN Studio network {spec.name!r}")
    model.ir_version = IR_VERSION
    meta = {
        "cnnstudio.version": __version__,
        "cnnstudio.project": project_name or spec.name,
        "cnnstudio.network": spec.name,
        "cnnstudio.class_names": json.dumps(list(class_names) if class_names else
                                            [str(k) for k in range(int(shape[0]))]),
        "cnnstudio.preprocessing": json.dumps({**preprocessing_record(inp), "in_graph": True}),
        "cnnstudio.omitted_layers": json.dumps(omitted),
        # how each layer named its inputs (null: the one before it); the importer reads the wiring from
        # the graph and takes this spelling only where it agrees
        "cnnstudio.inputs": json.dumps([None if ls.inputs is None else list(ls.inputs) for ls in spec.layers]),
        "cnnstudio.input_layout": "NCHW float32, raw pixel values 0..255 (preprocessing is in the graph)",
    }
    helper.set_model_props(model, meta)
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def _graph_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name) or "network"


def export_onnx(spec: Any, weights: dict[str, np.ndarray] | None, path: str | os.PathLike[str],
                class_names: list[str] | None = None, project_name: str | None = None) -> Path:
    """Write ``spec`` with ``weights`` (None: the network's initial weights) to ``path``; atomic."""
    onnx = require("onnx", "ONNX export")
    if weights is None:
        from cnnstudio.model import build_network

        weights = build_network(spec).get_weights()
    model = build_model(spec, weights, class_names, project_name)
    path = Path(path)
    _atomic_write(path, model.SerializeToString())
    del onnx
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give a file name ending in .onnx")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
