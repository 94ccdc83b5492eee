"""Augmentation cost per training batch (batch 64), next to a lenet5 training step.

    python benchmarks/bench_augment.py [--steps 60] [--threads 1]

Prints ms per batch for the default Augmenter (shift 2, rotation 10, scale 0.1,
noise 0.05) on 28x28x1 and 32x32x3, for its parts, and the lenet5 train step on
the same machine for scale. The machine may be shared: take ratios from one run.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cnnstudio.data import Augmenter, load_sample, to_float_nchw


def best_ms(fn, steps: int) -> float:
    """Best of three blocks, ms per call."""
    fn()
    block = max(1, steps // 3)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(block):
            fn()
        best = min(best, (time.perf_counter() - t0) / block)
    return best * 1e3


def lenet5_step_ms(x: np.ndarray, steps: int) -> float | None:
    try:
        from cnnstudio.engine.layers import LAYER_TYPES
        from cnnstudio.engine.network import Network
        from cnnstudio.engine.optimizers import SGD
        from cnnstudio.model.templates import get_template
    except ImportError:
        return None
    spec = get_template("lenet5")
    net = Network([LAYER_TYPES[s.type](**s.config) for s in spec.layers], (1, 28, 28), np, np.float32)
    opt = SGD(momentum=0.9)
    y = np.arange(len(x)) % 10
    return best_ms(lambda: net.train_step(x, y, opt, 0.01), steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = to_float_nchw(load_sample().x[:64])
    colour = rng.random((64, 3, 32, 32), dtype=np.float32)
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"BLAS threads {args.threads}, batch 64")
    with threadpool_limits(args.threads):
        cases = [
            ("default, 28x28x1", Augmenter(), x),
            ("geometry only, 28x28x1", Augmenter(noise=0), x),
            ("noise only, 28x28x1", Augmenter(shift=0, rotation=0, scale=0), x),
            ("default + flip, 32x32x3", Augmenter(flip=True), colour),
        ]
        for name, aug, data in cases:
            print(f"augment {name:28s} {best_ms(lambda: aug(data, rng), args.steps):7.2f} ms/batch")
        step = lenet5_step_ms(x, args.steps)
        if step is not None:
            print(f"lenet5 train step (for scale)      {step:7.2f} ms/batch")


if __name__ == "__main__":
    main()
