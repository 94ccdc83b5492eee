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

    counters: dict[str, int] = {}
    rows = []
    for layer in validate(spec).layers:
        t = layer.layer_type
        counters[t] = counters.get(t, 0) + 1
        rows.append((f"{t.lower()}_{counters[t]} ({t})", display_shape(layer.output_shape), int(layer.params),
                     int(layer.non_trainable), layer.summary))
    return rows


def summary_text(spec) -> str:
    """The whole table; the last line is exactly ``Total params: N`` (N with thousands separators)."""
    rows = summary_rows(spec)
    in_text = spec.input.display()
    header = ("Layer (type)", "Output Shape", "Param #", "Details")
    body = [(n, s, f"{p + q:,}", d) for n, s, p, q, d in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

    def fmt(r):
        return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()

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
