"""GraphNetwork: a Network whose layers read any earlier layers (skip connections, branches).

``inputs[i]`` lists the layers layer ``i`` reads (-1 = the network input); layers are
in an order where every layer reads only earlier ones (the model checks that, with
explained errors, before building). Forward runs the list in order, each layer on its
sources' outputs; inference frees each output when its last reader is done. Backward
runs the list in reverse: where a tensor fans out to several readers, their gradients
are summed before its layer's backward runs (the multivariable chain rule), and a
merge (Add, Concatenate) hands one gradient to each of its inputs.

A chain is the special case ``inputs[i] == (i - 1,)``; ``engine.Network`` runs chains with
its data-parallel fast path. Graph training steps run one layer at a time, each layer
using the engine's threads inside (conv chunks, pooling, activations).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from cnnstudio.engine import stats as _stats
from cnnstudio.engine.backend import to_host
from cnnstudio.engine.layers import Layer
from cnnstudio.engine.losses import softmax_cross_entropy
from cnnstudio.engine.network import Network, Shape

INPUT = -1


class GraphNetwork(Network):
    """Layers wired by ``inputs`` (one tuple of source indices per layer); see the module doc."""

    def __init__(self, layers: Sequence[Layer], input_shape: Sequence[int], inputs: Sequence[Sequence[int]],
                 xp: Any = np, dtype: Any = np.float32, seed: int = 0, init: str = "he"):
        self.inputs: list[tuple[int, ...]] = [tuple(int(s) for s in srcs) for srcs in inputs]
        if len(self.inputs) != len(layers):
            raise ValueError(f"GraphNetwork: {len(layers)} layers but {len(self.inputs)} input lists")
        for i, srcs in enumerate(self.inputs):
            if not srcs or any(not INPUT <= s < i for s in srcs):
                raise ValueError(f"GraphNetwork: layer {i} reads {srcs}; each layer reads earlier layers or -1")
            if len(srcs) > 1 and not layers[i].merges:
                raise ValueError(f"GraphNetwork: layer {i} {layers[i].type_name} takes one input, got {srcs}")
        # who reads each output (INPUT included), made once: inference frees by these counts
        self._read_by: dict[int, list[int]] = {i: [] for i in range(INPUT, len(layers))}
        for j, srcs in enumerate(self.inputs):
            for s in srcs:
                self._read_by[s].append(j)
        sinks = [i for i in range(len(layers)) if not self._read_by[i]]
        if sinks != [len(layers) - 1]:
            raise ValueError(f"GraphNetwork: the last layer must be the only output, got outputs {sinks}")
        super().__init__(layers, input_shape, xp=xp, dtype=dtype, seed=seed, init=init)

    # ---- building -----------------------------------------------------------
    def _build(self) -> None:
        outs: dict[int, Shape] = {INPUT: self.input_shape}
        for i, layer in enumerate(self.layers):
            srcs = self.inputs[i]
            shape: Any = tuple(outs[s] for s in srcs) if layer.merges else outs[srcs[0]]
            out = self._output_shape(i, layer, shape)
            layer.build(shape, self.xp, self.dtype, self.rng, init=self.init)
            # Nobody reads the gradient of the network input.
            layer.need_input_grad = any(s != INPUT for s in srcs)
            outs[i] = out
            self.shapes.append(out)

    @property
    def _logits_source(self) -> int:
        """The layer whose output feeds the fused Softmax (or the last layer without one)."""
        last = len(self.layers) - 1
        return self.inputs[last][0] if self.fused_softmax else last

    def _run(self, h: Any, stop: int, training: bool, keep: bool = False,
             on_output: Any = None) -> Any:
        """Forward layers 0..stop-1 from the internal input ``h``; returns the outputs by index.

        Inference frees an output once its last reader has run unless ``keep``.
        ``on_output(i, y)`` sees every output as it is made.
        """
        acts: dict[int, Any] = {INPUT: h}
        left = {i: sum(j < stop for j in self._read_by[i]) for i in range(INPUT, stop)}
        for i in range(stop):
            layer, srcs = self.layers[i], self.inputs[i]
            xs = [acts[s] for s in srcs]
            y = layer.forward(xs if layer.merges else xs[0], training)
            acts[i] = y
            if on_output is not None:
                on_output(i, y)
            if not (training or keep):
                for s in srcs:
                    left[s] -= 1
                    if left[s] == 0 and s != self._logits_source:
                        del acts[s]
        return acts

    # ---- inference ----------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> Any:
        acts = self._run(self._to_internal(x), len(self.layers), training)
        return self._to_public(acts[len(self.layers) - 1])

    def forward_logits(self, x: Any) -> Any:
        source = self._logits_source
        acts = self._run(self._to_internal(x), source + 1, False, keep=True)
        return self._to_public(acts[source])

    def forward_activations(self, x: Any) -> list[np.ndarray]:
        outs: list[np.ndarray] = []

        def record(i: int, y: Any) -> None:
            outs.append(np.array(to_host(self._to_public(y)), dtype=np.float32, copy=True, order="C"))

        self._run(self._to_internal(x), len(self.layers), False, on_output=record)
        return outs

    # ---- training -----------------------------------------------------------
    def train_step(self, x: Any, y: Any, optimizer: Any, lr: float,
                   collect_stats: bool = False) -> tuple[float, float]:
        """One step of gradient descent; see ``Network.train_step``. Gradients of a tensor read by
        several layers are summed before its own layer's backward."""
        xp = self.xp
        y_dev = xp.asarray(y).astype(xp.int64, copy=False)
        body = len(self._body)
        stats: list[tuple[float, float, float]] = []

        def record(i: int, out: Any) -> None:
            if collect_stats:
                stats.append(_stats.activation_stats(out, 1 if out.ndim == 4 else 0))

        acts = self._run(self._to_internal(x), body, True, on_output=record)
        h = acts[self._logits_source]
        if h.ndim != 2:
            raise ValueError(f"Network: the last layer must output class scores (N, K), got shape "
                             f"{tuple(self._to_public(h).shape)}; add Flatten and Dense before the output")
        loss, grad, _ = softmax_cross_entropy(h, y_dev, xp)
        accuracy = float((h.argmax(axis=1) == y_dev).mean()) if len(y_dev) else 0.0
        grads: dict[int, Any] = {self._logits_source: grad}
        for i in reversed(range(body)):
            g = grads.pop(i, None)
            if g is None:   # cannot happen in a checked graph: every layer reaches the output
                raise ValueError(f"GraphNetwork: layer {i} does not reach the output")
            layer = self.layers[i]
            dx = layer.backward(g)
            parts = dx if layer.merges else [dx]
            for src, d in zip(self.inputs[i], parts):
                if src == INPUT or d is None:
                    continue
                if src in grads:
                    grads[src] = grads[src] + d   # a new array: either part may be a layer's buffer
                else:
                    grads[src] = d
        before = None
        if collect_stats:
            before = {id(layer): [p.copy() for p in layer.params.values()] for layer in self._body}
        optimizer.step(self.parameters(), lr)
        self.last_stats = self._collect(stats, before) if collect_stats and before is not None else None
        return loss, accuracy

    def _data_parallel(self, n: int) -> None:
        return None   # graphs split layer by layer (engine.kernels), not by samples


__all__ = ["GraphNetwork", "INPUT"]
