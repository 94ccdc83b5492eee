"""Hostile project files built in memory: lying zip headers, deflate bombs, forged .npy headers.

(A unique module name: tests/ has no packages.) Everything here is small and fast to build:
a deflate bomb is one compressed 1 MiB block of zeros repeated (each block ends with a full
flush, so the blocks do not refer to each other and the same bytes decode again and again).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import numpy as np

MiB = 2**20


def deflate_zeros(mib: int) -> bytes:
    """A raw deflate stream that inflates to ``mib`` MiB of zero bytes (about 1 KB per MiB)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(MiB)
    comp.compress(block)
    comp.flush(zlib.Z_FULL_FLUSH)
    unit = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)  # independent of what came before
    return unit * mib + b"\x03\x00"  # an empty final block


def raw_zip(members: list[dict], entries: int | None = None) -> bytes:
    """A zip whose headers say what each member dict says: name, data (already compressed),
    method (0 stored, 8 deflate), size (declared uncompressed size), crc; ``entries``: the
    entry count its end record declares (default: the true one)."""
    out = io.BytesIO()
    central = []
    for m in members:
        name = m["name"].encode()
        data = m["data"]
        size = m.get("size", len(data))
        crc = m.get("crc", zlib.crc32(data) if m.get("method", 0) == 0 else 0)
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.get("method", 0), 0, 0x21,
                              crc, len(data), size, len(name), 0) + name + data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.get("method", 0), 0, 0x21,
                                   crc, len(data), size, len(name), 0, 0, 0, 0, 0, offset) + name)
    cd_start = out.tell()
    for entry in central:
        out.write(entry)
    cd_size = out.tell() - cd_start
    n = len(central) if entries is None else entries
    if n > 0xFFFF:  # only a zip64 end record can say so
        z64 = out.tell()
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, cd_size, cd_start))
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, z64, 1))
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_start, 0))
    else:
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, cd_size, cd_start, 0))
    return out.getvalue()


def zip_members(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_with_header(header: str, data: bytes = b"") -> bytes:
    """A version 1.0 .npy whose header text is ``header`` as given (padded like numpy pads)."""
    text = header.encode("latin1")
    pad = (-(10 + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def project_json(spec_dict: dict, **over) -> bytes:
    doc = {"format_version": 1, "network": spec_dict,
           "history": {"epochs": [], "lr_changes": [], "hyperparameters": {}, "dataset": None}}
    doc.update(over)
    return json.dumps(doc).encode()


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def deflate_prefixed(prefix: bytes, zeros_mib: int) -> bytes:
    """A raw deflate stream of ``prefix`` followed by ``zeros_mib`` MiB of zeros."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH) + deflate_zeros(zeros_mib)
