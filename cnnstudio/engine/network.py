"""Network: runs a list of built layers as one model on one array backend.

Public batches are NCHW ``(N, C, H, W)`` (or ``(N, F)``); inside, image tensors are
CNHW ``(C, N, H, W)`` because im2col/GEMM runs 3-4x faster in that layout here, so
the network transposes once at the input and back only when it returns activations.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Iterator, Sequence

import numpy as np

from cnnstudio.engine import fused, inference, kernels, replicas
from cnnstudio.engine import stats as _stats
from cnnstudio.engine.backend import to_host
from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.initializers import check_init
from cnnstudio.engine.layers import Layer, ReLU, Softmax
from cnnstudio.engine.losses import softmax_cross_entropy

Shape = tuple[int, ...]


class WeightsMismatchError(ValueError):
    """Weights given to ``set_weights`` do not fit the network (names or shapes)."""


class Network:
    """An ordered stack of layers, built for ``input_shape`` (per sample: (C, H, W) or (F,)).

    ``seed`` fixes the weight initialisation and every other random draw of the layers
    (dropout), so two networks built alike compute alike, bit for bit, on the CPU.
    """

    def __init__(self, layers: Sequence[Layer], input_shape: Sequence[int], xp: Any = np,
                 dtype: Any = np.float32, seed: int = 0, init: str = "he"):
        self.layers: list[Layer] = list(layers)
        if not self.layers:
            raise ValueError("Network: needs at least one layer")
        self.input_shape: Shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) not in (1, 3):
            raise ValueError(f"Network: input_shape must be (C, H, W) or (F,), got {self.input_shape}")
        self.xp = xp
        self.dtype = np.dtype(dtype)
        self.init = check_init(init)
        self.rng = np.random.default_rng(seed)
        self.shapes: list[Shape] = [self.input_shape]
        self.last_stats: list[_stats.LayerStats] | None = None
        self._build()

    # ---- building -----------------------------------------------------------
    def _build(self) -> None:
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            out = self._output_shape(i, layer, shape)
            layer.build(shape, self.xp, self.dtype, self.rng, init=self.init)
            # The input gradient of the first layer is never used; layers may skip computing it.
            layer.need_input_grad = i > 0
            self.shapes.append(out)
            shape = out

    @staticmethod
    def _output_shape(i: int, layer: Layer, shape: Any) -> Shape:
        """``layer``'s output shape; a ShapeError names the layer's index."""
        try:
            return tuple(layer.output_shape(shape))
        except ShapeError as exc:
            detail = str(exc).split(": ", 1)[-1]
            raise ShapeError(exc.layer_type, exc.reason, f"(layer {i}) {detail}", **exc.details) from exc

    @property
    def output_shape(self) -> Shape:
        return self.shapes[-1]

    @property
    def fused_softmax(self) -> bool:
        """True when the last layer is Softmax: training fuses it with cross-entropy."""
        return isinstance(self.layers[-1], Softmax)

    @property
    def _body(self) -> list[Layer]:
        return self.layers[:-1] if self.fused_softmax else self.layers

    # ---- layout -------------------------------------------------------------
    def _to_internal(self, x: Any) -> Any:
        """x: (N, C, H, W) or (N, F), host or device -> internal (C, N, H, W) or (N, F) on xp."""
        xp = self.xp
        x = xp.asarray(x)
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"Network input: expected batches of shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {tuple(x.shape)}; resize the data to the network's input")
        x = x.astype(self.dtype, copy=False)
        if x.ndim == 4:
            x = xp.ascontiguousarray(x.transpose(1, 0, 2, 3))
        return x

    @staticmethod
    def _to_public(h: Any) -> Any:
        """Internal (C, N, H, W) -> (N, C, H, W); (N, F) unchanged."""
        return h.transpose(1, 0, 2, 3) if h.ndim == 4 else h

    # ---- inference ----------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (N, C, H, W) or (N, F). Returns probabilities (N, K) if the last layer is Softmax,
        else the last layer's output (NCHW or (N, F)), on the network's backend."""
        h = self._to_internal(x)
        lean = None if training else self._lean(h)
        if lean is not None:
            return self._to_public(lean.run(h)).copy()
        for layer in self.layers:
            h = layer.forward(h, training)
        return self._to_public(h)

    def forward_logits(self, x: Any) -> Any:
        """x: (N, C, H, W) or (N, F) -> the input of the Softmax layer (N, K) (inference mode)."""
        h = self._to_internal(x)
        lean = self._lean(h)
        if lean is not None:
            return self._to_public(lean.run(h, len(self._body))).copy()
        for layer in self._body:
            h = layer.forward(h, False)
        return self._to_public(h)

    def _lean(self, h: Any) -> "inference.LeanRunner | None":
        """This thread's lean runner for h's batch size (``engine.inference``), or None: off
        NumPy or a batch above ``inference.MAX_BATCH``."""
        n = h.shape[1] if h.ndim == 4 else h.shape[0]
        if self.xp is not np or not 1 <= n <= inference.MAX_BATCH:
            return None
        local = self.__dict__.get("_lean_local")
        if local is None:
            local = self.__dict__.setdefault("_lean_local", threading.local())
        runners = getattr(local, "runners", None)
        if runners is None:
            runners = local.runners = {}
        key = (n, fused.numba_enabled())
        runner = runners.get(key)
        if runner is None:
            runner = runners[key] = inference.LeanRunner(self.layers, n, compiled=key[1])
        return runner

    def forward_activations(self, x: Any) -> list[np.ndarray]:
        """Every layer's output for x: (N, C, H, W) or (N, F), inference mode.

        Returns one host float32 NumPy array per layer, (N, C, H, W) or (N, F).
        """
        h = self._to_internal(x)
        lean = self._lean(h)
        if lean is not None:
            return [np.array(self._to_public(a), dtype=np.float32, copy=True, order="C") for a in lean.run_all(h)]
        outs = []
        for layer in self.layers:
            h = layer.forward(h, False)
            # A real copy: layers may reuse their output buffers on the next call.
            outs.append(np.array(to_host(self._to_public(h)), dtype=np.float32, copy=True, order="C"))
        return outs

    # ---- training -----------------------------------------------------------
    def train_step(self, x: Any, y: Any, optimizer: Any, lr: float,
                   collect_stats: bool = False) -> tuple[float, float]:
        """One step of gradient descent on a batch.

        x: (N, C, H, W) or (N, F) float; y: (N,) int class indices.
        Returns (mean loss, accuracy) as floats. With ``collect_stats`` the per-layer
        statistics of this step are left in ``self.last_stats``.
        """
        xp = self.xp
        y_dev = xp.asarray(y).astype(xp.int64, copy=False)
        parallel = procs = None
        if not collect_stats:
            procs = self._process_parallel(len(y_dev))
            parallel = procs or self._data_parallel(len(y_dev))
        if parallel is not None:   # each engine thread (or process) runs every layer on its share
            run = procs or parallel.forward_backward
            loss, accuracy = run(x, y_dev, self._to_internal)
            optimizer.step(self.parameters(), lr)
            self.last_stats = None
            return loss, accuracy
        h = self._to_internal(x)
        acts: list[tuple[float, float, float]] = []
        # Statistics need every layer's own output: those steps run the layers unfused.
        ops = self._body if collect_stats else self._ops()
        for op in ops:
            h = op.forward(h, True)
            if collect_stats:
                # Reduce now: a later layer may work in place on this output.
                acts.append(_stats.activation_stats(h, 1 if h.ndim == 4 else 0))
        if h.ndim != 2:
            raise ValueError(f"Network: the last layer must output class scores (N, K), got shape "
                             f"{tuple(self._to_public(h).shape)}; add Flatten and Dense before the output")
        loss, grad, _ = softmax_cross_entropy(h, y_dev, xp)
        accuracy = float((h.argmax(axis=1) == y_dev).mean()) if len(y_dev) else 0.0
        for op in reversed(ops):
            grad = op.backward(grad)
        before: dict[int, list[Any]] | None = None
        if collect_stats:
            before = {id(layer): [p.copy() for p in layer.params.values()] for layer in self._body}
        optimizer.step(self.parameters(), lr)
        self.last_stats = self._collect(acts, before) if before is not None else None   # set iff collect_stats
        return loss, accuracy

    def _ops(self) -> list[Any]:
        """The training step's ops: the body's layers, with ReLU + MaxPool2D (and ReLU after a
        Conv2D or Dense) fused (``engine.fused``); the plain layers off NumPy."""
        cache: dict[bool, list[Any]] = self.__dict__.setdefault("_op_plans", {})
        key = fused.numba_enabled()
        if key not in cache:
            cache[key] = fused.plan(self._body) if self.xp is np else list(self._body)
        return cache[key]

    def set_worker_processes(self, count: int) -> None:
        """Run training steps over ``count`` processes (this one and count - 1 workers on shared
        memory, ``engine.procpool``) when every layer is sample-independent; 0 or 1: off.

        The split is the one ``count`` engine threads make, so results are bit-identical to
        ``kernels.engine_threads(count)`` in one process. Stops any previous workers.
        """
        if isinstance(count, bool) or int(count) < 0:
            raise ValueError(f"Network.set_worker_processes: count must be a whole number >= 0, got {count!r}")
        self.close_workers()
        self._process_count = int(count)

    def close_workers(self) -> None:
        """Stop this network's worker processes, if any (they also stop when it is collected)."""
        pool = self.__dict__.pop("_procpool", None)
        if pool is not None:
            pool.close()

    def _process_parallel(self, n: int) -> "Any | None":
        count = self.__dict__.get("_process_count", 0)
        if count < 2 or self.xp is not np:
            return None
        _, pieces = replicas.plan(n, count)   # the split engine threads would make
        if pieces < 2 or not replicas.can_split(self._body):
            return None
        pool = self.__dict__.get("_procpool")
        if pool is None or pool.closed or pool.max_batch < n or pool.numba != fused.numba_enabled():
            from cnnstudio.engine.procpool import ProcessDataParallel  # noqa: PLC0415  (only when asked)

            self.close_workers()
            pool = self._procpool = ProcessDataParallel(self._body, count, n, self.input_shape)
        return functools.partial(pool.forward_backward, pieces=pieces)

    def _data_parallel(self, n: int) -> "replicas.DataParallel | None":
        """The sample-split runner for this thread's engine threads (``kernels.compute_threads``),
        or None: one thread, a GPU, a batch too small to split, or a layer that needs the
        whole batch (BatchNorm, Dropout: their layers are split one by one instead)."""
        threads = kernels.workers()
        if threads < 2 or self.xp is not np:
            return None
        threads, pieces = replicas.plan(n, threads)
        if pieces < 2:
            return None
        cache: dict[tuple[int, int], replicas.DataParallel | None] = self.__dict__.setdefault("_replicas", {})
        if (threads, pieces) not in cache:
            split_ok = replicas.can_split(self._body)
            cache[threads, pieces] = replicas.DataParallel(self._body, threads, pieces) if split_ok else None
        return cache[threads, pieces]

    def _collect(self, acts: list[tuple[float, float, float]],
                 before: dict[int, list[Any]]) -> list[_stats.LayerStats]:
        out = []
        for i, (layer, (mean, std, dead)) in enumerate(zip(self._body, acts)):
            w_norm = g_norm = ratio = None
            if layer.params:
                params = list(layer.params.values())
                w_norm = _stats.norm(params)
                g_norm = _stats.norm(layer.grads[k] for k in layer.params)
                ratio = _stats.update_ratio(before[id(layer)], params)
            out.append(_stats.LayerStats(i, layer.type_name, mean, std,
                                         dead if isinstance(layer, ReLU) else None, w_norm, g_norm, ratio))
        return out

    # ---- parameters ---------------------------------------------------------
    def parameters(self) -> Iterator[tuple[str, Any, Any]]:
        """(name, param, grad) for every trainable parameter, names "{layer_index}.{param}" (the
        optimizer's list: a frozen layer's are left out, so training leaves them alone)."""
        for i, layer in enumerate(self.layers):
            if layer.frozen:
                continue
            for key, param in layer.params.items():
                yield f"{i}.{key}", param, layer.grads[key]

    def _weight_arrays(self) -> dict[str, Any]:
        arrays = {}
        for i, layer in enumerate(self.layers):
            for key, value in list(layer.params.items()) + list(getattr(layer, "state", {}).items()):
                arrays[f"{i}.{key}"] = value
        return arrays

    def param_count(self) -> int:
        return sum(int(p.size) for layer in self.layers for p in layer.params.values())   # frozen ones too

    def get_weights(self) -> dict[str, np.ndarray]:
        """Host copies of trainable parameters and layer state (BatchNorm running statistics)."""
        return {name: np.array(to_host(a), copy=True) for name, a in self._weight_arrays().items()}

    def set_weights(self, weights: dict[str, Any]) -> None:
        """Copy ``weights`` (name -> array) into the network, in place.

        Raises WeightsMismatchError naming the first missing, unexpected or mis-shaped key;
        nothing is changed when any key is wrong.
        """
        arrays = self._weight_arrays()
        missing = sorted(set(arrays) - set(weights))
        extra = sorted(set(weights) - set(arrays))
        if missing:
            raise WeightsMismatchError(f"weights: missing {missing[0]!r} ({self._describe(missing[0])}); "
                                       "the weights come from a different network")
        if extra:
            raise WeightsMismatchError(f"weights: unexpected {extra[0]!r}; this network has no such parameter "
                                       "(the weights come from a different network)")
        for name, target in arrays.items():
            got = tuple(np.shape(weights[name]))
            if got != tuple(target.shape):
                raise WeightsMismatchError(f"weights: {name!r} ({self._describe(name)}) expected shape "
                                           f"{tuple(target.shape)}, got {got}")
        for name, target in arrays.items():
            target[...] = self.xp.asarray(weights[name]).astype(target.dtype, copy=False)

    def _describe(self, name: str) -> str:
        index = int(name.split(".", 1)[0])
        return f"layer {index} {self.layers[index].type_name}"
