"""The array-backend seam: NumPy always, CuPy when a working NVIDIA GPU is present.

This is the only module that may import cupy. Everything else receives ``xp``
through the Network. A missing or broken CuPy means "CPU only" with the reason
kept for the GUI, never a crash: on machines without a driver ``import cupy``
succeeds and only the first real CUDA call fails, so the check calls into CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")


class BackendUnavailableError(RuntimeError):
    """The requested array backend cannot be used on this machine (the reason is in the message)."""


@dataclass(frozen=True)
class Backend:
    """``name`` ("numpy" or "cupy") and its array module ``xp``."""

    name: str
    xp: Any


def _import_cupy() -> Any:
    # A separate function so tests can make the import fail.
    import cupy  # noqa: PLC0415  (optional dependency, imported only here)

    return cupy


def cupy_status() -> tuple[bool, str]:
    """(available, reason). ``reason`` says why not (or names the GPU) in words for the GUI."""
    try:
        cupy = _import_cupy()
    except Exception as exc:  # ImportError, or a broken install raising anything at import
        return False, f"CuPy is not installed or failed to import ({type(exc).__name__}: {exc}); running on the CPU"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
        if count < 1:
            return False, "CuPy found no CUDA device; running on the CPU"
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props.get("name", b"GPU")
        name = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
    except Exception as exc:  # CUDARuntimeError (no driver, insufficient driver), ...
        return False, f"CuPy cannot use CUDA ({type(exc).__name__}: {exc}); running on the CPU"
    return True, f"CUDA device 0: {name} ({count} device{'s' if count > 1 else ''})"


def get_backend(name: str = "numpy") -> Backend:
    """The backend called ``name``; raises BackendUnavailableError (quoting the reason) for a missing CuPy."""
    if name == "numpy":
        return Backend("numpy", np)
    if name == "cupy":
        ok, reason = cupy_status()
        if not ok:
            raise BackendUnavailableError(f"backend 'cupy' is not available: {reason}. Use backend 'numpy'.")
        return Backend("cupy", _import_cupy())
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def is_device_array(array: Any) -> bool:
    """True for a CuPy array (decided without importing cupy)."""
    return type(array).__module__.split(".")[0] == "cupy"


def array_module(array: Any) -> Any:
    """numpy or cupy, whichever ``array`` belongs to."""
    return _import_cupy() if is_device_array(array) else np


def to_host(array: Any) -> np.ndarray:
    """A host NumPy array with the values of ``array`` (a copy for device arrays, as-is for NumPy)."""
    if is_device_array(array):
        return np.asarray(array.get())
    return np.asarray(array)
