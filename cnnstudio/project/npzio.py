"""Safe ``.npz`` writing into, and reading from, a project zip.

An ``.npz`` is itself a zip of ``.npy`` files, so reading one from an untrusted
project needs the same care as the outer zip: the directory's entry count, member
names, compression methods and declared sizes are checked before anything is read;
each ``.npy`` header is parsed on its own (a header that never closes raised
``tokenize.TokenError`` from numpy) and its dtype and shape are checked, and the
bytes the shape needs compared with the budget, before the data is read; only plain
numeric dtypes are accepted and nothing is ever unpickled.
"""

from __future__ import annotations

import io
import math
import zipfile
from typing import IO, Callable

import numpy as np

from cnnstudio.project import limits
from cnnstudio.project.safezip import ZipLimitError, check_member, open_archive

#: array kinds we accept: bool, signed/unsigned int, float
_NUMERIC_KINDS = "biuf"

#: called with (key, shape, dtype) once a header is parsed, before its data is read; raises NpzError
HeaderCheck = Callable[[str, tuple[int, ...], np.dtype], None]


class NpzError(ValueError):
    """An npz member is malformed; the message says which array and why."""


def write_npz(outer: zipfile.ZipFile, member: str, arrays: dict[str, np.ndarray]) -> None:
    """Stream ``arrays`` as a standard .npz (stored inside) into member ``member`` of ``outer``.

    Streaming avoids a second in-memory copy of large weight sets (VGG-16: 550 MB).
    """
    with outer.open(member, "w", force_zip64=True) as stream:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as inner:
            for key, value in arrays.items():
                arr = np.asarray(value)  # not ascontiguousarray: it turns 0-d scalars into 1-d
                if arr.dtype.kind not in _NUMERIC_KINDS:
                    raise TypeError(f"array {key!r} has dtype {arr.dtype}; only numeric arrays can be saved")
                with inner.open(f"{key}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)


def read_npz(raw: bytes, limit: int, max_arrays: int = 10_000,
             check: HeaderCheck | None = None) -> dict[str, np.ndarray]:
    """Parse npz bytes into ``{key: array}``: at most ``max_arrays`` arrays and ``limit`` bytes
    of array data in all; ``check`` may refuse an array from its header before its data is read."""
    try:
        inner = open_archive(io.BytesIO(raw), len(raw), max_arrays)
    except ZipLimitError as exc:
        raise NpzError(f"not a valid .npz archive: {exc}") from exc
    out: dict[str, np.ndarray] = {}
    budget = limit
    with inner:
        for info in inner.infolist():
            key = _key_of(info.filename)
            if key in out:
                raise NpzError(f"array {key!r} appears twice")
            try:
                check_member(info, budget + limits.MAX_NPY_HEADER_BYTES + 128, len(raw))
            except ZipLimitError as exc:
                raise NpzError(f"array {key!r}: {exc}") from exc
            arr = _read_array(inner, info, key, budget, check)
            budget -= arr.nbytes
            out[key] = arr
    return out


def _key_of(name: str) -> str:
    parts = name.split("/")
    if not name.endswith(".npy") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise NpzError(f"unexpected member {name!r} (expected '<name>.npy' entries without '..' or absolute paths)")
    return name[:-4]


def _read_array(inner: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, budget: int,
                check: HeaderCheck | None) -> np.ndarray:
    try:
        with inner.open(info) as fh:
            shape, fortran, dtype = _read_header(fh, key)
            nbytes = math.prod(shape) * dtype.itemsize
            # the other sides of an empty array count too: (0, 451493258, 5107148265) holds no
            # values but numpy cannot make it (found by fuzzing)
            span = math.prod(max(n, 1) for n in shape) * dtype.itemsize
            if span > budget:
                raise NpzError(f"array {key!r} declares shape {shape} of {dtype} ({span:,} bytes), more than "
                               f"the {max(budget, 0):,} bytes left of what this file may hold")
            if nbytes > info.file_size:
                raise NpzError(f"array {key!r} declares shape {shape} ({nbytes:,} bytes) but its member holds "
                               f"only {info.file_size:,} bytes")
            if check is not None:
                check(key, shape, dtype)
            data = _read_exactly(fh, nbytes, key)
            if fh.read(1):
                raise NpzError(f"array {key!r} has data after its {nbytes:,} bytes (shape {shape})")
    except (NpzError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a garbled member or compressed stream: zipfile, zlib and
        # struct raise BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error, struct.error
        raise NpzError(f"array {key!r} is damaged ({type(exc).__name__}: {exc})"[:300]) from exc
    arr = np.frombuffer(data, dtype=dtype)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def _read_header(fh: IO[bytes], key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of a .npy stream; NpzError for anything but a plain numeric array."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=limits.MAX_NPY_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=limits.MAX_NPY_HEADER_BYTES)
        else:
            raise NpzError(f"array {key!r} has .npy format version {version}; CNN Studio reads 1.0 and 2.0")
    except (NpzError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - numpy parses the header text with ast and tokenize:
        # ValueError, SyntaxError, tokenize.TokenError, TypeError for odd texts
        raise NpzError(f"array {key!r} has a damaged .npy header ({type(exc).__name__}: {exc})"[:300]) from exc
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise NpzError(f"array {key!r} holds Python objects, which cannot be loaded safely (no pickle, "
                       "allow_pickle=False)")
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise NpzError(f"array {key!r} has dtype {dtype}; only numeric arrays are allowed")
    if len(shape) > limits.MAX_NPY_DIMS:
        raise NpzError(f"array {key!r} has {len(shape)} dimensions, more than {limits.MAX_NPY_DIMS}")
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):  # numpy's header parser lets (0, -1) through (found by fuzzing)
        raise NpzError(f"array {key!r} declares shape {shape} with a negative size")
    return shape, bool(fortran), dtype


def _read_exactly(fh: IO[bytes], nbytes: int, key: str) -> bytearray:
    """``nbytes`` from ``fh`` in bounded pieces (a writable buffer for np.frombuffer)."""
    buf = bytearray(nbytes)
    view = memoryview(buf)
    pos = 0
    while pos < nbytes:
        piece = fh.read(min(limits.READ_CHUNK_BYTES, nbytes - pos))
        if not piece:
            raise NpzError(f"array {key!r} is truncated: {pos:,} of {nbytes:,} bytes")
        view[pos:pos + len(piece)] = piece
        pos += len(piece)
    return buf
