"""PyTorch export: ``model.py`` (a readable ``nn.Module``), ``weights.safetensors``, ``train.py``
(DistributedDataParallel under ``torchrun``), ``README.md``, the data as ``data.npz`` and the
project as ``project.cnnproj`` (what ``train.py --write-back`` fills with the trained weights).

CNN Studio does not need torch for any of this: the module is source text each layer writes for
itself (``Layer.torch_module`` / ``torch_forward``), the weights are written with safetensors' NumPy
API under the module's ``state_dict`` names (``Layer.torch_tensors``).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio import __version__
from cnnstudio.model.spec import INPUT
from cnnstudio.project.export.common import ExportError, block_names, layer_weights, require



def class_name(name: str) -> str:
    """``"lenet5"`` -> ``"Lenet5"``, ``"my net"`` -> ``"MyNet"`` (a valid Python class name)."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    return text if text[0].isalpha() else f"Net{text}"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(str(s) for s in shape) + ")"


def _layer_shapes(spec: Any, layers: list[Any]) -> tuple[list[Any], list[tuple[int, ...]]]:
    """Per layer: its input shape (a tuple of shapes for merges) and its output shape."""
    shapes: dict[int, tuple[int, ...]] = {INPUT: spec.input.shape}
    ins: list[Any] = []
    for i, layer in enumerate(layers):
        srcs = spec.sources(i)
        shape = tuple(shapes[s] for s in srcs) if getattr(type(layer), "merges", False) else shapes[srcs[0]]
        ins.append(shape)
        shapes[i] = layer.output_shape(shape)
    return ins, [shapes[i] for i in range(len(layers))]


def model_source(spec: Any, class_names: list[str] | None = None) -> str:
    """The text of ``model.py`` for ``spec``."""
    layers = [ls.check() for ls in spec.layers]
    names = block_names(layers)
    ins, outs = _layer_shapes(spec, layers)
    cls = class_name(spec.name)
    inp = spec.input
    # a final output activation (Softmax) is kept out of forward: it returns the logits that
    # nn.CrossEntropyLoss wants; probabilities() applies it
    head = len(layers) - 1 if layers[-1].must_be_last else None
    body = [i for i in range(len(layers)) if i != head]
    chain = spec.is_chain
    init_lines, fwd_lines = [], []
    for i in range(len(layers)):
        src = layers[i].torch_module(ins[i])
        if src is not None:
            init_lines.append(f"        self.{names[i]} = {src}")
    var = {INPUT: "x"}
    for i in body:
        srcs = spec.sources(i)
        arg = ", ".join(var[s] for s in srcs)
        target = "x" if chain else f"x{i + 1}"
        expr = layers[i].torch_forward(names[i], arg, ins[i])
        fwd_lines.append(f"        {target} = {expr}  # {names[i]}: {_shape_text(outs[i])}")
        var[i] = target
    last = spec.sources(head)[0] if head is not None else len(layers) - 1
    result = var.get(last, "x")
    pre = [f"        x = x * self.scale  # pixels x {inp.scale_text()}: {_shape_text(inp.shape)}"]
    buffers = [f"        self.register_buffer(\"scale\", torch.tensor({inp.scale!r}), persistent=False)"]
    if inp.mean is not None:
        pre.append("        x = (x - self.mean) / self.std  # per channel")
        buffers += [f"        self.register_buffer(\"mean\", torch.tensor({list(inp.mean)!r}).view(1, -1, 1, 1), "
                    "persistent=False)",
                    f"        self.register_buffer(\"std\", torch.tensor({list(inp.std or ())!r}).view(1, -1, 1, 1), "
                    "persistent=False)"]
    probs = (f"        return self.{names[head]}(self(x))" if head is not None else "        return self(x)")
    c, h, w = inp.shape
    names_list = list(class_names) if class_names else [str(k) for k in range(int(outs[-1][0]))]
    return f'''"""The CNN Studio network {spec.name!r} as a PyTorch module (exported by CNN Studio {__version__}).

Input: raw pixels, float32 (N, {c}, {h}, {w}), values 0..255 (NCHW). The Input block's preprocessing
({inp.preprocessing_text()}) is the first step of ``forward``, as in CNN Studio and its ONNX export.
``forward`` returns the class scores (logits); ``probabilities`` applies the softmax.
Block names follow the editor's blocks (``conv1`` is block 1); comments give each output's shape.
"""

import torch
import torch.nn.functional as F  # noqa: F401 (asymmetric 'same' padding uses F.pad)
from torch import nn

INPUT_SHAPE = ({c}, {h}, {w})
CLASS_NAMES = {json.dumps(names_list)}


class {cls}(nn.Module):
    def __init__(self):
        super().__init__()
{chr(10).join(buffers)}
{chr(10).join(init_lines)}

    def forward(self, x):
        """x: (N, {c}, {h}, {w}) raw pixels -> class scores {_shape_text(outs[body[-1]]) if body else ''}."""
{chr(10).join(pre)}
{chr(10).join(fwd_lines)}
        return {result}

    def probabilities(self, x):
        """x: raw pixels -> class probabilities."""
{probs}


MODEL = {cls}


def load(path="weights.safetensors", device="cpu"):
    """The module with the exported (or trained) weights, in eval mode."""
    from safetensors.torch import load_file

    model = {cls}()
    model.load_state_dict(load_file(str(path), device=str(device)))
    return model.eval()
'''


