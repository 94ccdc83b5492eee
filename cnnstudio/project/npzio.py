"""Safe ``.npz`` writing into, and reading from, a project zip.

An ``.npz`` is itself a zip of ``.npy`` files, so reading one from an untrusted
project needs the same care as the outer zip: member names and declared sizes are
checked before anything is read, arrays are read with ``allow_pickle=False``, and
only plain numeric dtypes are accepted.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np

#: array kinds we accept: bool, signed/unsigned int, float
_NUMERIC_KINDS = "biuf"


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


def read_npz(raw: bytes, limit: int) -> dict[str, np.ndarray]:
    """Parse npz bytes into ``{key: array}``; refuse pickles, odd names and oversize members."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(raw), "r")
    except (zipfile.BadZipFile, ValueError, OverflowError, EOFError, NotImplementedError) as exc:
        raise NpzError("not a valid .npz archive") from exc
    out: dict[str, np.ndarray] = {}
    budget = limit
    with inner:
        for info in inner.infolist():
            key = _key_of(info.filename)
            if key in out:
                raise NpzError(f"array {key!r} appears twice")
            if info.file_size > budget:
                raise NpzError(f"array {key!r} declares {info.file_size:,} bytes, more than the "
                               f"{limit:,} bytes allowed in total")
            budget -= info.file_size
            out[key] = _read_array(inner, info, key)
    return out


def _key_of(name: str) -> str:
    parts = name.split("/")
    if not name.endswith(".npy") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise NpzError(f"unexpected member {name!r} (expected '<name>.npy' entries without '..' or absolute paths)")
    return name[:-4]


def _read_array(inner: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    try:
        with inner.open(info) as fh:
            arr = np.lib.format.read_array(fh, allow_pickle=False)
    except ValueError as exc:
        # numpy says "Object arrays cannot be loaded when allow_pickle=False" for pickles
        raise NpzError(f"array {key!r} cannot be loaded safely ({exc})") from exc
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, SyntaxError, TypeError, OverflowError,
            zlib.error) as exc:
        # a garbled .npy header or compressed stream: numpy/zipfile raise any of these
        raise NpzError(f"array {key!r} is damaged ({exc})") from exc
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise NpzError(f"array {key!r} has dtype {arr.dtype}; only numeric arrays are allowed")
    return arr
