"""``.npz`` reader: arrays ``x`` (images) and ``y`` (labels), never pickle.

An ``.npz`` is a zip of ``.npy`` members. Nothing it declares is trusted: the zip
directory's entry count is checked before ``zipfile`` parses it; each member's
compression method and declared size are checked against its compressed size
(``limits.MAX_COMPRESSION_RATIO``); each ``.npy`` header is parsed on its own and its
shape checked against the member's size and the dataset caps before the array is
allocated; the data is then inflated in bounded pieces straight into that array.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from cnnstudio.data import limits
from cnnstudio.data.dataset import Dataset, check_image_shape
from cnnstudio.data.errors import NOT_FOUND, DataError, DataFormatError
from cnnstudio.data.safeio import check_zip_directory, compressed_bound, nbytes_of, parse_npy_header, read_into

X_KEYS = ("x", "images", "x_train", "arr_0")
Y_KEYS = ("y", "labels", "y_train")


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int,
                 budget: int) -> np.ndarray:
    """One ``.npy`` member, its header checked before allocation; object dtypes refused."""
    name = info.filename
    if info.compress_type not in limits.ALLOWED_COMPRESSION:
        raise DataFormatError(path, f"member {name} uses zip compression method {info.compress_type}; "
                              "only stored and deflate (what numpy writes) are read")
    if info.flag_bits & 0x1:
        raise DataFormatError(path, f"member {name} is encrypted")
    if info.compress_size > archive_size:
        raise DataFormatError(path, f"member {name} claims {info.compress_size:,} compressed bytes in a "
                              f"file of {archive_size:,}: truncated or corrupt")
    bound = info.compress_size if info.compress_type == 0 else compressed_bound(info.compress_size)
    if info.file_size > bound:
        raise DataFormatError(path, f"member {name} declares {info.file_size:,} bytes uncompressed, more "
                              f"than {limits.MAX_COMPRESSION_RATIO} times its {info.compress_size:,} "
                              "compressed bytes: a zip bomb or a corrupt file")
    key = name[:-4]
    with zf.open(info) as fh:
        shape, fortran, dtype = parse_npy_header(path, key, fh)
        nbytes = nbytes_of(shape, dtype)
        if nbytes > info.file_size:
            raise DataFormatError(path, f"array '{key}' header claims shape {shape} ({nbytes:,} bytes) "
                                  f"but the member holds {info.file_size:,}: corrupt or truncated file")
        if key in X_KEYS:
            check_image_shape(path, f"array '{key}'", shape[1:] if len(shape) > 1 else (), shape[0] if shape else 0)
        if nbytes > budget:
            raise DataFormatError(path, f"array '{key}' of shape {shape} ({nbytes:,} bytes) exceeds the "
                                  f"{limits.MAX_NPZ_ARRAY_BYTES:,} bytes a dataset .npz may hold")
        arr = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        read_into(path, f"array '{key}'", fh, arr.T if fortran else arr)
    return arr


def read_npz_arrays(path) -> dict[str, np.ndarray]:
    """All arrays in an ``.npz`` (name without ``.npy`` -> array), safely."""
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    try:
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            check_zip_directory(path, raw, size, limits.MAX_NPZ_MEMBERS)
            with zipfile.ZipFile(raw) as zf:
                infos = zf.infolist()
                if len(infos) > limits.MAX_NPZ_MEMBERS:
                    raise DataFormatError(path, f"{len(infos)} members; a dataset .npz has a few arrays")
                budget = limits.MAX_NPZ_ARRAY_BYTES
                for info in infos:
                    if info.filename.endswith(".npy") and not info.is_dir():
                        arr = _read_member(path, zf, info, size, budget)
                        budget -= arr.nbytes
                        out[info.filename[:-4]] = arr
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except DataError:
        raise
    except MemoryError:
        raise DataFormatError(path, "not enough memory to read its arrays; use a smaller dataset") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            ValueError, NotImplementedError, RuntimeError, TypeError, KeyError, OverflowError) as exc:
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
        return np.ascontiguousarray(x)  # the array as read: no copy
    if x.dtype.kind not in "iuf":
        raise DataFormatError(path, f"array '{key}' has dtype {x.dtype}; expected uint8, integer or float images")
    # converted a block of images at a time into the result: no full-size temporaries
    out = np.empty(x.shape, np.uint8)
    step = max(1, limits.READ_CHUNK_BYTES * 8 // max(1, x[:1].size * 8))
    for i in range(0, x.shape[0], step):
        block = x[i:i + step]
        if x.dtype.kind in "iu":
            if block.size and (block.min() < 0 or block.max() > 255):
                raise DataFormatError(path, f"array '{key}': integer pixels must be 0..255, "
                                      f"got {x.min()}..{x.max()}")
            out[i:i + step] = block
        else:
            if block.size and not (np.isfinite(block).all() and block.min() >= 0.0 and block.max() <= 1.0):
                raise DataFormatError(path, f"array '{key}': float pixels must be finite and in [0, 1]; "
                                      "scale them (e.g. divide by 255) before saving")
            out[i:i + step] = np.rint(block.astype(np.float64) * 255.0)
    return out


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
        if y.size and k > limits.MAX_CLASSES:
            raise DataFormatError(ypath, f"label {k - 1} is implausibly large for a class index")
        class_names = [str(i) for i in range(max(k, 2))]
    return Dataset(name or path.stem, x, y, class_names, str(path))