def state_tensors(spec: Any, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The module's state dict as NumPy arrays: ``{block}.{name}`` in PyTorch's layouts."""
    layers = [ls.check() for ls in spec.layers]
    ins, _ = _layer_shapes(spec, layers)
    out: dict[str, np.ndarray] = {}
    for i, (layer, name) in enumerate(zip(layers, block_names(layers))):
        for key, value in layer.torch_tensors(layer_weights(weights, i, layer, ins[i]), ins[i]).items():
            arr = np.asarray(value)
            out[f"{name}.{key}"] = np.ascontiguousarray(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
    return out


def engine_weights(spec: Any, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of ``state_tensors``: CNN Studio's ``"{index}.{name}"`` weights from a state dict."""
    layers = [ls.check() for ls in spec.layers]
    ins, _ = _layer_shapes(spec, layers)
    out: dict[str, np.ndarray] = {}
    for i, (layer, name) in enumerate(zip(layers, block_names(layers))):
        mine = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        try:
            for key, value in layer.from_torch_tensors(mine, ins[i]).items():
                out[f"{i}.{key}"] = np.asarray(value, dtype=np.float32)
        except KeyError as exc:
            raise ExportError(f"weights: block {name} ({layer.type_name}) has no tensor {name}.{exc.args[0]}; "
                              "the weights come from a different network") from None
    return out


def export_pytorch(project: Any, out_dir: str | os.PathLike[str], data: tuple[Any, Any] | None = None,
                   class_names: list[str] | None = None) -> Path:
    """Write the PyTorch export of ``project`` (project.file.Project) into ``out_dir``.

    ``data``: (train, val) Datasets to export as ``data.npz`` for ``train.py`` (None: no data;
    train.py then asks for ``--data``).
    """
    st = require("safetensors.numpy", "PyTorch export")
    from cnnstudio.model import build_network
    from cnnstudio.project.file import Project, save_project

    spec = project.network
    from cnnstudio.model.shapes import validate

    validate(spec)
    weights = project.weights if project.weights is not None else build_network(spec).get_weights()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; give a folder for the PyTorch export")
    out.mkdir(parents=True, exist_ok=True)
    names = class_names or ((project.history.get("dataset") or {}).get("classes") if project.history else None)
    (out / "model.py").write_text(model_source(spec, names), encoding="utf-8")
    st.save_file(state_tensors(spec, weights), str(out / "weights.safetensors"),
                 metadata={"format": "pt", "producer": f"CNN Studio {__version__}", "network": spec.name})
    config = project.training_config
    defaults = _train_defaults(config)
    from cnnstudio.project.export.train_template import TRAIN_PY

    script = TRAIN_PY.replace("__DEFAULTS__", json.dumps(defaults, indent=4))
    (out / "train.py").write_text(script, encoding="utf-8")
    if data is not None:
        train, val = data
        np.savez_compressed(out / "data.npz", x_train=train.x, y_train=train.y.astype(np.int64), x_val=val.x,
                            y_val=val.y.astype(np.int64), class_names=np.array(list(train.class_names)))
    base = Project(spec, weights={k: np.asarray(v) for k, v in weights.items()}, history=project.history,
                   training_config=config, metadata=dict(project.metadata))
    save_project(out / "project.cnnproj", base)
    (out / "README.md").write_text(readme_text(spec, class_name(spec.name), data is not None, defaults),
                                   encoding="utf-8")
    return out


def _train_defaults(config: Any) -> dict[str, Any]:
    if config is None:
        from cnnstudio.model import TrainingConfig

        config = TrainingConfig()
    return {"epochs": config.epochs, "batch_size": config.batch_size, "optimizer": config.optimizer,
            "lr": config.lr, "momentum": getattr(config, "momentum", 0.9),
            "weight_decay": getattr(config, "weight_decay", 0.0), "seed": config.seed}


def write_back(base_project: str | os.PathLike[str], tensors: dict[str, np.ndarray], out_path: str | os.PathLike[str],
               epochs: list[dict[str, Any]] | None = None) -> Path:
    """A ``.cnnproj`` at ``out_path``: ``base_project`` (the exported project) with the trained
    ``tensors`` (the module's state dict as NumPy) and ``epochs`` appended to its history."""
    from cnnstudio.project.file import load_project, new_metadata, save_project

    project = load_project(base_project)
    project.weights = engine_weights(project.network, tensors)
    project.optimizer_state = None   # PyTorch's optimizer state does not map onto the engine's
    history = dict(project.history)
    done = len(history.get("epochs") or [])
    history["epochs"] = list(history.get("epochs") or []) + [
        {**e, "epoch": done + k + 1} for k, e in enumerate(epochs or [])]
    project.history = history
    meta = dict(project.metadata or new_metadata())
    meta["notes"] = (meta.get("notes") or "") + f"\ntrained with PyTorch (train.py, {len(epochs or [])} epochs)"
    project.metadata = meta
    save_project(out_path, project)
    return Path(out_path)


def readme_text(spec: Any, cls: str, has_data: bool, defaults: dict[str, Any]) -> str:
    data_line = ("`data.npz`: the project's images (uint8 NHWC) and labels, training and validation parts."
                 if has_data else "No `data.npz` was exported: give `--data FILE.npz` (arrays x_train, y_train, "
                 "x_val, y_val; uint8 images (N, H, W, C)).")
    return f"""# {spec.name}: PyTorch export from CNN Studio {__version__}

- `model.py`: `{cls}`, a plain `nn.Module` (blocks named as in the editor, shapes in comments).
  Input: raw pixels (N, {spec.input.channels}, {spec.input.height}, {spec.input.width}) as float32 0..255; the Input
  block's preprocessing ({spec.input.preprocessing_text()}) is the first step of `forward`.
  `forward` returns logits; `probabilities(x)` the softmax. `model.load("weights.safetensors")`.
- `weights.safetensors`: the weights (no pickle), `state_dict` names (`conv1.weight`, ...).
- `train.py`: trains the module with DistributedDataParallel (defaults from the project:
  {defaults['epochs']} epochs, batch {defaults['batch_size']} per process, {defaults['optimizer']} lr {defaults['lr']:g}).
- {data_line}
- `project.cnnproj`: the project as exported; `train.py --write-back` writes a copy with the trained weights.

Needs: `pip install torch safetensors numpy` (and CNN Studio for `--write-back`).

## One machine

    torchrun --standalone --nproc_per_node=4 train.py --epochs 10

CPU processes use the gloo backend, GPUs nccl (one process per GPU: `--nproc_per_node` = the number of GPUs).
Each process trains on its share of every epoch (DistributedSampler); `--batch-size` is per process.
Checkpoints go to `checkpoints/` after every epoch (`--resume` continues from the last); rank 0 prints
each epoch's loss and accuracy.

## Several machines

On every machine, with the same `--nnodes` and rendezvous address (machine 0's host name and a free port):

    torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 \\
        --rdzv_backend=c10d --rdzv_endpoint=machine0.example:29500 --rdzv_id=run1 train.py --epochs 10

and `--node_rank=1` on the second machine. The data and this folder must be on every machine (or on a
shared file system). Set `NCCL_SOCKET_IFNAME` / `GLOO_SOCKET_IFNAME` when the machines have several
network interfaces.

## Back into CNN Studio

    torchrun --standalone --nproc_per_node=2 train.py --epochs 5 --write-back trained.cnnproj
    cnnstudio gui trained.cnnproj

`trained.cnnproj` opens in CNN Studio with the trained weights and the epochs in its history.
Differences to training in CNN Studio: PyTorch's BatchNorm keeps the unbiased batch variance in its
running statistics (CNN Studio the biased one); the optimizer's state is not carried back.
"""
