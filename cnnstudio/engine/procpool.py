"""Data-parallel training steps over worker *processes* on shared memory.

Threads of one interpreter take turns for the GIL between the many small NumPy calls of
a small network (lenet5 gained 1.05x from a second thread); processes do not share an
interpreter. ``ProcessDataParallel`` is ``replicas.DataParallel`` with its ranges 1..n-1
run by worker processes: the parent runs range 0 on the network's own layers, each
worker runs its range on layers it rebuilt from their configs, and the arithmetic is the
threads' (the same ops, the same shares, gradients summed in range order), so a step is
bit-identical to the same split in one process.

One shared mapping holds, per step, the parameters (copied in by the parent), the batch
and labels, the Dropout draws (made by the parent for the whole batch, as the threads
do) and one gradient block plus (loss, correct) per worker. A step costs one byte over a
pipe each way per worker.

Lifetime: workers are started with ``spawn`` (never ``fork``: the app's Qt process must
not fork), attach by name, and the parent unlinks the segment as soon as every worker
has attached, so nothing stays in /dev/shm whatever happens later (a SIGKILL included).
A worker blocks on its pipe between steps: when the parent dies the pipe closes and the
worker exits. A worker that dies is reported as ``WorkerError`` with its exit code, and
the pool shuts down.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import traceback
import weakref
from multiprocessing import shared_memory
from typing import Any, Sequence

import numpy as np

from cnnstudio.engine import fused, jit
from cnnstudio.engine.kernels import engine_threads, split
from cnnstudio.engine.layers import LAYER_TYPES, Dropout, Layer
from cnnstudio.engine.losses import softmax_cross_entropy
from cnnstudio.engine.replicas import DataParallel

GO, QUIT, DONE, FAIL, READY = b"g", b"q", b"d", b"f", b"r"
#: seconds a worker has to start (import NumPy and the engine, build its layers, attach)
START_TIMEOUT = 120.0


class WorkerError(RuntimeError):
    """A training worker process failed or died; the message says which and why."""


def _layout(body: Sequence[Layer], workers: int, max_batch: int, sample_shape: tuple[int, ...],
            dtype: np.dtype) -> tuple[dict[str, tuple[int, tuple[int, ...], str]], int]:
    """Name -> (byte offset, shape, dtype) of every array in the shared segment, and its size."""
    items: list[tuple[str, tuple[int, ...], str]] = [("head", (4,), "int64"),
                                                     ("x", (max_batch, *sample_shape), dtype.str),
                                                     ("y", (max_batch,), "int64")]
    for k, layer in enumerate(body):
        for key, p in layer.params.items():
            items.append((f"p{k}.{key}", tuple(p.shape), dtype.str))
        if isinstance(layer, Dropout):
            shape = layer.input_shape
            full = (shape[0], max_batch, *shape[1:]) if len(shape) == 3 else (max_batch, *shape)
            items.append((f"u{k}", full, dtype.str))
    for w in range(1, workers):
        items.append((f"out{w}", (2,), "float64"))
        for k, layer in enumerate(body):
            for key, g in layer.grads.items():
                items.append((f"g{w}.{k}.{key}", tuple(g.shape), dtype.str))
    layout, offset = {}, 0
    for name, shape, dt in items:
        layout[name] = (offset, shape, dt)
        offset += -(-int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize // 64) * 64
    return layout, max(offset, 64)


def _views(buf: Any, layout: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.ndarray(shape, dtype=np.dtype(dt), buffer=buf, offset=off)
            for name, (off, shape, dt) in layout.items()}


class ProcessDataParallel:
    """``body`` (a network's layers without the fused Softmax, all sample-independent, on
    NumPy) split over the parent and ``workers - 1`` worker processes, ``max_batch`` at most."""

    def __init__(self, body: Sequence[Layer], workers: int, max_batch: int, sample_shape: Sequence[int]):
        if workers < 2:
            raise ValueError(f"ProcessDataParallel: needs at least 2 workers (the parent is one), got {workers}")
        self.body = list(body)
        self.workers = workers
        self.max_batch = max_batch
        self.dtype = np.dtype(self.body[0].dtype)
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.numba = jit.numba_enabled()
        self.layout, size = _layout(self.body, workers, max_batch, self.sample_shape, self.dtype)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self.closed = False
        try:
            self.views = _views(self._shm.buf, self.layout)
            self._local = DataParallel(self.body, 1, 1)   # range 0 runs here, with the same ops
            self._start()
        except BaseException:
            self.close()
            raise
        finally:
            # Unlinked once every worker has attached (or failed): /dev/shm never keeps it.
            self._unlink()
        self._finalizer = weakref.finalize(self, _shutdown, self._procs, self._conns)

    # ---- lifetime ------------------------------------------------------------
    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        spec = {
            "shm": self._shm.name,
            "layout": {k: [v[0], list(v[1]), v[2]] for k, v in self.layout.items()},
            "layers": [[layer.type_name, layer.get_config(), list(layer.input_shape), layer.init,
                        bool(layer.need_input_grad)] for layer in self.body],
            "dtype": self.dtype.str,
            "numba": jit.numba_enabled(),
        }
        for w in range(1, self.workers):
            parent_end, child_end = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_worker_main, args=(child_end, json.dumps(dict(spec, worker=w))),
                               name=f"cnnstudio-train-{w}", daemon=True)
            proc.start()
            child_end.close()
            self._procs.append(proc)
            self._conns.append(parent_end)
        for w, conn in enumerate(self._conns, start=1):
            self._expect(w, conn, READY, START_TIMEOUT)

    def _unlink(self) -> None:
        try:
            self._shm.unlink()
        except FileNotFoundError:
            pass

    def close(self) -> None:
        """Stop the workers and release the shared memory (idempotent)."""
        if self.closed:
            return
        self.closed = True
        _shutdown(self._procs, self._conns)
        self.views = {}
        try:
            self._shm.close()
        except BufferError:   # a view is still alive somewhere; the mapping goes with the process
            pass

    def _died(self, w: int) -> None:
        proc = self._procs[w - 1]
        proc.join(timeout=5)
        self.close()
        raise WorkerError(f"training worker {w} (pid {proc.pid}) died (exit code {proc.exitcode}); "
                          "the run stops here")

    def _expect(self, w: int, conn: Any, what: bytes, timeout: float | None) -> None:
        proc = self._procs[w - 1]
        try:
            if timeout is not None and not conn.poll(timeout):
                raise WorkerError(f"training worker {w} (pid {proc.pid}) did not answer within {timeout:.0f} s")
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            self._died(w)
        if msg[:1] == FAIL:
            self.close()
            raise WorkerError(f"training worker {w} failed: {msg[1:].decode('utf-8', 'replace')}")
        if msg[:1] != what:
            self.close()
            raise WorkerError(f"training worker {w} sent {msg[:1]!r} where {what!r} was expected")

    # ---- a step --------------------------------------------------------------
    def forward_backward(self, x: Any, y: Any, to_internal: Any, pieces: int | None = None) -> tuple[float, float]:
        """As ``replicas.DataParallel.forward_backward`` (same split, same sums) over
        ``pieces`` ranges (default: one per process; at most that)."""
        if self.closed:
            raise WorkerError("the training workers were stopped; make a new pool")
        n = len(y)
        if n > self.max_batch:
            raise ValueError(f"ProcessDataParallel: batch of {n} is larger than the pool's {self.max_batch}")
        pieces = self.workers if pieces is None else max(1, min(pieces, self.workers))
        spans = split(n, pieces)
        v = self.views
        v["head"][0] = n
        v["head"][1] = len(spans)
        v["x"][:n] = x
        v["y"][:n] = y
        for k, layer in enumerate(self.body):
            for key, p in layer.params.items():
                v[f"p{k}.{key}"][...] = p
        self._deal_dropout(n, spans)
        for w, conn in enumerate(self._conns[:len(spans) - 1], start=1):
            try:
                conn.send_bytes(GO)
            except (OSError, ValueError):
                self._died(w)
        lo, hi = spans[0]
        failed: BaseException | None = None
        try:
            with engine_threads(1):   # as each engine thread runs its range: serial, BLAS at one thread
                loss0, correct0 = self._local._run(self._local._ops()[0], to_internal(x[lo:hi]), y[lo:hi],
                                                   (hi - lo) / n, np)
        except BaseException as exc:   # raised once the workers have answered (no stale answers)
            failed = exc
        finally:
            for layer in self.body:
                if isinstance(layer, Dropout):
                    layer.uniform = None
        try:
            for w, conn in enumerate(self._conns[:len(spans) - 1], start=1):
                self._expect(w, conn, DONE, None)
        except WorkerError:
            if failed is None:
                raise
        if failed is not None:
            raise failed
        loss, correct = loss0, correct0
        for w in range(1, len(spans)):   # fixed order: the threads' sums, bit for bit
            for k, layer in enumerate(self.body):
                for key, g in layer.grads.items():
                    g += v[f"g{w}.{k}.{key}"]
            loss += float(v[f"out{w}"][0])
            correct += float(v[f"out{w}"][1])
        return loss, correct / n

    def _deal_dropout(self, n: int, spans: list[tuple[int, int]]) -> None:
        for k, layer in enumerate(self.body):
            if not isinstance(layer, Dropout) or layer.rate == 0.0:
                continue
            shape = layer.input_shape
            full = (shape[0], n) + shape[1:] if len(shape) == 3 else (n,) + shape
            u = layer.rng.random(full, dtype=layer.dtype)
            if len(shape) == 3:
                self.views[f"u{k}"][:, :n] = u
            else:
                self.views[f"u{k}"][:n] = u
            lo, hi = spans[0]
            layer.uniform = u[:, lo:hi] if len(shape) == 3 else u[lo:hi]


def _shutdown(procs: list[Any], conns: list[Any]) -> None:
    for conn in conns:
        try:
            conn.send_bytes(QUIT)
        except (OSError, ValueError):
            pass
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
    for conn in conns:
        try:
            conn.close()
        except OSError:
            pass


# ---- the worker process -----------------------------------------------------------
def _worker_main(conn: Any, spec_json: str) -> None:
    """A worker: rebuild the layers, attach the segment, run its range on every GO, exit on
    QUIT or when the parent's end of the pipe closes (the parent died)."""
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415

        limits: Any = threadpool_limits(limits=1)   # one BLAS thread: the processes fill the cores
    except Exception:  # threadpoolctl is an optimisation here, never a reason to fail
        limits = None
    shm = None
    try:
        spec = json.loads(spec_json)
        w = int(spec["worker"])
        dtype = np.dtype(spec["dtype"])
        layers = []
        for type_name, config, input_shape, init, need_grad in spec["layers"]:
            layer = LAYER_TYPES[type_name].from_config(config)
            layer.build(tuple(input_shape), np, dtype, np.random.default_rng(0), init=init)
            layer.need_input_grad = need_grad
            layers.append(layer)
        # Spawned children share the parent's resource tracker, so attaching registers
        # nothing new and the parent's unlink unregisters the one entry.
        shm = shared_memory.SharedMemory(name=spec["shm"])
        layout = {k: (v[0], tuple(v[1]), v[2]) for k, v in spec["layout"].items()}
        v = _views(shm.buf, layout)
        for k, layer in enumerate(layers):
            layer.params = {key: v[f"p{k}.{key}"] for key in layer.params}   # the parent's copy
        with jit.use_numba(bool(spec["numba"])):
            ops = fused.plan(layers)
        conn.send_bytes(READY)
    except BaseException as exc:  # reported to the parent, which raises WorkerError
        _report(conn, exc)
        return
    try:
        while True:
            try:
                msg = conn.recv_bytes()
            except (EOFError, OSError):   # the parent is gone
                return
            if msg != GO:
                return
            try:
                n, pieces = int(v["head"][0]), int(v["head"][1])
                lo, hi = split(n, pieces)[w]
                for k, layer in enumerate(layers):
                    if isinstance(layer, Dropout) and layer.rate != 0.0:
                        u = v[f"u{k}"]
                        layer.uniform = u[:, lo:hi] if len(layer.input_shape) == 3 else u[lo:hi]
                xs = v["x"][lo:hi]
                h = np.ascontiguousarray(xs.transpose(1, 0, 2, 3)) if xs.ndim == 4 else xs
                with jit.use_numba(bool(spec["numba"])):
                    loss, correct = DataParallel._run(ops, h, v["y"][lo:hi], (hi - lo) / n, np)
                for k, layer in enumerate(layers):
                    for key, g in layer.grads.items():
                        v[f"g{w}.{k}.{key}"][...] = g
                v[f"out{w}"][0] = loss
                v[f"out{w}"][1] = correct
                conn.send_bytes(DONE)
            except BaseException as exc:
                _report(conn, exc)
                return
    finally:
        v = {}
        layers = []
        ops = []
        if shm is not None:
            try:
                shm.close()
            except BufferError:
                pass
        del limits


def _report(conn: Any, exc: BaseException) -> None:
    text = f"{type(exc).__name__}: {exc} (pid {os.getpid()})\n" + "".join(traceback.format_tb(exc.__traceback__))[-1500:]
    try:
        conn.send_bytes(FAIL + text.encode("utf-8", "replace"))
    except (OSError, ValueError):
        pass
