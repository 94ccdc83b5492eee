"""Shape inference: every layer's shapes, parameters and multiply-adds, without allocating.

``infer_shapes(spec)`` never raises: an impossible hyperparameter or a shape that
a layer cannot accept becomes ``report.problem`` (a ``NetworkProblem`` with a
concrete fix) and the layers after a shape failure get unknown shapes (None, shown
as "?"). Only arithmetic on ints happens here, so VGG-16 at 224x224x3 (138 M
parameters) is instant.

Shapes are engine order, per sample: ``(C, H, W)`` or ``(F,)``; ``*_display``
strings are ``"H x W x C"`` as people read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnstudio.engine.errors import LayerConfigError, ShapeError
from cnnstudio.engine.layers import Layer
from cnnstudio.model.errors import GRAPH_ERRORS, NetworkError, NetworkProblem
from cnnstudio.model.hints import network_hints
from cnnstudio.model.problems import Step, config_problem, format_shape, shape_problem, softmax_problem
from cnnstudio.model.graph import ancestors, graph_problems, merge_problem, readers
from cnnstudio.model.spec import INPUT, InputSpec, NetworkSpec, layer_class

Shape = tuple[int, ...]
#: wiring problems after which shapes cannot be followed
BLOCKING = ("cycle", "forward_reference", "bad_input")


@dataclass(frozen=True)
class LayerShape:
    """What one layer does to the tensor. ``None`` fields are unknown (after a failure).

    ``receptive_field``: (h, w) of the input window that one unit of this layer sees.
    """

    index: int
    layer_type: str
    summary: str
    input_shape: Shape | None
    output_shape: Shape | None
    params: int | None
    non_trainable: int | None
    multiply_adds: int | None
    receptive_field: tuple[int, int] | None
    image_hw: tuple[int, int] = (0, 0)
    #: every input's shape (one, except for merges) and the layers they come from (-1: the input)
    input_shapes: tuple[Shape | None, ...] = ()
    sources: tuple[int, ...] = ()

    @property
    def known(self) -> bool:
        return self.output_shape is not None

    @property
    def input_display(self) -> str:
        return format_shape(self.input_shape)

    @property
    def output_display(self) -> str:
        return format_shape(self.output_shape)

    @property
    def receptive_field_display(self) -> str:
        if self.receptive_field is None:
            return "?"
        rh, rw = self.receptive_field
        whole = " (whole image)" if rh >= self.image_hw[0] and rw >= self.image_hw[1] else ""
        return f"{rh} x {rw}{whole}"


@dataclass(frozen=True)
class ShapeReport:
    """Shapes and totals for a whole network. ``problem`` is the first of ``problems``."""

    input: InputSpec
    layers: list[LayerShape]
    problems: list[NetworkProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def problem(self) -> NetworkProblem | None:
        return self.problems[0] if self.problems else None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def complete(self) -> bool:
        """Every layer's shape is known (no shape failure)."""
        return all(layer.known for layer in self.layers)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.layers else self.input.shape

    @property
    def trainable_params(self) -> int:
        return sum(layer.params or 0 for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(layer.non_trainable or 0 for layer in self.layers)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def multiply_adds(self) -> int:
        """Forward multiply-adds per image (known layers only)."""
        return sum(layer.multiply_adds or 0 for layer in self.layers)

    @property
    def activation_values(self) -> int:
        """Numbers every layer outputs for one image (known layers); x 4 bytes x batch for float32 memory."""
        total = 0
        for layer in self.layers:
            if layer.output_shape is not None:
                n = 1
                for s in layer.output_shape:
                    n *= s
                total += n
        return total


class _ReceptiveField:
    """Tracks the input window (per axis: size, jump between neighbouring units).

    Each layer declares how it changes the window (``Layer.receptive_rule``); this
    class only applies the rules.
    """

    def __init__(self, image_hw: tuple[int, int]) -> None:
        self.size = [1, 1]
        self.jump = [1, 1]
        self.union = list(image_hw)

    @classmethod
    def merged(cls, sources: "list[_ReceptiveField]") -> "_ReceptiveField":
        """A copy of one source's field, or where branches join, the widest of them."""
        out = cls((0, 0))
        out.size = [max(f.size[a] for f in sources) for a in (0, 1)]
        out.jump = [max(f.jump[a] for f in sources) for a in (0, 1)]
        out.union = [max(f.union[a] for f in sources) for a in (0, 1)]
        return out

    def through(self, layer: Layer, in_shape: Shape) -> tuple[int, int]:
        rule = layer.receptive_rule
        window = layer.window()
        if rule == "window" and window is not None:
            (kh, kw), stride = window
            for a, k in enumerate((kh, kw)):
                self.size[a] += (k - 1) * self.jump[a]
                self.jump[a] *= stride[a]
        elif rule in ("flatten", "global") and len(in_shape) == 3:
            # a unit that reads every position sees the union of their windows
            self.union = [self.size[a] + (in_shape[1 + a] - 1) * self.jump[a] for a in (0, 1)]
            if rule == "global":
                self.size = list(self.union)
        elif rule == "connect_all":
            self.size = list(self.union)
        return (self.size[0], self.size[1])


def infer_shapes(spec: NetworkSpec) -> ShapeReport:
    """Per-layer shapes, parameters, multiply-adds and receptive fields; never raises.

    Layers run in list order, each on the outputs of the layers it reads (the previous
    one in a chain; the ones its ``inputs`` name in a branching network).
    """
    image_hw = (spec.input.height, spec.input.width)
    problems: list[NetworkProblem] = graph_problems(spec)
    # Shapes can still flow through extra outputs or a merge short of an input; not through
    # reads of missing or later layers.
    wiring_ok = not any(p.kind in BLOCKING for p in problems)
    outputs: dict[int, Shape | None] = {INPUT: spec.input.shape}
    fields: dict[int, _ReceptiveField] = {INPUT: _ReceptiveField(image_hw)}
    rows: list[LayerShape] = []
    steps: dict[int, Step] = {}
    read_by = readers(spec)
    last = len(spec.layers) - 1
    for i, layer in enumerate(spec.layers):
        srcs = spec.sources(i)
        in_shapes = [outputs.get(s) for s in srcs] if wiring_ok else [None]
        in_shape = in_shapes[0]
        out, row = None, None
        known = all(s is not None for s in in_shapes)
        if layer_class(layer.type).merges and len(in_shapes) < 2:
            known = False   # graph_problems has explained it
        if known:
            obj = None
            try:
                obj = layer.check()
                arg: Any = tuple(in_shapes) if obj.merges else in_shape   # (extra inputs: explained)
                out = obj.output_shape(arg)
                rf = _ReceptiveField.merged([fields[s] for s in srcs])
                row = LayerShape(i, layer.type, obj.summary(), in_shape, out, obj.param_count(arg),
                                 obj.non_trainable_count(arg), obj.multiply_adds(arg), rf.through(obj, arg),
                                 image_hw, tuple(in_shapes), tuple(srcs))
                fields[i] = rf
            except LayerConfigError as exc:
                problems.append(config_problem(i, exc))
            except ShapeError as exc:
                if exc.reason == "merge_mismatch":
                    problems.append(merge_problem(spec, i, exc))
                else:
                    # the fix looks along this layer's own branches (in a chain: every earlier layer)
                    before = [steps[j] for j in ancestors(spec, i)]
                    problems.append(shape_problem(i, layer.type, layer.config, exc, before))
        if row is None:
            row = LayerShape(i, layer.type, layer.summary(), in_shape, None, None, None, None, None, image_hw,
                             tuple(in_shapes), tuple(srcs))
        if layer_class(layer.type).must_be_last and (i != last or read_by.get(i)):
            problems.append(softmax_problem(i, layer.type, last, spec.layers[-1].type == layer.type))
        rows.append(row)
        steps[i] = Step(layer.type, layer.config, in_shape, row.output_shape)
        outputs[i] = row.output_shape
    return ShapeReport(spec.input, rows, _in_layer_order(problems), network_hints(spec, rows))


def _in_layer_order(problems: list[NetworkProblem]) -> list[NetworkProblem]:
    """Problems in layer order (a Softmax problem may be found before an earlier shape failure)."""
    return sorted(problems, key=lambda p: -1 if p.index is None else p.index)


def validate(spec: NetworkSpec) -> ShapeReport:
    """The shape report; raises ``NetworkError`` carrying the first problem if there is one."""
    report = infer_shapes(spec)
    if report.problem is not None:
        raise GRAPH_ERRORS.get(report.problem.kind, NetworkError)(report.problem)
    return report
