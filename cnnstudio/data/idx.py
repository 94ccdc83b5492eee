"""IDX reader (MNIST's own format), raw or gzip-compressed.

Layout: 2 zero bytes, a data-type byte (0x08 = unsigned byte, the only one MNIST
uses), a byte with the number of dimensions, then one big-endian uint32 per
dimension, then the data. Labels: magic 0x00000801 (N,); images: 0x00000803
(N, H, W). The header is untrusted: the size it claims is checked against the
file (raw) or a bound derived from the file size (gzip) before any allocation.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import NOT_FOUND, DataFormatError

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803
#: deflate cannot expand data more than ~1032x; anything claiming more is corrupt.
MAX_GZIP_RATIO = 1100
#: refuse IDX payloads over 4 GiB outright (MNIST's biggest file is 47 MB).
MAX_PAYLOAD = 4 << 30


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _parse_header(path: Path, head: bytes, expected_magic: int) -> tuple[tuple[int, ...], int]:
    """Return (dims, header_length); raise DataFormatError naming the problem."""
    kind = "labels" if expected_magic == LABELS_MAGIC else "images"
    if len(head) < 4:
        raise DataFormatError(path, f"truncated IDX file: {len(head)} bytes, not even a header")
    magic = int.from_bytes(head[:4], "big")
    if head[:2] != b"\x00\x00" or magic != expected_magic:
        raise DataFormatError(path, f"wrong magic number 0x{magic:08x} for an IDX {kind} file "
                              f"(expected 0x{expected_magic:08x}); is this the right file?")
    ndim = head[3]
    hlen = 4 + 4 * ndim
    if len(head) < hlen:
        raise DataFormatError(path, f"truncated IDX header: needs {hlen} bytes, file has {len(head)}")
    dims = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return dims, hlen


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file; returns uint8 array of the header's dims."""
    path = Path(path)
    try:
        file_size = os.path.getsize(path)
        compressed = _is_gzip(path)
        opener = gzip.open if compressed else open
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) == 4:
                head += fh.read(4 * head[3])
            dims, hlen = _parse_header(path, head, expected_magic)
            need = 1
            for d in dims:
                need *= d
            limit = min(MAX_PAYLOAD, file_size * MAX_GZIP_RATIO if compressed else file_size - hlen)
            if need > limit:
                raise DataFormatError(path, f"header claims {'x'.join(map(str, dims))} = {need:,} bytes "
                                      f"of data but the file can hold at most {limit:,}: corrupt or "
                                      "truncated file")
            # Read one byte more than needed to detect trailing garbage.
            data = fh.read(need + 1)
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataFormatError(path, f"cannot read the gzip/IDX data ({exc}); the file is corrupt or "
                              "truncated, download it again") from None
    if len(data) < need:
        raise DataFormatError(path, f"truncated: header claims {need:,} bytes of data, file has {len(data):,}")
    if len(data) > need:
        raise DataFormatError(path, f"trailing garbage after the {need:,} bytes the header describes")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def read_idx_images(path) -> np.ndarray:
    """Images file -> uint8 (N, H, W, 1) (or (N, H, W, C) for a 4-D IDX file)."""
    path = Path(path)
    arr = _read_idx_4d(path) if _peek_ndim(path) == 4 else _read_idx(path, IMAGES_MAGIC)
    return arr[..., None] if arr.ndim == 3 else arr


def _peek_ndim(path: Path) -> int:
    try:
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except (OSError, EOFError, zlib.error):
        return 3  # let the full reader produce the precise error
    return head[3] if len(head) == 4 else 3


def _read_idx_4d(path: Path) -> np.ndarray:
    """Non-standard 4-D image file (N, H, W, C): magic 0x00000804."""
    return _read_idx(path, 0x00000804)


def read_idx_labels(path) -> np.ndarray:
    """Labels file -> int64 (N,)."""
    return _read_idx(Path(path), LABELS_MAGIC).astype(np.int64)


def guess_labels_path(images_path) -> Path | None:
    """MNIST naming: ``*-images-idx3-ubyte[.gz]`` -> ``*-labels-idx1-ubyte[.gz]`` if it exists."""
    p = Path(images_path)
    name = p.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    cand = p.with_name(name)
    return cand if cand != p and cand.is_file() else None


def load_idx(images_path, labels_path, class_names: list[str] | None = None,
             name: str | None = None) -> Dataset:
    """Pair an IDX images file with its labels file; counts must match."""
    x = read_idx_images(images_path)
    y = read_idx_labels(labels_path)
    if x.shape[0] != y.shape[0]:
        raise DataFormatError(labels_path, f"has {y.shape[0]:,} labels but {Path(images_path).name} "
                              f"has {x.shape[0]:,} images; use the matching labels file")
    if class_names is None:
        k = max(2, int(y.max()) + 1) if y.size else 2
        class_names = [str(i) for i in range(k)]
    elif y.size and int(y.max()) >= len(class_names):
        raise DataFormatError(labels_path, f"label {int(y.max())} is out of range for "
                              f"{len(class_names)} classes")
    if x.shape[3] not in (1, 3):
        raise DataFormatError(images_path, f"images must have 1 or 3 channels, got {x.shape[3]}")
    return Dataset(name or Path(images_path).name, np.ascontiguousarray(x), y, class_names,
                   str(images_path))
