"""Explain one output cell of any layer, for one input, with the engine's own numbers.

The arithmetic lives in each layer class (``Layer.explain``, beside its forward pass);
this module only runs the network's inference forward pass on one sample, keeps every
layer's input and output (the same arrays the engine computed, in its dtype), checks the
cell and calls the layer. No layer type is named here.

    ex = Explainer(network, x)          # x: (C, H, W) or (F,), preprocessed as the network expects
    ex.cell(0, (0, 0, 0))               # {"layer": 1, "index": 0, "type": "Conv2D", "at": [0, 0, 0], "value": 149.0, ...}

Layers are given by index (0 for the first, as in the weight names "0.W") and named to people
by number, as the app's cards do ("layer 1 Conv2D"): ``layer`` = index + 1. Cells are per
sample: ``(c, row, col)`` for image outputs, ``(i,)`` for flat ones.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from cnnstudio.engine.backend import to_host
from cnnstudio.engine.errors import EngineError
from cnnstudio.engine.graph import GraphNetwork


class ExplainError(EngineError, ValueError):
    """A layer index or cell that the network does not have (the message says what it has)."""


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        c, h, w = shape
        return f"{c} channel{'s' * (c != 1)} x {h} row{'s' * (h != 1)} x {w} column{'s' * (w != 1)}"
    return f"{shape[0]} value{'s' * (shape[0] != 1)}"


def _per_sample(h: Any) -> np.ndarray:
    """Internal (C, 1, H, W) or (1, F) -> host (C, H, W) or (F,)."""
    a = np.asarray(to_host(h))
    return np.array(a[:, 0] if a.ndim == 4 else a[0], copy=True)


class Explainer:
    """One inference pass of ``network`` on one sample, kept for explaining its cells.

    ``x``: (C, H, W) or (F,) (or a batch of one), preprocessed (``InputSpec.prepare``).
    ``inputs[i]`` / ``outputs[i]``: layer i's input and output for the sample, host arrays
    in the network's dtype, per-sample layout ``(C, H, W)`` / ``(F,)``.
    """

    def __init__(self, network: Any, x: Any) -> None:
        self.network = network
        arr = np.asarray(to_host(x))
        if arr.shape == tuple(network.input_shape):
            arr = arr[None]
        h = network._to_internal(arr)   # the engine's own layout and dtype
        if (h.shape[1] if h.ndim == 4 else h.shape[0]) != 1:
            raise ExplainError(f"explain: give one image, got a batch of {arr.shape[0]}")
        #: which outputs each layer reads (-1: the network input); a chain reads the one before
        self.sources: list[tuple[int, ...]] = (list(network.inputs) if isinstance(network, GraphNetwork)
                                               else [(i - 1,) for i in range(len(network.layers))])
        self.inputs: list[Any] = []   # an array per layer; a list of them for a merge
        self.outputs: list[np.ndarray] = []
        acts: dict[int, Any] = {-1: h}
        host: dict[int, np.ndarray] = {-1: _per_sample(h)}
        for i, layer in enumerate(network.layers):
            srcs = self.sources[i]
            xs = [acts[s] for s in srcs]
            acts[i] = layer.forward(xs if layer.merges else xs[0], False)
            host[i] = _per_sample(acts[i])
            self.inputs.append([host[s] for s in srcs] if layer.merges else host[srcs[0]])
            self.outputs.append(host[i])

    def __len__(self) -> int:
        return len(self.network.layers)

    def check(self, index: int, at: Sequence[int]) -> tuple[int, ...]:
        """``at`` as a tuple inside layer ``index``'s output, or ExplainError saying what fits."""
        n = len(self.network.layers)
        if not 0 <= index < n:
            raise ExplainError(f"explain: layer {index + 1} does not exist; this network has layers 1 to {n}")
        layer = self.network.layers[index]
        shape = tuple(self.outputs[index].shape)
        cell = tuple(int(v) for v in at)
        head = f"explain: layer {index + 1} ({layer.type_name}) outputs {_shape_text(shape)}"
        if len(cell) != len(shape):
            want = "C,Y,X (channel, row, column)" if len(shape) == 3 else "I (one index)"
            raise ExplainError(f"{head}; give the cell as {want}, got {','.join(map(str, cell)) or 'nothing'}")
        for name, v, size in zip(("channel", "row", "column") if len(shape) == 3 else ("index",), cell, shape):
            if not 0 <= v < size:
                raise ExplainError(f"{head}; {name} {v} is outside 0..{size - 1}")
        return cell

    def cell(self, index: int, at: Sequence[int]) -> dict[str, Any]:
        """The layer's explanation of cell ``at`` plus ``layer`` (its number, index + 1), ``index``,
        ``type``, ``at``, ``value`` (the engine's output there, exactly) and ``input_shape`` /
        ``output_shape`` (per sample; a merge's input shape is one per input) and ``reads``: the
        numbers of the layers it reads (0: the network input)."""
        cell = self.check(index, at)
        layer = self.network.layers[index]
        x, y = self.inputs[index], self.outputs[index]
        in_shape = [list(a.shape) for a in x] if layer.merges else list(x.shape)
        out: dict[str, Any] = {"layer": index + 1, "index": index, "type": layer.type_name, "at": list(cell),
                               "value": float(y[cell]), "input_shape": in_shape, "output_shape": list(y.shape),
                               "reads": [s + 1 for s in self.sources[index]]}
        out.update(layer.explain(x, y, cell))
        return out


    def input_window(self, index: int, at: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The rows and columns of the network's input image that cell ``at`` (c, y, x) of layer
        ``index`` is computed from, ``((first row, last row), (first column, last column))`` clipped
        to the image, or None where that is no window (a flat cell, a merge on the way back).

        Walks back layer by layer using each layer's own explanation of the window's corner cells
        (the ``rows``/``cols`` a convolution or pooling read, padding included, then clipped); a
        layer that keeps positions (activations, BatchNorm, Dropout) passes the window through."""
        cell = self.check(index, at)
        if len(cell) != 3:
            return None
        (r0, r1), (c0, c1) = (cell[1], cell[1]), (cell[2], cell[2])
        i = index
        while i >= 0:
            if len(self.sources[i]) != 1 or self.network.layers[i].merges:
                return None
            x, y = self.inputs[i], self.outputs[i]
            if x.ndim != 3 or y.ndim != 3:
                return None
            first, last = self.cell(i, (0, r0, c0)), self.cell(i, (0, r1, c1))
            if "rows" in first and "cols" in first:
                r0, c0, r1, c1 = first["rows"][0], first["cols"][0], last["rows"][-1], last["cols"][-1]
            elif x.shape[1:] != y.shape[1:]:
                return None   # a layer that moves positions without saying how
            r0, r1 = max(0, r0), min(x.shape[1] - 1, r1)
            c0, c1 = max(0, c0), min(x.shape[2] - 1, c1)
            i = self.sources[i][0]
        return (r0, r1), (c0, c1)

def explain_cell(network: Any, x: Any, index: int, at: Sequence[int]) -> dict[str, Any]:
    """One cell's explanation (see ``Explainer.cell``) for one sample ``x``."""
    return Explainer(network, x).cell(index, at)


def parse_cell(text: str) -> tuple[int, ...]:
    """``"0,12,3"`` -> (0, 12, 3); ``"7"`` -> (7,); ExplainError for anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        cell = tuple(int(p) for p in parts)
    except ValueError:
        raise ExplainError(f"explain: cell {text!r} is not whole numbers separated by commas "
                           "(C,Y,X for a map, I for a flat layer)") from None
    if len(cell) not in (1, 3):
        raise ExplainError(f"explain: cell {text!r} has {len(cell)} numbers; give C,Y,X (channel, row, "
                           "column) for a map or I for a flat layer")
    return cell
