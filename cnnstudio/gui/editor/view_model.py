"""What the editor draws, computed from the spec alone (never from widget state).

``describe(spec)`` turns a NetworkSpec into one ``CardInfo`` per block (the
Input first) plus totals and the first problem, using the model's
``infer_shapes``. Shapes are shown as ``H x W x C`` (or ``F`` for vectors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnnstudio.engine.layers import LAYER_TYPES

from cnnstudio.model.shapes import infer_shapes

OK, ERROR, UNKNOWN = "ok", "error", "unknown"


@dataclass
class CardInfo:
    """One block on the canvas. ``index`` is the layer index, -1 for the Input block."""

    index: int
    type_name: str
    summary: str
    shape_text: str
    params: int | None
    status: str = OK
    tooltip: str = ""
    #: receptive field on the input image, e.g. "5 x 5" ("" when unknown)
    receptive_field: str = ""
    #: forward multiply-adds per image (None when unknown); the tooltip says them in words
    multiply_adds: int | None = None


@dataclass
class Problem:
    """Something wrong with the network: which layer (None = input / whole network), what, how to fix it."""

    index: int | None
    layer_type: str
    message: str
    fix: str
    field: str = ""   # "inputs" for a wiring problem: the canvas draws the wires into the layer red


@dataclass
class NetworkView:
    cards: list[CardInfo] = field(default_factory=list)
    total_params: int | None = 0
    multiply_adds: int | None = 0
    problems: list[Problem] = field(default_factory=list)
    #: what each layer reads (``NetworkSpec.sources``; -1 = the Input block)
    sources: list[tuple[int, ...]] = field(default_factory=list)
    #: False for a chain (each layer reads the one before it), which keeps its columns
    is_graph: bool = False

    @property
    def problem(self) -> Problem | None:
        """The first problem (the one drawn red), or None."""
        return self.problems[0] if self.problems else None


def format_shape(shape: Any) -> str:
    """Engine shape (C, H, W) or (F,) -> display text ``H x W x C`` or ``F``."""
    if shape is None:
        return "?"
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        c, h, w = shape
        return f"{h} x {w} x {c}"
    return " x ".join(str(s) for s in shape)


def layer_summary(type_name: str, config: dict[str, Any]) -> str:
    cls = LAYER_TYPES.get(type_name)
    if cls is None:
        return ""
    try:
        return cls.from_config(dict(config)).summary()
    except Exception:  # invalid hyperparameters: the problem list says why
        return ", ".join(f"{k} {v}" for k, v in config.items())


def layer_description(type_name: str) -> str:
    cls = LAYER_TYPES.get(type_name)
    return cls.description if cls is not None else ""


def describe(spec: Any) -> NetworkView:
    """Build the editor's view of ``spec`` (a NetworkSpec)."""
    return _from_report(spec, infer_shapes(spec))


def input_hwc(spec: Any) -> tuple[int, int, int]:
    """(height, width, channels) of the spec's input."""
    inp = spec.input
    return tuple(inp.hwc) if hasattr(inp, "hwc") else tuple(inp)


def _input_card(spec: Any) -> CardInfo:
    h, w, c = input_hwc(spec)
    pre = spec.input.preprocessing_text() if hasattr(spec.input, "preprocessing_text") else ""
    return CardInfo(-1, "Input", pre or f"{h} x {w} x {c} image", f"{h} x {w} x {c}", 0,
                    tooltip=f"The network's input: height x width x channels ({h} x {w} x {c}); "
                            f"how pixels become numbers: {pre}")


def multiply_adds_text(macs: int | None, out_shape: Any, total: int | None) -> str:
    """The cards' hover line: "Multiply-adds per image: 117,600 (28 x 28 x 6 outputs x 25 each),
    41.2% of the network's 285,000"; "" when unknown."""
    if macs is None:
        return ""
    if macs == 0:
        return "Multiply-adds per image: 0"
    outputs = math.prod(int(s) for s in out_shape) if out_shape is not None else 0
    how = f" ({format_shape(out_shape)} outputs x {macs // outputs:,} each)" if outputs and macs % outputs == 0 else ""
    share = f", {100 * macs / total:.1f}% of the network's {total:,}" if total else ""
    return f"Multiply-adds per image: {macs:,}{how}{share}"


def _problem_tooltip(problem: Problem) -> str:
    return f"{problem.message}\nFix: {problem.fix}" if problem.fix else problem.message


def _from_report(spec: Any, report: Any) -> NetworkView:
    view = NetworkView(cards=[_input_card(spec)])
    view.problems = [Problem(p.index, p.layer_type, p.message, p.fix or "", p.field or "") for p in report.problems]
    problem = view.problem
    failed = problem.index if problem is not None and problem.index is not None else None
    layers_info = list(getattr(report, "layers", []))
    total_macs = int(report.multiply_adds) if report.complete else None
    for i, layer in enumerate(spec.layers):
        summary = layer_summary(layer.type, layer.config)
        info = layers_info[i] if i < len(layers_info) else None
        if failed is not None and i == failed:
            assert problem is not None   # failed is set from problem.index only
            known = info is not None and info.output_shape is not None
            card = CardInfo(i, layer.type, summary, format_shape(info.output_shape) if known else "?",
                            int(info.params) if known else None, ERROR, _problem_tooltip(problem))
        elif info is None or info.output_shape is None:
            card = CardInfo(i, layer.type, summary, "?", None, UNKNOWN,
                            "Shape unknown until the problem above is fixed")
        else:
            macs = None if info.multiply_adds is None else int(info.multiply_adds)
            compute = multiply_adds_text(macs, info.output_shape, total_macs)
            card = CardInfo(i, layer.type, summary, format_shape(info.output_shape), int(info.params),
                            tooltip="\n\n".join(t for t in (layer_description(layer.type), compute) if t),
                            receptive_field="" if info.receptive_field is None else   # on the image, as summary
                            f"{min(info.receptive_field[0], spec.input.height)} x "
                            f"{min(info.receptive_field[1], spec.input.width)}", multiply_adds=macs)
        view.cards.append(card)
    view.sources = [tuple(spec.sources(i)) for i in range(len(spec.layers))]
    view.is_graph = not spec.is_chain
    view.total_params = int(report.total_params) if report.complete else None
    view.multiply_adds = int(report.multiply_adds) if report.complete else None
    return view
