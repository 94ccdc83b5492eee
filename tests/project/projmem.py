"""Open project files in a child process under an address-space limit and report the peak.

``load_all([(path, bound_bytes), ...])`` starts one Python process that, for each file,
resets its peak-RSS counter (``/proc/self/clear_refs``), lowers ``RLIMIT_AS`` to its current
size plus ``bound_bytes``, calls ``load_project`` and records what it raised, whether a
MemoryError was anywhere in the cause chain, and the peak RSS growth (VmHWM - VmRSS before).
One process for all files keeps the tests fast (one interpreter start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

_CHILD = r"""
import json, resource, sys
import cnnstudio.data, cnnstudio.model  # imported before the limit, as in the app
from cnnstudio.project.file import load_project

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)

soft, hard = resource.getrlimit(resource.RLIMIT_AS)
out = []
for path, bound in json.loads(sys.argv[1]):
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # VmHWM := VmRSS
    before = status("VmRSS")
    resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + bound, hard))
    error = message = None
    memory_error = False
    try:
        load_project(path)
    except BaseException as exc:
        error, message = type(exc).__name__, str(exc)
        e = exc
        while e is not None:
            memory_error = memory_error or isinstance(e, MemoryError)
            e = e.__cause__ or e.__context__
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    out.append({"path": path, "error": error, "message": message, "memory_error": memory_error,
                "peak": status("VmHWM") - before})
print(json.dumps(out))
"""


def load_all(cases: list[tuple[str, int]], timeout: float = 120) -> dict[str, dict]:
    """{path: {error, message, memory_error, peak}} for each (path, bound) in ``cases``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([[str(p), int(b)] for p, b in cases])],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {r["path"]: r for r in json.loads(proc.stdout.strip().splitlines()[-1])}
