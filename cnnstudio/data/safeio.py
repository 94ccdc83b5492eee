"""Bounded reading of untrusted data files: zip directories, .npy headers, compressed streams.

- :func:`check_zip_directory` reads the end-of-central-directory record itself and refuses a
  directory with more entries (or bytes) than a dataset can need, before ``zipfile`` parses it.
- :func:`parse_npy_header` parses an ``.npy`` header without numpy's tokenizer (a header whose
  dict never closes raised ``tokenize.TokenError``) and checks its dtype and shape.
- :func:`read_into` fills a preallocated array from a stream in bounded pieces, so a stream
  that inflates past what its header promised is stopped at one chunk past the promise, and
  the result is the array itself (no second full copy).

Every refusal is a :class:`~cnnstudio.data.errors.DataFormatError` naming the file.
"""

from __future__ import annotations

import ast
import struct
import warnings
from typing import IO, Any, BinaryIO

import numpy as np

from cnnstudio.data import limits
from cnnstudio.data.errors import DataFormatError

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (22 bytes)
_EOCD_SIG = b"PK\x05\x06"
_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator (20 bytes)
_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record (56 bytes)
_EOCD64_SIG = b"PK\x06\x06"


def _directory_size(path, fh: BinaryIO, size: int) -> tuple[int, int]:
    """(entries, directory bytes) as the end records declare them, found as zipfile finds them."""
    if size < _EOCD.size:
        raise DataFormatError(path, f"not a zip/.npz archive ({size} bytes, too short)")
    fh.seek(size - _EOCD.size)
    tail = fh.read(_EOCD.size)
    start = size - _EOCD.size
    if not (tail[:4] == _EOCD_SIG and tail[-2:] == b"\0\0"):
        span = min(size, _EOCD.size + 0xFFFF)
        fh.seek(size - span)
        tail = fh.read(span)
        pos = tail.rfind(_EOCD_SIG)
        if pos < 0 or len(tail) - pos < _EOCD.size:
            raise DataFormatError(path, "not a zip/.npz archive (no end of central directory); "
                                  "the file is truncated or of another kind")
        start = size - span + pos
        tail = tail[pos:pos + _EOCD.size]
    entries, cd_bytes = _EOCD.unpack(tail)[4:6]
    if start >= _LOCATOR.size:  # zipfile reads a zip64 record whenever a locator precedes the record
        fh.seek(start - _LOCATOR.size)
        loc = fh.read(_LOCATOR.size)
        if len(loc) == _LOCATOR.size and loc[:4] == _LOCATOR_SIG:
            rec = b""
            if start >= _LOCATOR.size + _EOCD64.size:
                fh.seek(start - _LOCATOR.size - _EOCD64.size)
                rec = fh.read(_EOCD64.size)
            if len(rec) != _EOCD64.size or rec[:4] != _EOCD64_SIG:
                raise DataFormatError(path, "damaged zip64 end records; the file is corrupt")
            entries, cd_bytes = _EOCD64.unpack(rec)[7:9]
    return entries, cd_bytes


def check_zip_directory(path, fh: BinaryIO, size: int, max_entries: int) -> None:
    """Refuse an archive whose central directory is larger than ``max_entries`` can need."""
    entries, cd_bytes = _directory_size(path, fh, size)
    if entries > max_entries:
        raise DataFormatError(path, f"its zip directory lists {entries:,} entries; a dataset .npz holds "
                              f"at most {max_entries} arrays (x, y, class_names): not a dataset file")
    most = max_entries * limits.CENTRAL_DIRECTORY_BYTES_PER_ENTRY
    if cd_bytes > most or cd_bytes > size:
        raise DataFormatError(path, f"its zip directory claims {cd_bytes:,} bytes, more than "
                              f"{min(most, size):,} possible: corrupt file")
    fh.seek(0)


def compressed_bound(compressed: int) -> int:
    """The most bytes a compressed stream of ``compressed`` bytes may honestly inflate to."""
    return max(limits.RATIO_FREE_BYTES, limits.MAX_COMPRESSION_RATIO * max(compressed, 1))


# ---- .npy headers ----------------------------------------------------------------------------
#: bool, integers, floats and fixed-width text (class_names): never objects
_PLAIN_KINDS = "biufUS"


def parse_npy_header(path, member: str, fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read an .npy header from ``fh`` -> (shape, fortran_order, dtype), leaving ``fh`` at the data.

    Only plain numeric dtypes; the header length, its literal and the shape are all checked.
    """
    def bad(why: str) -> DataFormatError:
        return DataFormatError(path, f"array '{member}': {why}; the file is corrupt or not written by numpy")

    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise bad("not an .npy array (no \\x93NUMPY magic)")
    major = magic[6]
    if major == 1:
        raw_len = fh.read(2)
        hlen = int.from_bytes(raw_len, "little") if len(raw_len) == 2 else -1
    elif major in (2, 3):
        raw_len = fh.read(4)
        hlen = int.from_bytes(raw_len, "little") if len(raw_len) == 4 else -1
    else:
        raise bad(f"unsupported .npy version {major}.{magic[7]}")
    if hlen < 0 or hlen > limits.MAX_NPY_HEADER_BYTES:
        raise bad(f"header length {hlen} is out of range (0..{limits.MAX_NPY_HEADER_BYTES})")
    text = fh.read(hlen)
    if len(text) != hlen:
        raise bad("truncated header")
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in a forged literal is no concern here
            warnings.simplefilter("ignore")
            literal = ast.literal_eval(text.decode("latin1" if major < 3 else "utf8").strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise bad(f"unreadable header ({type(exc).__name__})") from None
    if not isinstance(literal, dict) or set(literal) != {"descr", "fortran_order", "shape"}:
        raise bad("header is not {'descr', 'fortran_order', 'shape'}")
    descr, fortran, shape = literal["descr"], literal["fortran_order"], literal["shape"]
    if not isinstance(descr, str) or not isinstance(fortran, bool) or not isinstance(shape, tuple):
        raise bad("header fields have the wrong types")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise bad(f"unknown dtype {descr[:20]!r}") from None
    if dtype.kind not in _PLAIN_KINDS or dtype.hasobject:
        raise DataFormatError(path, f"array '{member}' has dtype {dtype}; only plain numeric arrays are "
                              "read (no Python objects, no pickle)")
    if not all(type(d) is int and 0 <= d < 2**40 for d in shape) or len(shape) > 8:
        raise bad(f"shape {str(shape)[:40]} is not a tuple of sizes")
    return shape, fortran, dtype


def nbytes_of(shape: tuple[int, ...], dtype: np.dtype) -> int:
    n = 1
    for d in shape:
        n *= d
    return n * dtype.itemsize


# ---- streams into arrays ----------------------------------------------------------------------
def read_into(path, what: str, fh: Any, out: np.ndarray) -> None:
    """Fill contiguous ``out`` from ``fh`` in ``READ_CHUNK_BYTES`` pieces, then check that the
    stream ends there. Raises DataFormatError (truncated, or longer than its header says)."""
    view = out.reshape(-1).view(np.uint8).data  # a memoryview of ``out`` itself
    need, done = len(view), 0
    while done < need:
        n = fh.readinto(view[done:done + limits.READ_CHUNK_BYTES])
        if not n:
            raise DataFormatError(path, f"{what}: truncated, the header promises {need:,} bytes of data "
                                  f"but only {done:,} follow; download or export it again")
        done += n
    if fh.read(1):
        raise DataFormatError(path, f"{what}: trailing garbage after the {need:,} bytes its header describes; "
                              "the file is corrupt")
