"""Epoch time of `cnnstudio train lenet5` on real MNIST IDX files, beside a PyTorch twin's.

    python benchmarks/bench_full_mnist.py --images train-images-idx3-ubyte.gz \\
        --labels train-labels-idx1-ubyte.gz --epochs 3 --blocks 2 [--threads 1]

Each block runs, one after the other in fresh processes (so both see the same load):
1. the product's own command, ``cnnstudio train lenet5 --data IMAGES --labels LABELS
   --epochs N --threads T``, whose per-epoch times (training plus validation, as the line
   it prints per epoch) are read from the project it saves;
2. a PyTorch twin: the same lenet5 (``bench_engine.build_torch``), the same images scaled
   to [0, 1], the same 90/10 split, Adam at 2e-3 with a per-step cosine to 0, batch 32,
   shuffled each epoch, validation after each epoch, ``torch.set_num_threads(T)``; it times
   each epoch the same way (training plus validation).
Absolute times drift on a shared machine: read the ratio within a block. PyTorch is a
comparison only; the package never imports it. The tests never download MNIST: pass files
you obtained (the MD5s are in ``cnnstudio.data.registry``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ours(images: str, labels: str, epochs: int, threads: int) -> list[tuple[float, float]]:
    """[(seconds, val acc %)] per epoch of `cnnstudio train`, read from the project it saves
    (its epoch records keep milliseconds; the printed lines round to 0.1 s)."""
    from cnnstudio.project import load_project

    exe = shutil.which("cnnstudio", path=str(Path(sys.executable).parent)) or "cnnstudio"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.cnnproj")
        done = subprocess.run([exe, "train", "lenet5", "--data", images, "--labels", labels,
                               "--epochs", str(epochs), "--threads", str(threads), "--out", out],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"cnnstudio train failed:\n{done.stdout}\n{done.stderr}")
        records = load_project(out).history["epochs"]
    return [(float(r["seconds"]), 100.0 * float(r["val_acc"])) for r in records]


def twin(images: str, labels: str, epochs: int, threads: int) -> list[tuple[float, float]]:
    import math

    import numpy as np
    import torch

    sys.path.insert(0, str(HERE))
    from bench_engine import build_torch

    from cnnstudio.data.idx import read_idx_images, read_idx_labels

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = read_idx_images(images).astype(np.float32) / 255.0     # (N, H, W, 1) uint8 -> [0, 1]
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = read_idx_labels(labels).astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    n_val = len(x) // 10
    val, train = order[:n_val], order[n_val:]
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
    xv, yv = torch.from_numpy(x[val]), torch.from_numpy(y[val])
    model = build_torch("lenet5", torch)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch = 32
    steps = math.ceil(len(train) / batch) * epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    result = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(len(train)))
        for i in range(0, len(train), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xv[i:i + 256]).argmax(1) == yv[i:i + 256]).sum())
                          for i in range(0, len(xv), 256))
        result.append((time.perf_counter() - t0, 100.0 * correct / len(xv)))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--twin-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.twin_only:
        for seconds, acc in twin(args.images, args.labels, args.epochs, args.threads):
            print(f"TWIN {seconds:.3f} {acc:.2f}")
        return
    print(f"lenet5, {args.epochs} epochs, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    for block in range(1, args.blocks + 1):
        ours_epochs = ours(args.images, args.labels, args.epochs, args.threads)
        out = subprocess.run([sys.executable, __file__, "--twin-only", "--images", args.images, "--labels",
                              args.labels, "--epochs", str(args.epochs), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True).stdout
        twin_epochs = [(float(a), float(b)) for a, b in re.findall(r"TWIN ([\d.]+) ([\d.]+)", out)]
        o = statistics.median(s for s, _ in ours_epochs)
        t = statistics.median(s for s, _ in twin_epochs)
        print(f"block {block}: ours epochs {[f'{s:.2f}' for s, _ in ours_epochs]} "
              f"(val {ours_epochs[-1][1]:.1f}%), PyTorch {[f'{s:.2f}' for s, _ in twin_epochs]} "
              f"(val {twin_epochs[-1][1]:.1f}%); median epoch ours {o:.2f} s, PyTorch {t:.2f} s, "
              f"speed ratio ours/PyTorch {t / o:.2f}x  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
