"""The optional numba seam: whether compiled kernels are used, and compiling them lazily.

numba comes with the `fast` extra (``pip install cnnstudio[fast]``); without it every
kernel has a NumPy path. It is imported on the first compiled call only: importing it
costs ~0.2 s, which no command that does not train should pay. Kernels are compiled
with ``nogil`` (the engine's threads run them at once) and cached on disk by numba.
``CNNSTUDIO_NUMBA=0`` in the environment, or ``use_numba(False)``, forces the NumPy paths.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from typing import Any, Callable, Iterator

#: numba is installed
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
_use = HAVE_NUMBA and os.environ.get("CNNSTUDIO_NUMBA", "1") != "0"
_compiled: dict[Callable[..., Any], Any] = {}
_lock = threading.Lock()


def numba_enabled() -> bool:
    """True when kernels run compiled (numba installed and not switched off)."""
    return _use


@contextlib.contextmanager
def use_numba(on: bool) -> Iterator[None]:
    """Within the block, compiled kernels are used when ``on`` and numba is installed."""
    global _use
    previous = _use
    _use = bool(on) and HAVE_NUMBA
    try:
        yield
    finally:
        _use = previous


def compiled(fn: Callable[..., Any]) -> Any:
    """``fn`` compiled by numba (once per process; numba keeps one version per argument types)."""
    k = _compiled.get(fn)
    if k is None:
        with _lock:
            k = _compiled.get(fn)
            if k is None:
                import numba  # noqa: PLC0415  (optional, and slow to import: see the module doc)

                k = _compiled[fn] = numba.njit(nogil=True, cache=True)(fn)
    return k
