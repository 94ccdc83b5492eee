"""Builders of hostile data files (memory bombs, forged headers) and a memory-bounded runner.

The bombs are built in milliseconds: deflate's output for a run of zeros after a full flush
repeats, so one compressed unit is written many times instead of compressing gigabytes.
Their CRCs are not computed (the readers must refuse them from their headers, long before a
CRC would be checked).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

UNIT = 1 << 20  # bytes of zeros per repeated compressed unit


def deflate_zeros(prefix: bytes, zeros: int) -> bytes:
    """A raw deflate stream of ``prefix`` followed by ``zeros`` zero bytes (a multiple of UNIT)."""
    assert zeros % UNIT == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(bytes(UNIT)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(UNIT)) + c.flush(zlib.Z_FULL_FLUSH)
    assert unit == again  # the stream state is reset by the full flush
    return head + unit * (zeros // UNIT - 1) + again + c.flush()


def gzip_zeros(prefix: bytes, zeros: int) -> bytes:
    """A gzip file of ``prefix`` + ``zeros`` zero bytes (CRC left 0: refused before it matters)."""
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflate_zeros(prefix, zeros)
            + struct.pack("<II", 0, (len(prefix) + zeros) & 0xFFFFFFFF))


def npy_header(shape: tuple[int, ...], descr: str = "|u1") -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def zip_members(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, data, uncompressed size, method 0 stored / 8 deflate) members, written by
    hand so the declared sizes are exactly what the test says (no zip64: sizes under 4 GiB)."""
    local, central = b"", b""
    for name, data, size, method in members:
        raw = name.encode()
        offset = len(local)
        crc = zlib.crc32(data) if method == 0 else 0  # a bomb's CRC is never reached
        fields = struct.pack("<HHHHHIIIHH", 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0)
        local += b"PK\x03\x04" + fields + raw + data
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHII", 0, 0, 0, 0, offset) + raw)
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central),
                                       len(local), 0)
    return local + central + eocd


def forged_zip64_directory(entries: int) -> bytes:
    """A tiny file whose zip64 end records claim ``entries`` entries (a 2-million-entry directory
    cost 1.0 GB and 27 s before the fix)."""
    cd_bytes = entries * 46
    eocd64 = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, entries, entries, cd_bytes, 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return eocd64 + locator + eocd


def png_with_idat_length(length: int, side: int = 28) -> bytes:
    """A side x side gray PNG whose IDAT chunk claims ``length`` bytes (4,294,904,865 in issue 14);
    its pixel data is always that of a 28x28 image (so a large ``side`` is a forged size)."""
    def chunk(kind: bytes, data: bytes, claimed: int | None = None) -> bytes:
        n = len(data) if claimed is None else claimed
        return struct.pack(">I", n) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (29 * 28))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat, length) + chunk(b"IEND", b"")


_RUNNER = textwrap.dedent("""
    import json, resource, sys
    limit = int(sys.argv[1])
    import numpy, PIL.Image, cnnstudio.data, cnnstudio.project.session  # imports before the baseline
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = {"base_kb": base}
    try:
        result = eval(sys.argv[2])
        ds = result[0] if isinstance(result, tuple) else result
        out["result"] = repr(ds)
    except BaseException as exc:
        out["error"] = type(exc).__name__
        out["mro"] = [c.__name__ for c in type(exc).__mro__]
        out["message"] = str(exc)
        out["path"] = getattr(exc, "path", None)
    out["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))
""")


def run_limited(expression: str, limit_bytes: int = 1 << 30, timeout: float = 60) -> dict:
    """Evaluate ``expression`` (cnnstudio.data imported as ``cnnstudio.data``) in a fresh Python
    under an address-space limit (RLIMIT_AS) -> {error, mro, message, path, peak_kb, base_kb,
    grew_bytes} or {result, ...}. One BLAS thread, so the limit is the reader's, not OpenBLAS's."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(limit_bytes), expression], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["grew_bytes"] = (out["peak_kb"] - out["base_kb"]) * 1024
    return out
