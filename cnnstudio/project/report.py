"""Plain-text reports: the Keras-style model summary, the confusion table, epoch lines.

Shapes are shown the way people describe images, ``H x W x C`` (``120`` for vectors).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from cnnstudio.model.spec import NetworkSpec


def display_shape(shape: Sequence[int]) -> str:
    """Engine per-sample shape (C, H, W) -> ``"H x W x C"``; (F,) -> ``"F"``."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h} x {w} x {c}"
    return " x ".join(str(int(s)) for s in shape)


def summary_rows(spec: NetworkSpec) -> list[tuple[str, str, int, int, str]]:
    """[(name "conv2d_1 (Conv2D)", output shape, trainable, non-trainable, details)] per layer,
    from the model's shape inference (the same numbers the editor shows).

    Raises the model's NetworkError (with its explained fix) for an invalid network.
    """
    from cnnstudio.model import validate

    rows = []
    for layer, name in zip(validate(spec).layers, layer_names(spec)):
        rows.append((f"{name} ({layer.layer_type})", display_shape(layer.output_shape or ()), int(layer.params or 0),
                     int(layer.non_trainable or 0), layer.summary))
    return rows


def layer_names(spec: NetworkSpec) -> list[str]:
    """Keras-style names in list order: ``conv2d_1``, ``relu_1``, ``conv2d_2`` ..."""
    counters: dict[str, int] = {}
    names = []
    for layer in spec.layers:
        t = layer.type
        counters[t] = counters.get(t, 0) + 1
        names.append(f"{t.lower()}_{counters[t]}")
    return names


def connected_to(spec: NetworkSpec) -> list[str]:
    """Per layer, the names of the layers it reads ("input" for the network input), Keras's column."""
    names = layer_names(spec)
    return [", ".join("input" if s < 0 else names[s] for s in spec.sources(i)) for i in range(len(spec.layers))]


def _bytes_text(n: int) -> str:
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def summary_table(spec: NetworkSpec) -> dict[str, Any]:
    """The summary as plain data (what ``summary --json`` prints): one record per layer with its
    name, type, inputs, output shape, parameters, multiply-adds per image, activation memory per
    image (float32 bytes) and receptive field (h, w) and jump on the input; and the totals.

    Raises the model's NetworkError (with its explained fix) for an invalid network.
    """
    from cnnstudio.model import validate

    report = validate(spec)
    names = layer_names(spec)
    layers = []
    for row, name in zip(report.layers, names):
        out = list(row.output_shape or ())
        values = 1
        for v in out:
            values *= int(v)
        layers.append({
            "name": name, "type": row.layer_type,
            "inputs": ["input" if s < 0 else names[s] for s in row.sources],
            "output_shape": display_shape(out), "params": int(row.params or 0),
            "non_trainable": int(row.non_trainable or 0), "multiply_adds": int(row.multiply_adds or 0),
            "activation_bytes": 4 * values,
            # past the image's border a window sees only padding: at most the whole image
            "receptive_field": ([min(row.receptive_field[0], spec.input.height),
                                 min(row.receptive_field[1], spec.input.width)] if row.receptive_field else None),
            "details": row.summary,
        })
    return {"name": spec.name, "input": spec.input.display(), "layers": layers,
            "trainable_params": report.trainable_params, "non_trainable_params": report.non_trainable_params,
            "total_params": report.total_params, "multiply_adds": report.multiply_adds,
            "activation_bytes": 4 * report.activation_values}


def summary_text(spec: NetworkSpec) -> str:
    """The whole table; the last line is exactly ``Total params: N`` (N with thousands separators).

    Columns: output shape, parameters, multiply-adds and activation memory per image, and the
    receptive field on the input (torchinfo's figures). A branching network also gets Keras's
    "Connected to" column: the layers each one reads.
    """
    table = summary_table(spec)
    graph = not spec.is_chain
    header = ("Layer (type)", "Output Shape", "Param #", "Mult-adds", "Memory", "RF") + \
        (("Connected to",) if graph else ()) + ("Details",)
    body = []
    for r in table["layers"]:
        rf = r["receptive_field"]
        cells = (f"{r['name']} ({r['type']})", r["output_shape"], f"{r['params'] + r['non_trainable']:,}",
                 f"{r['multiply_adds']:,}", _bytes_text(r["activation_bytes"]), f"{rf[0]}x{rf[1]}" if rf else "?")
        body.append(cells + ((", ".join(r["inputs"]),) if graph else ()) + (r["details"],))
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4}

    def fmt(r: tuple[str, ...]) -> str:
        cells = [f"{c:>{w}}" if i in right else f"{c:<{w}}" for i, (c, w) in enumerate(zip(r[:-1], widths))]
        return "  ".join(cells + [r[-1]]).rstrip()

    rule = "-" * (sum(widths) + 2 * len(widths))
    lines = [f'Model: "{spec.name}"   input {table["input"]}', rule, fmt(header), "=" * len(rule)]
    lines += [fmt(r) for r in body]
    lines += ["=" * len(rule),
              f"Multiply-adds per image: {table['multiply_adds']:,}",
              f"Activation memory per image: {_bytes_text(table['activation_bytes'])} (float32; x batch size "
              "while training, plus what backward keeps)",
              f"Trainable params: {table['trainable_params']:,}",
              f"Non-trainable params: {table['non_trainable_params']:,}",
              f"Total params: {table['total_params']:,}"]
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


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    """``epoch 3/10  train loss 0.123 acc 96.1%  val loss 0.101 acc 97.0%  (4.2 s)``
    (``val -`` without validation data)."""
    def loss_acc(loss: float | None, acc: float | None) -> str:
        if loss is None or acc is None:
            return "-"
        return f"loss {loss:.3f} acc {100 * acc:.1f}%"

    return (f"epoch {record['epoch']}/{epochs}  train {loss_acc(record['train_loss'], record['train_acc'])}  "
            f"val {loss_acc(record.get('val_loss'), record.get('val_acc'))}  ({record['seconds']:.1f} s)")
