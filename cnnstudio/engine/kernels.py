"""Facts the compute kernels use to size their work: how many threads BLAS may use.

Conv2D multiplies im2col columns a few samples at a time when BLAS runs on one
thread (the chunk stays in cache), but with several BLAS threads small GEMMs do
not parallelise: one big GEMM per batch was 2.6x faster with two threads on
mini-vgg. The count is read on every call because the trainer changes it with
threadpoolctl while the program runs; reading it costs under a microsecond.
"""

from __future__ import annotations

from typing import Any

_blas: list[Any] | None = None


def blas_threads() -> int:
    """The most threads any loaded BLAS may use now (1 when unknown)."""
    global _blas
    try:
        if _blas is None:
            import numpy  # noqa: F401  (BLAS is loaded with NumPy; the controller lists loaded libraries)
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        return max([lib.num_threads for lib in _blas] or [1])
    except Exception:  # threadpoolctl is an optimisation here, never a reason to fail
        return 1
