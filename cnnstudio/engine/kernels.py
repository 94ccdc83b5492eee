"""How the compute kernels use threads: the BLAS thread count and the engine's own workers.

Conv2D multiplies im2col columns a few samples at a time when BLAS runs on one
thread (the chunk stays in cache), but with several BLAS threads small GEMMs do
not parallelise: one big GEMM per batch was 2.6x faster with two threads on
mini-vgg. The count is read on every call because the trainer changes it with
threadpoolctl while the program runs; reading it costs under a microsecond.

The engine's own parallel seam: ``compute_threads(n)`` lets the layers called from
this thread split their work (sample chunks of a convolution, channel slices of
ReLU and pooling) over ``n`` threads, each calling single-threaded BLAS; NumPy
releases the GIL in BLAS, copies and ufuncs, so the pieces run at once. Every
piece writes its own part of the output, so the result never depends on which
thread ran which piece (runs are bit-for-bit repeatable).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np

_blas: list[Any] | None = None
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def blas_threads() -> int:
    """The most threads any loaded BLAS may use now (1 when unknown)."""
    global _blas
    try:
        if _blas is None:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        return int(max([lib.num_threads for lib in _blas] or [1]))
    except Exception:  # threadpoolctl is an optimisation here, never a reason to fail
        return 1


def cpu_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def workers() -> int:
    """How many threads layer kernels called from this thread may split their work over (1: serial)."""
    return getattr(_local, "workers", 1)


@contextlib.contextmanager
def compute_threads(n: int) -> Iterator[None]:
    """Within the block, kernels called from this thread use ``n`` threads (thread-local setting).

    The caller keeps BLAS at one thread while n > 1 (``engine.trainer`` does): the
    workers already fill the cores, and BLAS threads on top of them only contend.
    """
    if isinstance(n, bool) or int(n) < 1:
        raise ValueError(f"compute_threads: n must be a whole number >= 1, got {n!r}")
    previous = workers()
    _local.workers = int(n)
    try:
        yield
    finally:
        _local.workers = previous


def _executor(size: int) -> ThreadPoolExecutor:
    """The persistent pool, with at least ``size`` threads (threads sleep while idle)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < size:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="cnnstudio-kernel")
            _pool_size = size
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def parallel_for(fn: Callable[[Any, int], None], items: Sequence[Any], threads: int | None = None) -> None:
    """Call ``fn(item, slot)`` once per item, spread over up to ``threads`` threads (default ``workers()``).

    ``slot`` (0 .. threads-1) names the thread running the call, so each may use its own
    scratch buffers. The calling thread is slot 0 and works too; items are handed out in
    order as threads become free (a core busy with other jobs slows nobody down). Returns
    when every call has finished; the first exception is raised after all have stopped.
    """
    n = min(workers() if threads is None else threads, len(items))
    if n <= 1:
        for item in items:
            fn(item, 0)
        return
    counter = itertools.count()   # next() on a count is atomic under the GIL
    failed: list[BaseException] = []

    def runner(slot: int) -> None:
        while not failed:
            k = next(counter)
            if k >= len(items):
                return
            try:
                fn(items[k], slot)
            except BaseException as exc:  # re-raised in the caller, after every thread stopped
                failed.append(exc)

    pool = _executor(n - 1)
    futures = [pool.submit(runner, slot) for slot in range(1, n)]
    runner(0)
    for f in futures:
        f.result()
    if failed:
        raise failed[0]


#: Below this many elements an element-wise pass is not split: handing work to another
#: thread and waiting for it costs tens of microseconds, what ReLU takes on ~300k floats
#: (measured: ReLU on 300k floats was slower on two threads, on 800k faster; pooling alike).
PARALLEL_MIN_ELEMENTS = 1 << 19


def split_threads(size: int, threads: int | None = None) -> int:
    """How many threads a pass over ``size`` elements should use: 1 below PARALLEL_MIN_ELEMENTS."""
    n = workers() if threads is None else threads
    return n if size >= PARALLEL_MIN_ELEMENTS else 1


def map_flat(fn: Callable[..., None], *arrays: Any) -> None:
    """``fn(*pieces)`` over matching contiguous pieces of same-size arrays, one piece per thread.

    For element-wise work (``fn`` writes its pieces in place, ``out=``). Runs ``fn(*arrays)``
    once when the arrays are small, not all C-contiguous NumPy arrays, or workers() is 1.
    """
    size = arrays[0].size
    n = split_threads(size)
    if n <= 1 or not all(isinstance(a, np.ndarray) and a.flags.c_contiguous and a.size == size for a in arrays):
        fn(*arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    parallel_for(lambda span, slot: fn(*(f[span[0]:span[1]] for f in flats)), split(size, n), n)


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``total`` into ``parts`` (or fewer) contiguous (start, stop) ranges of nearly equal size."""
    parts = max(1, min(parts, total))
    size = -(-total // parts)
    return [(s, min(total, s + size)) for s in range(0, total, size)]


_controller: Any = None


@contextlib.contextmanager
def engine_threads(n: int) -> Iterator[None]:
    """Run the block's kernels on ``n`` threads of our own, with BLAS at one thread inside each.

    The setting the Trainer applies around every step. Measured on this 2-core machine:
    splitting the loops ourselves scales where BLAS threads alone do not (im2col, ReLU and
    pooling stay serial under BLAS threading, and small GEMMs do not parallelise).
    """
    global _controller
    with compute_threads(n):
        try:
            if _controller is None:
                from threadpoolctl import ThreadpoolController  # noqa: PLC0415  (optional speed knob)

                _controller = ThreadpoolController()   # scanning the loaded libraries is slow: once
            limit = _controller.limit(limits=1, user_api="blas")
        except Exception:  # threadpoolctl is an optimisation here, never a reason to fail
            limit = contextlib.nullcontext()
        with limit:
            yield
