"""Explained problems: what is wrong with a layer, with the value, and a concrete fix.

Messages read "layer N Type: what is wrong"; layers are numbered from 1 as the
editor shows them. Fixes are computed from the network (which earlier layer
shrank the map, where the Flatten is), not generic advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from cnnstudio.engine.errors import LayerConfigError, ShapeError, field_words
from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.model.errors import NetworkProblem

Shape = tuple[int, ...]


def format_shape(shape: Shape | None) -> str:
    """Engine shape to display string: ``(6, 28, 28)`` -> ``"28 x 28 x 6"``, ``(400,)`` -> ``"400"``, None -> ``"?"``."""
    if shape is None:
        return "?"
    if len(shape) == 3:
        c, h, w = shape
        return f"{h} x {w} x {c}"
    return " x ".join(str(s) for s in shape)


def _or_join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


@dataclass(frozen=True)
class Step:
    """What shape inference knew about one earlier layer (for computing fixes)."""

    type: str
    config: dict[str, Any]
    input_shape: Shape | None
    output_shape: Shape | None


def config_problem(index: int, exc: LayerConfigError) -> NetworkProblem:
    """The field is named as the inspector labels it ("kernel", not ``kernel_size``)."""
    req = exc.requirement
    words = field_words(exc.layer_type, exc.field)
    if req.startswith(("between", "in ")):
        fix = f"set {words} to a value {req}"
    else:
        fix = f"set {words} to {req}"
    return NetworkProblem(index, exc.layer_type, exc.field, exc.value,
                          f"layer {index + 1} {exc.layer_type}: {words} must be {req}, got {exc.value!r}",
                          fix, "bad_config")


def shape_problem(index: int, layer_type: str, config: dict[str, Any], exc: ShapeError,
                  steps: Sequence[Step]) -> NetworkProblem:
    """Turn an engine ShapeError at ``index`` into a problem with a fix; ``steps`` are the layers before it."""
    head = f"layer {index + 1} {layer_type}"
    if exc.reason == "window_too_large":
        return _window_problem(index, layer_type, config, exc, steps, head)
    if exc.reason == "needs_flat":
        shape = tuple(exc.details.get("input_shape", ()))
        fix = LAYER_TYPES[layer_type].needs_flat_fix
        return NetworkProblem(index, layer_type, None, format_shape(shape),
                              f"{head}: needs a flat vector but gets {format_shape(shape)}", fix, "needs_flat")
    if exc.reason == "needs_spatial":
        shape = tuple(exc.details.get("input_shape", ()))
        flat_at = [i for i, s in enumerate(steps) if LAYER_TYPES[s.type].receptive_rule == "flatten"]
        where = f"the Flatten at layer {flat_at[-1] + 1}" if flat_at else "the Flatten"
        size = shape[0] if shape else "?"
        return NetworkProblem(index, layer_type, None, size,
                              f"{head}: needs an image-shaped input but gets a flat vector of {size}",
                              f"move it before {where}", "needs_spatial")
    text = str(exc).split(": ", 1)[-1]
    return NetworkProblem(index, layer_type, None, None, f"{head}: {text}",
                          "change this layer's hyperparameters or make the input larger", exc.reason)


def _window_problem(index: int, layer_type: str, config: dict[str, Any], exc: ShapeError,
                    steps: Sequence[Step], head: str) -> NetworkProblem:
    kh, kw = exc.details.get("window", (0, 0))
    h, w = exc.details.get("input_hw", (0, 0))
    cls = LAYER_TYPES[layer_type]
    field = cls.window_field or "window"
    words = field_words(layer_type, field)   # "kernel" / "window", as the inspector labels them
    is_conv = any(h.name == "padding" for h in cls.hyperparameters)   # padding can make its kernel fit
    what = "kernel" if is_conv else "window"
    fit = f"{min(kh, h)}x{min(kw, w)}"  # the largest window that fits
    options = []
    if is_conv:
        options += ["use padding 'same'", f"a {words} of at most {fit}", "remove it"]
    else:
        options.append("remove it")
        if h > 1 or w > 1:  # a 1x1 pool would do nothing
            options.append(f"use a {words} of at most {fit}")
    earlier = _biggest_shrinker(steps)
    if earlier is not None:
        options.append(_undo_shrink(earlier, steps[earlier]))
    else:
        options.append(f"make the input at least {kh} x {kw}")
    return NetworkProblem(index, layer_type, field, [kh, kw],
                          f"{head}: {kh}x{kw} {what} does not fit a {h}x{w} input",
                          _or_join(options), "window_too_large")


def _biggest_shrinker(steps: Sequence[Step]) -> int | None:
    """Index of the earlier layer that shrank the feature map most (ties: the latest)."""
    best, best_ratio = None, 1.0
    for i, s in enumerate(steps):
        if LAYER_TYPES[s.type].window_field is None or s.input_shape is None or s.output_shape is None:
            continue
        if len(s.input_shape) != 3 or len(s.output_shape) != 3:
            continue
        ratio = (s.input_shape[1] * s.input_shape[2]) / (s.output_shape[1] * s.output_shape[2])
        if ratio > 1.0 and ratio >= best_ratio:
            best, best_ratio = i, ratio
    return best


def _undo_shrink(i: int, step: Step) -> str:
    """Advice for the earlier layer that shrank the map: padding where it has padding, else remove it."""
    names = {h.name for h in LAYER_TYPES[step.type].hyperparameters}
    if "padding" in names:
        stride = step.config.get("stride", [1, 1])
        if list(stride) != [1, 1]:
            return f"use stride 1 in layer {i + 1}"
        return f"use padding 'same' in layer {i + 1}"
    return f"remove the {step.type} at layer {i + 1}"


def softmax_problem(index: int, layer_type: str, last: int, same_at_end: bool) -> NetworkProblem:
    """A layer that must end the network (``Layer.must_be_last``) sits at ``index``."""
    fix = (f"remove it: layer {last + 1} {layer_type} already ends the network" if same_at_end
           else f"move layer {index + 1} {layer_type} to the end")
    return NetworkProblem(index, layer_type, None, None,
                          f"layer {index + 1} {layer_type}: {layer_type} must be the last layer", fix,
                          "softmax_not_last")
