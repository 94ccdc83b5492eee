"""A layer's sizes as formulas with its numbers plugged in, for the inspector.

    layer_formulas(get_template("lenet5"), 3)
    [("Output size", "floor((14 + 2*0 - 5) / 1) + 1 = 10"),
     ("Parameters", "(5*5*6 + 1) * 16 = 2,416"),
     ("Multiply-adds", "10*10*16 outputs x 150 = 240,000"),
     ("Receptive field", "6 + (5 - 1) * 2 = 14 pixels; jump 2 * 1 = 2")]

Everything is read from the layers' declarations (``window()``, the schema's padding field,
``param_shapes``, ``multiply_adds``, ``receptive_rule``) and from shape inference; no layer
type is named here.
"""

from __future__ import annotations

import math
from typing import Any

from cnnstudio.model.problems import format_shape
from cnnstudio.model.shapes import _ReceptiveField, infer_shapes
from cnnstudio.model.spec import NetworkSpec

Shape = tuple[int, ...]


def _n(v: int) -> str:
    return f"{v:,}"


def _axes(texts: list[str]) -> str:
    """One formula when both axes read the same, else "height: ...; width: ..."."""
    if texts[0] == texts[1]:
        return texts[0]
    return f"height: {texts[0]}; width: {texts[1]}"


def _padding(layer: Any) -> Any:
    """The layer's padding setting, if its schema declares one (else no padding: pooling)."""
    for h in layer.hyperparameters:
        if h.kind == "padding":
            return getattr(layer, h.name)
    return 0


def output_formula(layer: Any, in_shape: Shape, out_shape: Shape) -> str:
    win = layer.window()
    if win is not None and len(in_shape) == 3 and len(out_shape) == 3:
        (kh, kw), (sh, sw) = win
        pad = _padding(layer)
        texts = []
        for n, k, s, o in ((in_shape[1], kh, sh, out_shape[1]), (in_shape[2], kw, sw, out_shape[2])):
            if pad == "same":
                total = max((o - 1) * s + k - n, 0)
                what = "row/column" if total == 1 else "rows/columns"
                texts.append(f"ceil({n} / {s}) = {o} ('same' adds {total} {what} of zeros: "
                             f"{total // 2} before, {total - total // 2} after)")
            else:
                p = 0 if pad == "valid" else int(pad)
                texts.append(f"floor(({n} + 2*{p} - {k}) / {s}) + 1 = {o}")
        return _axes(texts) + f"  ->  {format_shape(out_shape)}"
    if tuple(in_shape) == tuple(out_shape):
        return f"same as its input: {format_shape(out_shape)}"
    if len(in_shape) == 3 and len(out_shape) == 1 and out_shape[0] == math.prod(in_shape):
        c, h, w = in_shape
        return f"{h}*{w}*{c} = {_n(out_shape[0])} values"
    if len(in_shape) == 3 and len(out_shape) == 1 and out_shape[0] == in_shape[0]:
        return f"one value per channel: {out_shape[0]}"
    return f"{_n(out_shape[0])} values" if len(out_shape) == 1 else format_shape(out_shape)


def _dims(shape: Shape) -> str:
    """A kernel's per-filter dims as people write them: (C, kh, kw) -> "kh*kw*C"."""
    if len(shape) == 3:
        return f"{shape[1]}*{shape[2]}*{shape[0]}"
    return "*".join(_n(v) for v in shape)


def params_formula(layer: Any, in_shape: Any) -> str:
    shapes = layer.param_shapes(in_shape)
    count = layer.param_count(in_shape)
    if not shapes:
        return "no weights: 0"
    w, b = shapes.get("W"), shapes.get("b")
    if w is not None and len(shapes) <= 2:
        if len(w) == 4:   # (filters, C, kh, kw)
            per, units = _dims(w[1:]), w[0]
        else:             # (inputs, units)
            per, units = _dims(w[:-1]), w[-1]
        text = f"({per} + 1) * {units}" if b is not None else f"{per} * {units}"
        return f"{text} = {_n(count)}"
    parts = " + ".join(f"{name} {_n(math.prod(s))}" for name, s in shapes.items())
    state = layer.state_shapes(in_shape)
    extra = ""
    if state:
        extra = f" (and {' + '.join(f'{k} {_n(math.prod(s))}' for k, s in state.items())} not trained)"
    return f"{parts} = {_n(count)}{extra}"


def multiply_adds_formula(layer: Any, in_shape: Any, out_shape: Shape) -> str:
    total = layer.multiply_adds(in_shape)
    outputs = math.prod(out_shape)
    if total == 0:
        return "none: 0"
    if outputs and total % outputs == 0:
        dims = "*".join(map(str, (out_shape[1], out_shape[2], out_shape[0]) if len(out_shape) == 3 else out_shape))
        return f"{dims} outputs x {_n(total // outputs)} each = {_n(total)}"
    return _n(total)


def receptive_formula(layer: Any, before: _ReceptiveField, after: _ReceptiveField, image_hw: tuple[int, int]) -> str:
    rule = layer.receptive_rule
    win = layer.window()
    size = tuple(after.size)
    whole = " (the whole image)" if size[0] >= image_hw[0] and size[1] >= image_hw[1] else ""
    if rule == "window" and win is not None:
        (kh, kw), (sh, sw) = win
        texts = [f"{r} + ({k} - 1) * {j} = {r + (k - 1) * j} pixels; jump {j} * {s} = {j * s}"
                 for r, j, k, s in zip(before.size, before.jump, (kh, kw), (sh, sw))]
        return _axes(texts) + whole
    if rule in ("flatten", "global", "connect_all") and size != tuple(before.size):
        seen = (min(size[0], image_hw[0]), min(size[1], image_hw[1]))   # no bigger than the image (summary's RF)
        return f"{seen[0]} x {seen[1]}{whole}: each output reads every position"
    return f"{size[0]} x {size[1]} pixels{whole}, jump {after.jump[0]} (unchanged)"


def layer_formulas(spec: NetworkSpec, index: int) -> list[tuple[str, str]]:
    """(label, formula) lines for layer ``index`` of ``spec``; [] when its shapes are unknown."""
    report = infer_shapes(spec)
    rows = {row.index: row for row in report.layers}
    row = rows.get(index)
    if row is None or row.output_shape is None or row.input_shape is None:
        return []
    layer = spec.layers[index].check()
    in_arg: Any = tuple(row.input_shapes) if layer.merges and row.input_shapes else row.input_shape
    image_hw = (spec.input.height, spec.input.width)
    fields: dict[int, _ReceptiveField] = {-1: _ReceptiveField(image_hw)}
    before = after = fields[-1]
    for j in range(index + 1):
        src_rows = [fields[s] for s in spec.sources(j) if s in fields]
        in_j = rows[j].input_shape if j in rows else None
        if not src_rows or in_j is None:
            return [("Output size", output_formula(layer, row.input_shape, row.output_shape)),
                    ("Parameters", params_formula(layer, in_arg)),
                    ("Multiply-adds", multiply_adds_formula(layer, in_arg, row.output_shape))]
        before = _ReceptiveField.merged(src_rows)
        after = _ReceptiveField.merged([before])
        after.through(spec.layers[j].check(), in_j)
        fields[j] = after
    return [("Output size", output_formula(layer, row.input_shape, row.output_shape)),
            ("Parameters", params_formula(layer, in_arg)),
            ("Multiply-adds", multiply_adds_formula(layer, in_arg, row.output_shape)),
            ("Receptive field", receptive_formula(layer, before, after, image_hw))]
