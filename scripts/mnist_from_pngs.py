"""Rebuild MNIST's training IDX files from a lossless PNG copy (for benchmarks/bench_full_mnist.py).

The repository rasbt/mnist-pngs keeps the 60,000 training digits as 8-bit PNG files,
``train/<label>/<index>.png``, the index being the image's place in the original file. This
writes ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz`` to ``--out`` and
checks the uncompressed bytes against the official MD5s; it refuses to write files that differ.

    python scripts/mnist_from_pngs.py --folder mnist-pngs --out data/          # a checkout
    python scripts/mnist_from_pngs.py --git-dir mnist-pngs.git --out data/     # a bare clone

The tests never download MNIST, and neither does this script: it reads what you have.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image

COUNT = 60_000
IMAGES_MD5 = "6bbc9ace898e44ae57da46a324031adb"   # train-images-idx3-ubyte, uncompressed
LABELS_MD5 = "a25bea736e30d166cdddb491f175f624"   # train-labels-idx1-ubyte, uncompressed


def _index(paths: list[str]) -> dict[int, tuple[int, str]]:
    """{index: (label, key)} from ``train/<label>/<index>.png`` paths (key: what to read)."""
    out: dict[int, tuple[int, str]] = {}
    for path, key in paths:
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "train" or not parts[2].endswith(".png"):
            continue
        out[int(parts[2][:-4])] = (int(parts[1]), key)
    if sorted(out) != list(range(COUNT)):
        raise SystemExit(f"expected train/<label>/<index>.png for indices 0..{COUNT - 1}, found {len(out)}")
    return out


def _pixels(data: bytes, where: str) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    pixels = np.asarray(image)
    if image.format != "PNG" or pixels.shape != (28, 28) or pixels.dtype != np.uint8:
        raise SystemExit(f"{where}: not a 28x28 8-bit gray PNG ({image.format}, {pixels.shape}, {pixels.dtype})")
    return pixels


def from_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    paths = [(p.relative_to(folder).as_posix(), str(p)) for p in (folder / "train").glob("*/*.png")]
    entries = _index(paths)
    images, labels = np.zeros((COUNT, 28, 28), np.uint8), np.zeros(COUNT, np.uint8)
    for i in range(COUNT):
        label, path = entries[i]
        images[i], labels[i] = _pixels(Path(path).read_bytes(), path), label
    return images, labels


def from_git(git_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    git = ["git", "--git-dir", str(git_dir)]
    tree = subprocess.check_output(git + ["ls-tree", "-r", "HEAD", "train/"], text=True).splitlines()
    entries = _index([(line.split("\t")[1], line.split()[2]) for line in tree])
    proc = subprocess.Popen(git + ["cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:   # a thread, so a full pipe on either side cannot deadlock the two
        proc.stdin.write("".join(entries[i][1] + "\n" for i in range(COUNT)).encode())
        proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    images, labels = np.zeros((COUNT, 28, 28), np.uint8), np.zeros(COUNT, np.uint8)
    for i in range(COUNT):
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise SystemExit(f"git cat-file: unexpected answer {header!r} for image {i}")
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)
        images[i], labels[i] = _pixels(data, f"image {i}"), entries[i][0]
    proc.wait()
    return images, labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--folder", type=Path, help="a checkout holding train/<label>/<index>.png")
    where.add_argument("--git-dir", type=Path, help="a bare git clone of rasbt/mnist-pngs")
    ap.add_argument("--out", type=Path, required=True, help="folder for the two .gz files")
    args = ap.parse_args(argv)
    images, labels = from_folder(args.folder) if args.folder else from_git(args.git_dir)
    image_bytes = struct.pack(">IIII", 0x803, COUNT, 28, 28) + images.tobytes()
    label_bytes = struct.pack(">II", 0x801, COUNT) + labels.tobytes()
    for what, data, md5 in (("images", image_bytes, IMAGES_MD5), ("labels", label_bytes, LABELS_MD5)):
        got = hashlib.md5(data).hexdigest()
        if got != md5:
            print(f"the rebuilt {what} differ from MNIST's (MD5 {got}, expected {md5}); nothing written",
                  file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in (("train-images-idx3-ubyte.gz", image_bytes), ("train-labels-idx1-ubyte.gz", label_bytes)):
        target = args.out / name
        part = target.with_name(target.name + ".part")
        with gzip.GzipFile(part, "wb", mtime=0) as f:
            f.write(data)
        os.replace(part, target)   # atomic: never a half-written file under the real name
        print(f"wrote {target} (uncompressed MD5 matches MNIST's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
