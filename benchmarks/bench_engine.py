"""Engine speed: training images/s (batch 64, float32) and single-image inference latency.

Runs simple-cnn, lenet5 and mini-vgg through the product path (model templates ->
engine layers -> engine.network.Network.train_step with SGD momentum 0.9) and, when
``import torch`` works, the same networks in PyTorch CPU in the same process with
the same thread count, printing ours/torch ratios.

    python benchmarks/bench_engine.py --threads 1 2
    python benchmarks/bench_engine.py --models lenet5 --steps 50 --no-torch

The machine may be shared: absolute numbers drift, take ratios from one run.
PyTorch is a comparison only; the package never imports it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD
from cnnstudio.model.templates import get_template

MODELS = ("simple-cnn", "lenet5", "mini-vgg")
BATCH = 64


def build_ours(name: str, seed: int = 0) -> Network:
    spec = get_template(name)
    layers = [LAYER_TYPES[s.type](**s.config) for s in spec.layers]
    inp = spec.input
    return Network(layers, (inp.channels, inp.height, inp.width), np, np.float32, seed=seed)


def batch(name: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    inp = get_template(name).input
    rng = np.random.default_rng(seed)
    x = rng.random((n, inp.channels, inp.height, inp.width), dtype=np.float32)
    return x, rng.integers(0, 10, n)


def time_steps(step, warmup: int, steps: int) -> float:
    """Seconds per step: best of three timed blocks of ``steps // 3`` (the machine is shared)."""
    for _ in range(warmup):
        step()
    block = max(1, steps // 3)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(block):
            step()
        best = min(best, (time.perf_counter() - t0) / block)
    return best


def latency(fn, runs: int) -> tuple[float, float]:
    """(median, p95) in milliseconds of ``fn()`` over ``runs`` calls after 5 warm-up calls."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def bench_ours(name: str, warmup: int, steps: int, runs: int) -> dict[str, float]:
    net = build_ours(name)
    opt = SGD(momentum=0.9)
    x, y = batch(name, BATCH)
    per_step = time_steps(lambda: net.train_step(x, y, opt, 0.01), warmup, steps)
    x1, _ = batch(name, 1, seed=1)
    med, p95 = latency(lambda: net.forward(x1), runs)
    return {"train": BATCH / per_step, "lat_med": med, "lat_p95": p95}


# ---- PyTorch twin -------------------------------------------------------------
def build_torch(name: str, torch):
    """The same template as a torch.nn.Sequential; the final Softmax is fused into the loss."""
    nn = torch.nn
    spec = get_template(name)
    shape = (spec.input.channels, spec.input.height, spec.input.width)
    mods = []
    for s in spec.layers:
        layer = LAYER_TYPES[s.type](**s.config)
        out = layer.output_shape(shape)
        if s.type == "Conv2D":
            top, bottom, left, right = layer.padding_amounts(shape)
            if top != bottom or left != right:
                mods.append(nn.ZeroPad2d((left, right, top, bottom)))
                top = left = 0
            mods.append(nn.Conv2d(shape[0], layer.filters, layer.kernel_size, layer.stride, (top, left),
                                  bias=layer.use_bias))
        elif s.type == "ReLU":
            mods.append(nn.ReLU())
        elif s.type == "MaxPool2D":
            mods.append(nn.MaxPool2d(layer.pool_size, layer.stride))
        elif s.type == "Flatten":
            mods.append(nn.Flatten())
        elif s.type == "Dense":
            mods.append(nn.Linear(shape[0], layer.units, bias=layer.use_bias))
        elif s.type == "Dropout":
            mods.append(nn.Dropout(layer.rate))
        elif s.type != "Softmax":
            raise ValueError(f"bench: no torch twin for {s.type}")
        shape = out
    return nn.Sequential(*mods)


def bench_torch(name: str, torch, warmup: int, steps: int, runs: int) -> dict[str, float]:
    model = build_torch(name, torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = batch(name, BATCH)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()

    model.train()
    per_step = time_steps(step, warmup, steps)
    model.eval()
    x1 = torch.from_numpy(batch(name, 1, seed=1)[0])

    def infer():
        with torch.no_grad():
            torch.softmax(model(x1), dim=1)

    med, p95 = latency(infer, runs)
    return {"train": BATCH / per_step, "lat_med": med, "lat_p95": p95}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="BLAS/torch thread counts to try")
    ap.add_argument("--steps", type=int, default=30, help="timed training steps per network")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=200)
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = ap.parse_args(argv)

    torch = None
    if not args.no_torch:
        try:
            import torch  # noqa: F811  (comparison only)
        except ImportError:
            print("torch not importable: ours only (pip install torch==2.13.0 for the comparison)")
    print(f"python {platform.python_version()}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else "") + f", batch {BATCH}, float32")
    head = f"{'model':<11}{'thr':>4}{'ours img/s':>12}{'lat ms med/p95':>17}"
    if torch:
        head += f"{'torch img/s':>13}{'lat ms med/p95':>17}{'ratio':>7}"
    print(head)
    for threads in args.threads:
        if torch:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            for name in args.models:
                ours = bench_ours(name, args.warmup, args.steps, args.latency_runs)
                line = (f"{name:<11}{threads:>4}{ours['train']:>12,.0f}"
                        f"{ours['lat_med']:>9.2f}/{ours['lat_p95']:<7.2f}")
                if torch:
                    ref = bench_torch(name, torch, args.warmup, args.steps, args.latency_runs)
                    line += (f"{ref['train']:>13,.0f}{ref['lat_med']:>9.2f}/{ref['lat_p95']:<7.2f}"
                             f"{ours['train'] / ref['train']:>7.2f}")
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
