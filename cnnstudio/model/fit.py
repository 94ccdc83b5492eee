"""Can this network be trained on this dataset? Network problems plus dataset fit.

Training needs a network that ends in Softmax over exactly ``num_classes`` scores
and an input with the dataset's channel count. A different image size is fine: the
data is resized to the network's input (reported as a note, not a problem).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnstudio.model.errors import NetworkError, NetworkProblem
from cnnstudio.model.shapes import infer_shapes
from cnnstudio.model.spec import NetworkSpec


@dataclass(frozen=True)
class TrainCheck:
    """``problems`` block training (first one first); ``notes`` are for information."""

    problems: list[NetworkProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem(self) -> NetworkProblem | None:
        return self.problems[0] if self.problems else None

    def raise_if_problem(self) -> None:
        if self.problems:
            raise NetworkError(self.problems[0])


def _colour_word(c: int) -> str:
    return {1: " (grayscale)", 3: " (colour)"}.get(c, "")


def _channels_problem(net_c: int, data_c: int) -> NetworkProblem:
    msg = (f"the network expects {net_c}-channel{_colour_word(net_c)} images but the dataset has "
           f"{data_c}-channel{_colour_word(data_c)} images")
    fix = f"set the input channels to {data_c}"
    if data_c == 3 and net_c == 1:
        fix += " or convert the dataset to grayscale"
    elif data_c == 1 and net_c == 3:
        fix += " or convert the dataset to colour (RGB)"
    return NetworkProblem(None, "Input", "channels", net_c, msg, fix, "channels_mismatch")


def _output_problems(spec: NetworkSpec, output: tuple[int, ...], num_classes: int) -> list[NetworkProblem]:
    layers = spec.layers
    k = num_classes
    if not layers:
        return [NetworkProblem(None, "network", None, None, "the network has no layers",
                               f"load a template or add Flatten, Dense {k} and Softmax", "empty")]
    last = len(layers)
    if layers[-1].type != "Softmax":
        if len(output) == 3:
            fix = f"add Flatten, Dense {k} and Softmax at the end"
        elif output[0] != k:
            fix = f"add Dense {k} and Softmax at the end"
        else:
            fix = "add Softmax at the end"
        return [NetworkProblem(None, "network", None, layers[-1].type,
                               f"the network must end in Softmax to be trained, but it ends in "
                               f"layer {last} {layers[-1].type}", fix, "no_softmax")]
    if output[0] == k:
        return []
    dense_at = [i for i, layer in enumerate(layers) if layer.type == "Dense"]
    if not dense_at:
        return [NetworkProblem(last - 1, "Softmax", None, output[0],
                               f"layer {last} Softmax: gives {output[0]} class scores but the dataset has {k} classes",
                               f"insert Dense {k} before the Softmax at layer {last}", "classes_mismatch")]
    j = dense_at[-1]
    return [NetworkProblem(j, "Dense", "units", output[0],
                           f"layer {j + 1} Dense: gives {output[0]} class scores but the dataset has {k} classes",
                           f"set its units to {k}", "classes_mismatch")]  # the message names the layer and both counts


def check_trainable(spec: NetworkSpec, num_classes: int, image_shape: tuple[int, int, int]) -> TrainCheck:
    """Problems that stop ``spec`` training on images ``image_shape = (h, w, c)`` with ``num_classes`` classes."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    h, w, c = image_shape
    report = infer_shapes(spec)
    problems = list(report.problems)
    notes: list[str] = []
    if c != spec.input.channels:
        problems.insert(0, _channels_problem(spec.input.channels, c))
    output = report.output_shape
    if report.complete and output is not None and not any(p.kind == "softmax_not_last" for p in problems):
        problems += _output_problems(spec, output, num_classes)
    if (h, w) != (spec.input.height, spec.input.width):
        notes.append(f"the dataset's {h} x {w} images will be resized to the network's "
                     f"{spec.input.height} x {spec.input.width} input")
    notes += report.warnings
    return TrainCheck(problems, notes)
