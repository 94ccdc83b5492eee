"""Where a training step's time goes: thread CPU time per op (forward and backward), one thread.

    python benchmarks/profile_engine.py --models lenet5 mini-vgg --steps 20
    CNNSTUDIO_NUMBA=0 python benchmarks/profile_engine.py     # the NumPy fallback kernels

Runs the executor's ops (``Network._ops``: fused pairs included) one by one the way
``Network.train_step`` does, timing each with ``time.thread_time`` (CPU time of this
thread, so other jobs on a shared machine disturb it less than wall time), best of
``--steps`` steps per op. Also prints the loss and optimizer time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_engine import BATCH, batch, build_ours  # noqa: E402
from cnnstudio.engine import fused  # noqa: E402
from cnnstudio.engine.losses import softmax_cross_entropy  # noqa: E402
from cnnstudio.engine.optimizers import SGD  # noqa: E402


def profile(name: str, steps: int) -> None:
    net = build_ours(name)
    opt = SGD(momentum=0.9)
    x, y = batch(name, BATCH)
    ops = net._ops()
    fwd = [float("inf")] * len(ops)
    bwd = [float("inf")] * len(ops)
    rest = float("inf")
    total = float("inf")
    for _ in range(steps + 2):
        t_step = time.thread_time()
        h = net._to_internal(x)
        for i, op in enumerate(ops):
            t = time.thread_time()
            h = op.forward(h, True)
            fwd[i] = min(fwd[i], time.thread_time() - t)
        t = time.thread_time()
        _, grad, _ = softmax_cross_entropy(h, y, np)
        loss_t = time.thread_time() - t
        for i in reversed(range(len(ops))):
            t = time.thread_time()
            grad = ops[i].backward(grad)
            bwd[i] = min(bwd[i], time.thread_time() - t)
        t = time.thread_time()
        opt.step(net.parameters(), 0.01)
        rest = min(rest, loss_t + time.thread_time() - t)
        total = min(total, time.thread_time() - t_step)
    parts = sum(fwd) + sum(bwd) + rest
    print(f"\n{name}: best step {total * 1e3:.2f} ms CPU ({BATCH / total:,.0f} img/s), numba "
          f"{'on' if fused.numba_enabled() else 'off'}")
    print(f"{'op':<34}{'fwd ms':>8}{'bwd ms':>8}{'share':>7}")
    for op, f, b in zip(ops, fwd, bwd):
        label = "+".join(layer.type_name for layer in getattr(op, "layers", (op,)))
        label = f"{type(op).__name__}({label})" if hasattr(op, "layers") else label
        if label.startswith("Conv2D"):
            c, h_, w_ = op.input_shape
            label += f" {c}->{op.filters} {h_}x{w_}"
        print(f"{label:<34}{f * 1e3:>8.3f}{b * 1e3:>8.3f}{(f + b) / parts:>7.1%}")
    print(f"{'loss + optimizer':<34}{rest * 1e3:>16.3f}{rest / parts:>7.1%}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["lenet5", "mini-vgg"])
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    with threadpool_limits(limits=1):
        for name in args.models:
            profile(name, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
