"""The acceptance run, as a user types it: ``cnnstudio train lenet5 --epochs 10``.

Runs the real command line in a fresh process for each seed (default seeds 0-4; the
first run uses the defaults untouched, i.e. seed 0) and prints the final validation
accuracy and the wall time of each run, then the spread. The bar: >= 97% validation
accuracy on the bundled sample in under 3 minutes on the 2-core machine.

    python benchmarks/bench_acceptance.py [--seeds 0,1,2,3,4] [--model lenet5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def run_once(model: str, epochs: int, seed: int, out: Path) -> tuple[float, float]:
    """(final validation accuracy, wall seconds) of one ``cnnstudio train`` process."""
    cmd = [sys.executable, "-m", "cnnstudio", "train", model, "--epochs", str(epochs), "--out", str(out)]
    if seed != 0:  # seed 0 is the default: leave the command exactly as a user types it
        cmd += ["--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    from cnnstudio.project import load_project

    return float(load_project(out).history["epochs"][-1]["val_acc"]), wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.processor() or ''} "
          f"python {platform.python_version()}")
    accs, walls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            acc, wall = run_once(args.model, args.epochs, seed, Path(tmp) / f"run{seed}.cnnproj")
            accs.append(acc)
            walls.append(wall)
            print(f"seed {seed}: validation accuracy {100 * acc:.1f}%  wall {wall:.1f} s", flush=True)
    print(f"{args.model}, {args.epochs} epochs, {len(seeds)} seeds: accuracy min {100 * min(accs):.1f}% "
          f"mean {100 * sum(accs) / len(accs):.2f}% max {100 * max(accs):.1f}%; "
          f"wall min {min(walls):.1f} s max {max(walls):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
