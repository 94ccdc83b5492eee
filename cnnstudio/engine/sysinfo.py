"""What the engine runs on: the processor, the BLAS library and the kernels it chose, numba, CuPy;
and a note when the BLAS kernels are slower than the processor allows.

OpenBLAS (NumPy's BLAS) picks its kernels for the processor when it is loaded, unless the
environment variable ``OPENBLAS_CORETYPE`` names a kernel set. A machine whose environment
sets ``OPENBLAS_CORETYPE=Haswell`` on a processor with AVX-512 gets AVX2 kernels: on the AMD
EPYC (AVX-512) this project is measured on, the matrix products of mini-vgg's convolutions ran
at 70-85 GFLOP/s against 120-195 with the SkylakeX kernels OpenBLAS picks there by itself
(``docs/benchmarks.md``). It cannot be changed once NumPy is loaded, so the app and the command
line say so and how to fix it (``cnnstudio info``; ``cnnstudio train`` prints the note).
No Qt here; nothing is imported that is not already loaded, except numba's and CuPy's specs.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from typing import Any, Mapping

#: OpenBLAS kernel sets (threadpoolctl's "architecture") that use no AVX-512
PRE_AVX512_KERNELS = frozenset({"haswell", "zen", "sandybridge", "nehalem", "prescott", "core2", "penryn",
                                "dunnington", "atom", "barcelona", "bobcat", "bulldozer", "piledriver",
                                "steamroller", "excavator", "opteron", "katmai", "coppermine", "northwood"})
#: what OpenBLAS's SkylakeX kernels need
AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
MAX_CPUINFO_BYTES = 4 << 20   # /proc/cpuinfo of a very large machine is well under this


def _first_processor(path: str) -> dict[str, str]:
    """The first processor's fields of a /proc/cpuinfo file (read up to MAX_CPUINFO_BYTES); empty
    where there is none."""
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_CPUINFO_BYTES).decode("ascii", "replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The first processor's feature flags (Linux); empty where unknown."""
    fields = _first_processor(path)
    return frozenset((fields.get("flags") or fields.get("Features") or "").split())


def cpu_name(path: str = "/proc/cpuinfo") -> str:
    return _first_processor(path).get("model name") or platform.processor() or platform.machine()


def blas_libraries() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process: {library, version, kernels, threads}."""
    try:
        from threadpoolctl import threadpool_info

        infos = threadpool_info()
    except Exception:   # threadpoolctl is a diagnostic here, never a reason to fail
        return []
    return [{"library": i.get("internal_api"), "version": i.get("version"), "kernels": i.get("architecture"),
             "threads": i.get("num_threads")} for i in infos if i.get("user_api") == "blas"]


def slow_blas_kernels(libraries: list[dict[str, Any]] | None = None, flags: frozenset[str] | None = None,
                      environ: Mapping[str, str] | None = None) -> tuple[str, str | None] | None:
    """(the kernels OpenBLAS runs, the environment's OPENBLAS_CORETYPE or None) when they use no
    AVX-512 on a processor that has it; None otherwise."""
    libraries = blas_libraries() if libraries is None else libraries
    flags = cpu_flags() if flags is None else flags
    environ = os.environ if environ is None else environ
    if not AVX512_FLAGS <= flags:
        return None
    for lib in libraries:
        kernels = str(lib.get("kernels") or "")
        if lib.get("library") == "openblas" and kernels.lower() in PRE_AVX512_KERNELS:
            return kernels, environ.get("OPENBLAS_CORETYPE") or None
    return None


def blas_kernel_note(libraries: list[dict[str, Any]] | None = None, flags: frozenset[str] | None = None,
                     environ: Mapping[str, str] | None = None) -> str | None:
    """A sentence for the user when OpenBLAS runs kernels without AVX-512 on a processor that has
    it (None otherwise): why, and what to do."""
    slow = slow_blas_kernels(libraries, flags, environ)
    if slow is None:
        return None
    kernels, forced = slow
    if forced:
        return (f"OpenBLAS uses its {kernels} kernels because the environment sets "
                f"OPENBLAS_CORETYPE={forced}, but this processor has AVX-512: the matrix products that "
                "make up most of a convolution's time can run about twice as fast. Start cnnstudio "
                "without OPENBLAS_CORETYPE (OpenBLAS then picks its kernels itself), or with "
                "OPENBLAS_CORETYPE=SkylakeX.")
    return (f"OpenBLAS chose its {kernels} kernels, but this processor has AVX-512: the matrix "
            "products that make up most of a convolution's time may run faster with "
            "OPENBLAS_CORETYPE=SkylakeX set in the environment before cnnstudio starts.")


def blas_kernel_hint(libraries: list[dict[str, Any]] | None = None, flags: frozenset[str] | None = None,
                     environ: Mapping[str, str] | None = None) -> str | None:
    """The same finding in one short line (a status bar): what is slow and where to read more."""
    slow = slow_blas_kernels(libraries, flags, environ)
    if slow is None:
        return None
    why = f"OPENBLAS_CORETYPE={slow[1]} keeps" if slow[1] else "OpenBLAS leaves"
    return f"Training could run faster: {why} this processor's AVX-512 unused (see Help > About)."


def report() -> dict[str, Any]:
    """Everything ``cnnstudio info`` prints, as plain JSON."""
    import numpy as np

    from cnnstudio import __version__
    from cnnstudio.engine import jit
    from cnnstudio.engine.kernels import cpu_cores

    numba_version = None
    if jit.HAVE_NUMBA:
        from importlib.metadata import PackageNotFoundError, version

        try:
            numba_version = version("numba")
        except PackageNotFoundError:
            numba_version = "installed"
    libraries = blas_libraries()
    note = blas_kernel_note(libraries)
    return {"cnnstudio": __version__, "python": sys.version.split()[0], "numpy": np.__version__,
            "platform": platform.platform(), "processor": cpu_name(), "cores": cpu_cores(),
            "avx512": AVX512_FLAGS <= cpu_flags(), "blas": libraries,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "numba": numba_version, "numba_used": jit.numba_enabled(),
            "cupy_installed": importlib.util.find_spec("cupy") is not None,
            "notes": [note] if note else []}


def report_lines(info: Mapping[str, Any]) -> list[str]:
    """``report()`` as the lines ``cnnstudio info`` prints."""
    blas = "; ".join(f"{b['library']} {b['version']}, {b['kernels']} kernels, {b['threads']} thread(s)"
                     for b in info["blas"]) or "unknown"
    numba = (f"numba {info['numba']} ({'used' if info['numba_used'] else 'switched off: CNNSTUDIO_NUMBA=0'})"
             if info["numba"] else "numba not installed (pip install cnnstudio[fast]: faster pooling and ReLU)")
    lines = [f"cnnstudio {info['cnnstudio']}, Python {info['python']}, NumPy {info['numpy']}",
             f"processor: {info['processor']}, {info['cores']} core(s) for this process"
             f"{', AVX-512' if info['avx512'] else ''}",
             f"BLAS: {blas}" + (f" (OPENBLAS_CORETYPE={info['openblas_coretype']})"
                                if info["openblas_coretype"] else ""),
             f"compiled kernels: {numba}",
             "GPU: " + ("CuPy installed (train --backend cupy)" if info["cupy_installed"]
                        else "CuPy not installed (CPU only)")]
    lines += [f"note: {n}" for n in info["notes"]]
    return lines
