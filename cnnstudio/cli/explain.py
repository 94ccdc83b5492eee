"""``cnnstudio explain RUN.cnnproj IMAGE --layer N --at C,Y,X [--json]``: how one cell was computed.

The explanation is the layer's own (``Layer.explain``, through ``engine.explain``), on the
project's trained weights and the image as the network sees it (the same preprocessing as
``predict``). Layers are numbered from 1, as the app's cards and ``summary`` show them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from cnnstudio.cli import CliError
from cnnstudio.engine.explain import Explainer, ExplainError, parse_cell
from cnnstudio.engine.layers.explaining import fmt
from cnnstudio.project import session
from cnnstudio.project.file import load_project


def explanation_for(project_path: str, image_path: str, layer: int, at: str) -> tuple[dict[str, Any], list[str]]:
    """(explanation, notes about the image) for layer number ``layer`` (from 1) and cell text ``at``."""
    project = load_project(project_path)
    if project.weights is None:
        raise CliError(f"project {project_path} has no trained weights; train it first (cnnstudio train), "
                       "or open a lesson's project (resources/lessons)")
    net = session.build_with_weights(project.network, project.weights)
    spec_input = project.network.input
    image, notes = session.load_image_file(image_path, spec_input.hwc)
    x = spec_input.prepare(image[None])[0]
    cell = parse_cell(at)
    if not 1 <= layer <= len(net.layers):
        raise ExplainError(f"explain: --layer {layer} does not exist; {project_path} has layers 1 to "
                           f"{len(net.layers)} (cnnstudio summary {project_path} lists them)")
    ex = Explainer(net, x)
    e = ex.cell(layer - 1, cell)
    window = ex.input_window(layer - 1, cell)   # what the cell sees of the image (its receptive field)
    e["input_window"] = None if window is None else {"rows": list(window[0]), "cols": list(window[1])}
    return e, notes


def cmd_explain(args: Any) -> int:
    e, notes = explanation_for(args.project, args.image, args.layer, args.at)
    for note in notes:
        print(f"cnnstudio: note: {args.image}: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(e))
    else:
        print("\n".join(text_lines(e)))
    return 0


# ---- text -----------------------------------------------------------------------------------
def grid(rows: Any, mark: Any = None) -> list[str]:
    """A 2-D list as aligned rows; cells where ``mark`` is true get a trailing '*'."""
    a = np.asarray(rows, dtype=np.float64)
    cells = [[fmt(v) + ("*" if mark is not None and mark[i][j] else "") for j, v in enumerate(r)]
             for i, r in enumerate(a)]
    width = max((len(c) for r in cells for c in r), default=1)
    return ["  ".join(c.rjust(width) for c in r) for r in cells]


def side_by_side(blocks: list[tuple[str, list[str]]], gap: str = "    ") -> list[str]:
    widths = [max([len(t)] + [len(l) for l in lines]) for t, lines in blocks]
    height = max(len(lines) for _, lines in blocks)
    out = [gap.join(t.ljust(w) for (t, _), w in zip(blocks, widths)).rstrip()]
    for i in range(height):
        out.append(gap.join((lines[i] if i < len(lines) else "").ljust(w)
                            for (_, lines), w in zip(blocks, widths)).rstrip())
    return out


def _vector(values: list[float], limit: int = 12) -> str:
    shown = ", ".join(fmt(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}] ({len(values)} values)"


def text_lines(e: dict[str, Any]) -> list[str]:
    """The explanation as a person reads it in a terminal."""
    at = ", ".join(map(str, e["at"]))
    lines = [f"layer {e['layer']} {e['type']}, cell ({at}) = {fmt(e['value'])}"]
    kind = e["kind"]
    if kind == "convolution":
        lines.append(f"input rows {e['rows'][0]}..{e['rows'][-1]}, columns {e['cols'][0]}..{e['cols'][-1]}"
                     + (" (* = zero padding)" if any(any(r) for r in e["padding"]) else ""))
        for c, (patch, kernel, products) in enumerate(zip(e["patch"], e["kernel"], e["products"])):
            lines.append("")
            lines += side_by_side([(f"channel {c} patch", grid(patch, e["padding"])), ("kernel", grid(kernel)),
                                   ("products", grid(products))])
            lines.append(f"sum = {fmt(e['sum'][c])}")
        lines.append("")
        lines.append(f"bias = {fmt(e['bias'])}")
    elif kind == "pooling":
        lines.append(f"channel {e['channel']}, window rows {e['rows'][0]}..{e['rows'][-1]}, "
                     f"columns {e['cols'][0]}..{e['cols'][-1]}, rule: {e['rule']}")
        mark = None
        if "chosen" in e:
            mark = [[[i, j] == e["chosen"] for j in range(len(e["window"][0]))] for i in range(len(e["window"]))]
        lines += grid(e["window"], mark)
    elif kind == "weighted_sum":
        lines.append(f"inputs  {_vector(e['inputs'])}")
        lines.append(f"weights {_vector(e['weights'])}")
        lines.append("largest contributions (input x weight):")
        for t in e["top"]:
            lines.append(f"  input {t['index']}: {fmt(t['input'])} x {fmt(t['weight'])} = {fmt(t['product'])}")
        lines.append(f"sum = {fmt(e['sum'])}, bias = {fmt(e['bias'])}")
    elif kind == "softmax":
        lines.append(f"logits        {_vector(e['logits'])}")
        lines.append(f"e^(logit - {fmt(e['shift'])}) {_vector(e['exps'])}")
        lines.append(f"sum = {fmt(e['sum'])}")
        lines.append(f"probabilities {_vector(e['probabilities'])}")
    elif kind == "flatten":
        lines.append("from " + ("input " + str(e["source"][0]) if len(e["source"]) == 1 else
                                "channel {}, row {}, column {}".format(*e["source"])))
    elif kind == "normalise":
        lines.append(f"running mean {fmt(e['running_mean'])}, running variance {fmt(e['running_var'])}, "
                     f"gamma {fmt(e['gamma'])}, beta {fmt(e['beta'])} (channel {e['channel']})")
    elif kind == "merge":   # where each combined value came from (the app's Explain view says it too)
        reads = e.get("reads", [])
        for value, (k, *cell) in zip(e["values"], e["sources"]):
            src = reads[k] if k < len(reads) else k
            where = "the input image" if src == 0 else f"layer {src}"
            lines.append(f"{where}, cell ({', '.join(map(str, cell))}): {fmt(value)}")
    if e.get("note"):
        lines.append(e["note"])
    lines.append(e["formula"])
    return lines
