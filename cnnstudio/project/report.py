"""Plain-text reports: the Keras-style model summary, the confusion table, epoch lines.

Shapes are shown the way people describe images, ``H x W x C`` (``120`` for vectors).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def display_shape(shape: Sequence[int]) -> str:
    """Engine per-sample shape (C, H, W) -> ``"H x W x C"``; (F,) -> ``"F"``."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h} x {w} x {c}"
    return " x ".join(str(int(s)) for s in shape)


def summary_rows(spec) -> list[tuple[str, str, int, int, str]]:
    """[(name "conv2d_1 (Conv2D)", output shape, trainable, non-trainable, details)] per layer,
    from the model's shape inference (the same numbers the editor shows).

    Raises the model's NetworkError (with its explained fix) for an invalid network.
    """
    from cnnstudio.model import validate

    rows = []
    for layer, name in zip(validate(spec).layers, layer_names(spec)):
        rows.append((f"{name} ({layer.layer_type})", display_shape(layer.output_shape), int(layer.params),
                     int(layer.non_trainable), layer.summary))
    return rows


def layer_names(spec) -> list[str]:
    """Keras-style names in list order: ``conv2d_1``, ``relu_1``, ``conv2d_2`` ..."""
    counters: dict[str, int] = {}
    names = []
    for layer in spec.layers:
        t = layer.type
        counters[t] = counters.get(t, 0) + 1
        names.append(f"{t.lower()}_{counters[t]}")
    return names


def connected_to(spec) -> list[str]:
    """Per layer, the names of the layers it reads ("input" for the network input), Keras's column."""
    names = layer_names(spec)
    return [", ".join("input" if s < 0 else names[s] for s in spec.sources(i)) for i in range(len(spec.layers))]


def summary_text(spec) -> str:
    """The whole table; the last line is exactly ``Total params: N`` (N with thousands separators).

    A branching network gets Keras's "Connected to" column: the layers each one reads.
    """
    rows = summary_rows(spec)
    in_text = spec.input.display()
    graph = not spec.is_chain
    header = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if graph else ()) + ("Details",)
    links = connected_to(spec) if graph else [None] * len(rows)
    body = [(n, s, f"{p + q:,}") + ((c,) if graph else ()) + (d,) for (n, s, p, q, d), c in zip(rows, links)]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(r):
        cells = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}", f"{r[2]:>{widths[2]}}"]
        cells += [f"{c:<{w}}" for c, w in zip(r[3:-1], widths[3:-1])] + [r[-1]]
        return "  ".join(cells).rstrip()

    rule = "-" * (sum(widths) + 6)
    trainable = sum(r[2] for r in rows)
    frozen = sum(r[3] for r in rows)
    lines = [f'Model: "{spec.name}"   input {in_text}', rule, fmt(header), "=" * len(rule)]
    lines += [fmt(r) for r in body]
    lines += ["=" * len(rule), f"Trainable params: {trainable:,}", f"Non-trainable params: {frozen:,}",
              f"Total params: {trainable + frozen:,}"]
    return "\n".join(lines)


def confusion_text(confusion: np.ndarray, class_names: Sequence[str]) -> str:
    """Aligned confusion matrix: rows are true classes, columns predicted."""
    names = [str(n) for n in class_names]
    cm = np.asarray(confusion)
    width = max([len(n) for n in names] + [len(str(int(cm.max()))) if cm.size else 1, 4])
    corner = "true \\ pred"
    label_w = max(len(n) for n in names + [corner])
    lines = [f"{corner:<{label_w}} " + " ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, cm):
        lines.append(f"{name:<{label_w}} " + " ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def epoch_line(record: dict, epochs: int) -> str:
    """``epoch 3/10  train loss 0.123 acc 96.1%  val loss 0.101 acc 97.0%  (4.2 s)``
    (``val -`` without validation data)."""
    def loss_acc(loss, acc) -> str:
        if loss is None or acc is None:
            return "-"
        return f"loss {loss:.3f} acc {100 * acc:.1f}%"

    return (f"epoch {record['epoch']}/{epochs}  train {loss_acc(record['train_loss'], record['train_acc'])}  "
            f"val {loss_acc(record.get('val_loss'), record.get('val_acc'))}  ({record['seconds']:.1f} s)")
