"""``.npz`` reader: arrays ``x`` (images) and ``y`` (labels), never pickle.

An ``.npz`` is a zip of ``.npy`` members. Before numpy allocates an array we check
the ``.npy`` header's shape against the member's real size, and that size against
the compressed size (deflate cannot expand more than ~1032x), so a forged header
cannot make us allocate gigabytes.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import NOT_FOUND, DataFormatError

MAX_RATIO = 1100
MAX_MEMBER = 4 << 30
X_KEYS = ("x", "images", "x_train", "arr_0")
Y_KEYS = ("y", "labels", "y_train")


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, its header checked before allocation; object dtypes refused."""
    limit = min(MAX_MEMBER, max(info.compress_size, 1) * MAX_RATIO)
    if info.file_size > limit:
        raise DataFormatError(path, f"member {info.filename} claims {info.file_size:,} bytes "
                              "uncompressed, impossible for its compressed size: corrupt file")
    with zf.open(info) as fh:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise DataFormatError(path, f"array '{info.filename}' holds Python objects (dtype "
                                  f"{dtype}); only plain numeric arrays are accepted (no pickle)")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > info.file_size:
            raise DataFormatError(path, f"array '{info.filename}' header claims shape {shape} "
                                  f"({nbytes:,} bytes) but the member holds {info.file_size:,}: "
                                  "corrupt or truncated file")
        data = fh.read(nbytes + 1)
    if len(data) != nbytes:
        raise DataFormatError(path, f"array '{info.filename}': expected {nbytes:,} data bytes, "
                              f"found {len(data):,}: corrupt or truncated file")
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C")


def read_npz_arrays(path) -> dict[str, np.ndarray]:
    """All arrays in an ``.npz`` (name without ``.npy`` -> array), safely."""
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > 64:
                raise DataFormatError(path, f"{len(infos)} members; an image .npz has a few arrays")
            for info in infos:
                if info.filename.endswith(".npy") and not info.is_dir():
                    out[info.filename[:-4]] = _read_member(path, zf, info)
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except DataFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            ValueError, NotImplementedError, SyntaxError, TypeError, KeyError,
            OverflowError, MemoryError) as exc:
        # numpy's header parser raises ValueError/SyntaxError on forged headers.
        raise DataFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    return out


def _images_to_uint8(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    """x: (N,H,W) or (N,H,W,C) integer 0..255 or float 0..1 -> uint8 (N,H,W,C)."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[3] not in (1, 3):
        hint = ""
        if x.ndim == 4 and x.shape[1] in (1, 3):  # PyTorch's layout
            hint = "; it looks channels-first (N, C, H, W): save x.transpose(0, 2, 3, 1) instead"
        raise DataFormatError(path, f"array '{key}' has shape {x.shape}; expected images "
                              f"(N, H, W) or (N, H, W, C) with C = 1 or 3{hint}")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind in "iu":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DataFormatError(path, f"array '{key}': integer pixels must be 0..255, "
                                  f"got {x.min()}..{x.max()}")
        return x.astype(np.uint8)
    if x.dtype.kind == "f":
        if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise DataFormatError(path, f"array '{key}': float pixels must be finite and in [0, 1]; "
                                  "scale them (e.g. divide by 255) before saving")
        return np.rint(x.astype(np.float64) * 255.0).astype(np.uint8)
    raise DataFormatError(path, f"array '{key}' has dtype {x.dtype}; expected uint8, integer or float images")


def _labels(path: Path, key: str, y: np.ndarray) -> np.ndarray:
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataFormatError(path, f"array '{key}' must be 1-D integer class labels, got "
                              f"{y.dtype} {y.shape}")
    if y.size and y.min() < 0:
        raise DataFormatError(path, f"array '{key}': labels must be >= 0, got {y.min()}")
    return y.astype(np.int64)


def _pick(arrays: dict, keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in arrays), None)


def load_npz(path, labels_path=None, name: str | None = None) -> Dataset:
    """``.npz`` with ``x`` and ``y`` (or ``x`` here and ``y``/``arr_0`` in ``labels_path``).

    Optional ``class_names``: a 1-D unicode array. Without it classes are "0".."K-1".
    """
    path = Path(path)
    arrays = read_npz_arrays(path)
    xk = _pick(arrays, X_KEYS)
    if xk is None:
        raise DataFormatError(path, f"no image array: expected 'x' (found {sorted(arrays) or 'nothing'})")
    x = _images_to_uint8(path, xk, arrays[xk])
    ysrc, ypath = (read_npz_arrays(labels_path), Path(labels_path)) if labels_path else (arrays, path)
    yk = _pick(ysrc, Y_KEYS if labels_path is None else Y_KEYS + ("arr_0",))
    if yk is None:
        raise DataFormatError(ypath, f"no label array: expected 'y' (found {sorted(ysrc) or 'nothing'})")
    y = _labels(ypath, yk, ysrc[yk])
    if y.shape[0] != x.shape[0]:
        raise DataFormatError(ypath, f"{y.shape[0]:,} labels for {x.shape[0]:,} images in '{xk}'; "
                              "every image needs exactly one label")
    k = int(y.max()) + 1 if y.size else 1
    names = arrays.get("class_names")
    if names is not None:
        if names.dtype.kind != "U" or names.ndim != 1:
            raise DataFormatError(path, f"array 'class_names' must be 1-D text, got {names.dtype} {names.shape}; "
                                  "save it as np.array(['cat', 'dog', ...]) or leave it out")
        if len(names) < k:
            raise DataFormatError(ypath, f"label {k - 1} in '{yk}' is out of range for the {len(names)} "
                                  f"class_names; labels must be 0..{len(names) - 1}")
        class_names = [str(s) for s in names]
    else:
        if y.size and k > 100_000:
            raise DataFormatError(ypath, f"label {k - 1} is implausibly large for a class index")
        class_names = [str(i) for i in range(max(k, 2))]
    return Dataset(name or path.stem, x, y, class_names, str(path))
