"""IDX reader (MNIST's own format), raw or gzip-compressed.

Layout: 2 zero bytes, a data-type byte (0x08 = unsigned byte, the only one MNIST
uses), a byte with the number of dimensions, then one big-endian uint32 per
dimension, then the data. Labels: magic 0x00000801 (N,); images: 0x00000803
(N, H, W). The header is untrusted: the size it claims is checked against the
file (raw) or a bound derived from the file size (gzip) before any allocation.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from cnnstudio.data import limits
from cnnstudio.data.dataset import Dataset, check_image_shape
from cnnstudio.data.errors import NOT_FOUND, DataError, DataFormatError
from cnnstudio.data.safeio import compressed_bound, read_into

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803
IMAGES4_MAGIC = 0x00000804  # non-standard 4-D images (N, H, W, C)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _parse_header(path: Path, head: bytes, expected: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Return (dims, header_length); raise DataFormatError naming the problem."""
    kind = "labels" if LABELS_MAGIC in expected else "images"
    if len(head) < 4:
        raise DataFormatError(path, f"truncated IDX file: {len(head)} bytes, not even a header")
    magic = int.from_bytes(head[:4], "big")
    if head[:2] != b"\x00\x00" or magic not in expected:
        raise DataFormatError(path, f"wrong magic number 0x{magic:08x} for an IDX {kind} file "
                              f"(expected 0x{expected[0]:08x}); is this the right file?")
    ndim = head[3]
    hlen = 4 + 4 * ndim
    if len(head) < hlen:
        raise DataFormatError(path, f"truncated IDX header: needs {hlen} bytes, file has {len(head)}")
    dims = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return dims, hlen


class _IdxFile:
    """An open IDX file whose header has been read and checked; ``read()`` reads its data."""

    def __init__(self, path: Path, fh: BinaryIO, dims: tuple[int, ...], compressed: bool, file_size: int,
                 hlen: int):
        self.path, self.fh, self.dims, self.compressed = path, fh, dims, compressed
        need = 1
        for d in dims:
            need *= d
        self.need = need
        self.room = compressed_bound(file_size) if compressed else file_size - hlen
        self.file_size = file_size

    def check_room(self) -> None:
        """Refuse a header claiming more data than the file can hold (before any allocation)."""
        need, room, dims, path = self.need, self.room, self.dims, self.path
        if need > room:
            why = (f" ({limits.MAX_COMPRESSION_RATIO} times its {self.file_size:,} compressed bytes)"
                   if self.compressed else "")
            raise DataFormatError(path, f"header claims {'x'.join(map(str, dims))} = {need:,} bytes "
                                  f"of data but the file can hold at most {room:,}{why}: corrupt, "
                                  "truncated or a memory bomb")
        if not self.compressed and need < room:
            raise DataFormatError(path, f"trailing garbage after the {need:,} bytes the header describes")

    def read(self) -> np.ndarray:
        self.check_room()
        with _errors_named(self.path):
            out = np.empty(self.dims, np.uint8)
            read_into(self.path, "IDX data", self.fh, out)
        return out


@contextlib.contextmanager
def _errors_named(path: Path) -> Iterator[None]:
    """Whatever reading ``path`` raises becomes a DataFormatError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except DataError:
        raise
    except MemoryError:
        raise DataFormatError(path, "not enough memory to read its data; use a smaller dataset") from None
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataFormatError(path, f"cannot read the gzip/IDX data ({exc}); the file is corrupt or "
                              "truncated, download it again") from None


@contextlib.contextmanager
def _open_idx(path, expected: tuple[int, ...]) -> Iterator[_IdxFile]:
    """Open ``path`` (raw or gzip), read and check its header; errors become DataFormatError."""
    path = Path(path)
    with _errors_named(path):
        file_size = os.path.getsize(path)
        compressed = _is_gzip(path)
        opener = gzip.open if compressed else open
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) == 4:
                head += fh.read(4 * head[3])
            dims, hlen = _parse_header(path, head, expected)
            yield _IdxFile(path, fh, dims, compressed, file_size, hlen)


def _check_images(f: _IdxFile) -> None:
    if len(f.dims) not in (3, 4):
        raise DataFormatError(f.path, f"an IDX images file has 3 dimensions (N, H, W), this one {len(f.dims)}")
    check_image_shape(f.path, "IDX images", f.dims[1:], f.dims[0])


def _check_labels(f: _IdxFile) -> None:
    if len(f.dims) != 1:
        raise DataFormatError(f.path, f"an IDX labels file has 1 dimension (N,), this one {len(f.dims)}")
    if f.dims[0] > limits.MAX_IMAGES:
        raise DataFormatError(f.path, f"header claims {f.dims[0]:,} labels, more than the "
                              f"{limits.MAX_IMAGES:,} images a dataset may hold")


def _images(arr: np.ndarray) -> np.ndarray:
    return arr[..., None] if arr.ndim == 3 else arr


def read_idx_images(path) -> np.ndarray:
    """Images file -> uint8 (N, H, W, 1) (or (N, H, W, C) for a 4-D IDX file)."""
    with _open_idx(path, (IMAGES_MAGIC, IMAGES4_MAGIC)) as f:
        f.check_room()
        _check_images(f)
        return _images(f.read())


def read_idx_labels(path) -> np.ndarray:
    """Labels file -> int64 (N,)."""
    with _open_idx(path, (LABELS_MAGIC,)) as f:
        f.check_room()
        _check_labels(f)
        return f.read().astype(np.int64)


def guess_labels_path(images_path) -> Path | None:
    """MNIST naming: ``*-images-idx3-ubyte[.gz]`` -> ``*-labels-idx1-ubyte[.gz]`` if it exists."""
    p = Path(images_path)
    name = p.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    cand = p.with_name(name)
    return cand if cand != p and cand.is_file() else None


def load_idx(images_path, labels_path, class_names: list[str] | None = None,
             name: str | None = None) -> Dataset:
    """Pair an IDX images file with its labels file; counts must match."""
    # both headers are read and compared before any data: a labels header claiming 3.2e9
    # labels for 20 images is refused at once
    with _open_idx(images_path, (IMAGES_MAGIC, IMAGES4_MAGIC)) as fi, _open_idx(labels_path, (LABELS_MAGIC,)) as fl:
        if len(fi.dims) in (3, 4) and len(fl.dims) == 1 and fi.dims[0] != fl.dims[0]:
            raise DataFormatError(labels_path, f"has {fl.dims[0]:,} labels but "
                                  f"{Path(images_path).name} has {fi.dims[0]:,} images; use the matching "
                                  "labels file")
        fi.check_room()
        fl.check_room()
        _check_images(fi)
        _check_labels(fl)
        x = _images(fi.read())
        y = fl.read().astype(np.int64)
    if class_names is None:
        k = max(2, int(y.max()) + 1) if y.size else 2
        class_names = [str(i) for i in range(k)]
    elif y.size and int(y.max()) >= len(class_names):
        raise DataFormatError(labels_path, f"label {int(y.max())} is out of range for "
                              f"{len(class_names)} classes")
    if x.shape[3] not in (1, 3):
        raise DataFormatError(images_path, f"images must have 1 or 3 channels, got {x.shape[3]}")
    return Dataset(name or Path(images_path).name, x, y, class_names,
                   str(images_path))
