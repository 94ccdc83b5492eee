"""Builders of small, valid data files (IDX, npz, CSV) for the reader tests."""

from __future__ import annotations

import gzip
import io

import numpy as np


def idx_bytes(arr: np.ndarray) -> bytes:
    """uint8 array -> IDX bytes (magic 0x0000 08 <ndim>, big-endian dims, data)."""
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def make_images(n=6, h=5, w=4, seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 3, n).astype(np.uint8)


def write_idx_pair(tmp_path, n=6, gz=False, seed=0):
    x, y = make_images(n, seed=seed)
    ext = ".gz" if gz else ""
    xi, yi = tmp_path / f"train-images-idx3-ubyte{ext}", tmp_path / f"train-labels-idx1-ubyte{ext}"
    pack = gzip.compress if gz else (lambda b: b)
    xi.write_bytes(pack(idx_bytes(x)))
    yi.write_bytes(pack(idx_bytes(y)))
    return xi, yi, x, y


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def csv_text(x: np.ndarray, y: np.ndarray, header=True) -> str:
    rows = [",".join(str(v) for v in [int(lbl), *img.reshape(-1).tolist()]) for img, lbl in zip(x, y)]
    if header:
        rows.insert(0, ",".join(["label"] + [f"pixel{i}" for i in range(x[0].size)]))
    return "\n".join(rows) + "\n"
