"""How long the Evaluation panel's background job takes (no GUI): fit + evaluate + results.

    python benchmarks/bench_evaluation.py [--images 10000] [--templates lenet5 mini-vgg]

Random uint8 28x28x1 images stand in for a validation set the size of MNIST's test
set (the work does not depend on the pixel values). Prints seconds per evaluation
(best of two) and images/s. BLAS threads are capped at cores-1, as in the app.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cnnstudio.data import Dataset
from cnnstudio.gui.evaluation.runner import run_evaluation
from cnnstudio.model.templates import get_template
from cnnstudio.project.session import build_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--templates", nargs="+", default=["lenet5", "mini-vgg"])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    val = Dataset("random", rng.integers(0, 256, (args.images, 28, 28, 1), dtype=np.uint8),
                  np.arange(args.images) % 10, [str(i) for i in range(10)])
    threads = max(1, (os.cpu_count() or 2) - 1)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, BLAS threads {threads}, "
          f"{args.images:,} images 28x28x1")
    with threadpool_limits(threads):
        for name in args.templates:
            spec = get_template(name)
            weights = build_network(spec).get_weights()
            best = float("inf")
            for _ in range(2):
                t0 = time.perf_counter()
                result = run_evaluation(spec, weights, val)
                best = min(best, time.perf_counter() - t0)
            assert result.confusion.sum() == args.images
            print(f"{name:10s} {best:6.2f} s  {args.images / best:8,.0f} images/s")


if __name__ == "__main__":
    main()
