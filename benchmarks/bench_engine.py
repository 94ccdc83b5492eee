"""Engine speed: training images/s (batch 64, float32) and single-image inference latency.

Runs simple-cnn, lenet5 and mini-vgg through the product path (model templates ->
engine layers -> engine.network.Network.train_step with SGD momentum 0.9) and, when
``import torch`` works, the same networks in PyTorch CPU in the same process with
the same thread count, printing ours/torch ratios.

    python benchmarks/bench_engine.py --threads 1 2
    python benchmarks/bench_engine.py --models lenet5 --steps 50 --no-torch
    python benchmarks/bench_engine.py --threads 2 --blas-only   # the engine before its parallel seam
    python benchmarks/bench_engine.py --isolated 3 --threads 1 2 --steps 400 --blocks 10

``--isolated R``: each contender (our engine on threads, on worker processes, PyTorch) trains
in a fresh process of its own, one after the other, R rounds: no contender shares a process
or the moments just after with another (PyTorch's OpenMP threads spin on after its steps and
took cores from our worker processes in the alternating blocks), and each trains continuously,
as a real run does. It prints each round's figures and the ratios of the medians.

The machine may be shared: absolute numbers drift, take ratios from one run.
PyTorch is a comparison only; the package never imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from cnnstudio.engine import jit
from cnnstudio.engine.kernels import engine_threads
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


def time_steps(steps_by_name: dict, warmup: int, steps: int, blocks: int = 5,
               settle: float = 0.0) -> dict[str, tuple[float, float]]:
    """{name: (wall, cpu) seconds per step}, each the best of ``blocks`` timed blocks.

    The contenders (ours, torch) run in alternating blocks so both see the same load
    on a shared machine; best-of-blocks discards blocks that other jobs disturbed.
    CPU time is the process's own (all threads): with one thread it is the cost of a
    step undisturbed by other people's jobs queueing for the same cores.
    ``settle``: seconds of idle before each block, so that threads the previous contender
    leaves spinning (PyTorch's OpenMP threads busy-wait after a parallel region) have gone to
    sleep and do not take cores from the next contender's worker processes.
    """
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    per_block = max(1, steps // blocks)
    best = {name: (float("inf"), float("inf")) for name in steps_by_name}
    for _ in range(blocks):
        for name, step in steps_by_name.items():
            if settle > 0:
                time.sleep(settle)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(per_block):
                step()
            wall, cpu = (time.perf_counter() - t0) / per_block, (time.process_time() - c0) / per_block
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
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


def ours_fns(name: str, threads: int, blas_only: bool = False, numba: bool | None = None,
             processes: bool = False):
    """(train step, single-image inference) closures for our engine.

    Training runs as the Trainer runs it: ``engine_threads(threads)`` around each step (the
    engine's own threads, BLAS at one thread inside each); ``blas_only`` instead leaves the
    engine's loops serial and BLAS at ``threads`` (the engine before its parallel seam).
    Inference is one image, serial (as the GUI calls it). ``numba`` False forces the
    engine's NumPy kernels (``engine.jit.use_numba``) around every call. ``processes``:
    training over ``threads`` processes (``Network.set_worker_processes``) instead of threads.
    """
    net = build_ours(name)
    opt = SGD(momentum=0.9)
    x, y = batch(name, BATCH)
    x1, _ = batch(name, 1, seed=1)
    limit = contextlib.nullcontext if blas_only else (lambda: engine_threads(threads))
    if processes and threads > 1:
        net.set_worker_processes(threads)
        limit = lambda: engine_threads(1)  # noqa: E731  (the parent's own range: serial, BLAS 1)
    mode = contextlib.nullcontext if numba is None else (lambda: jit.use_numba(numba))

    def step():
        with limit(), mode():
            net.train_step(x, y, opt, 0.01)

    def infer():
        with mode():
            net.forward(x1)

    return step, infer


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


def torch_fns(name: str, torch):
    """(train step, single-image inference) closures for the PyTorch twin (SGD momentum 0.9)."""
    model = build_torch(name, torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = batch(name, BATCH)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    x1 = torch.from_numpy(batch(name, 1, seed=1)[0])

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()

    def infer():
        model.eval()
        with torch.no_grad():
            torch.softmax(model(x1), dim=1)

    return step, infer


def bench(name: str, torch, args, threads: int) -> dict[str, dict[str, float]]:
    fns = {"ours": ours_fns(name, threads, args.blas_only)}
    if args.numpy_too:
        fns["numpy"] = ours_fns(name, threads, args.blas_only, numba=False)
    if args.processes:
        fns["procs"] = ours_fns(name, threads, processes=True)
    if torch:
        fns["torch"] = torch_fns(name, torch)
    timed = time_steps({k: v[0] for k, v in fns.items()}, args.warmup, args.steps, args.blocks, args.settle)
    out = {}
    for key, (_, infer) in fns.items():
        med, p95 = latency(infer, args.latency_runs)
        wall, cpu = timed[key]
        out[key] = {"train": BATCH / wall, "train_cpu": BATCH / cpu, "lat_med": med, "lat_p95": p95}
    return out


def one_contender(args) -> int:
    """``--one WHO``: train one contender for ``--steps`` (best of ``--blocks``) and print JSON."""
    import json

    name, threads = args.models[0], args.threads[0]
    if args.one == "torch":
        import torch

        torch.set_num_threads(threads)
        step = torch_fns(name, torch)[0]
    else:
        step = ours_fns(name, threads, processes=args.one == "procs")[0]
    with threadpool_limits(limits=threads):
        wall, cpu = time_steps({"x": step}, args.warmup, args.steps, args.blocks)["x"]
    print(json.dumps({"who": args.one, "model": name, "threads": threads, "train": BATCH / wall}))
    return 0


def isolated(args) -> int:
    """``--isolated R``: each contender in a fresh process, alternating, R rounds."""
    import json
    import subprocess

    who = ["ours"] + (["procs"] if any(t > 1 for t in args.threads) else []) + ([] if args.no_torch else ["torch"])
    print(f"isolated: each contender in a fresh process, {args.isolated} rounds, {args.steps} steps each "
          f"(best of {args.blocks} blocks), load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for threads in args.threads:
        for name in args.models:
            got: dict[str, list[float]] = {w: [] for w in who}
            for _ in range(args.isolated):
                for w in who:
                    if w == "procs" and threads == 1:
                        continue
                    out = subprocess.run([sys.executable, __file__, "--one", w, "--models", name, "--threads",
                                          str(threads), "--steps", str(args.steps), "--blocks", str(args.blocks),
                                          "--warmup", str(args.warmup)],
                                         check=True, capture_output=True, text=True)
                    got[w].append(json.loads(out.stdout.strip().splitlines()[-1])["train"])
            med = {w: statistics.median(v) for w, v in got.items() if v}
            parts = [f"{w} " + "/".join(f"{x:,.0f}" for x in v) for w, v in got.items() if v]
            line = f"{name:<11}{threads:>2} thr  " + "  ".join(parts)
            if "torch" in med:
                line += "  ratio of medians: " + ", ".join(f"{w}/torch {med[w] / med['torch']:.2f}"
                                                           for w in med if w != "torch")
            print(line, flush=True)
    print("load average at the end " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2],
                    help="thread counts to try (ours: engine threads, each with 1 BLAS thread; torch: set_num_threads)")
    ap.add_argument("--blas-only", action="store_true",
                    help="ours: serial engine loops with BLAS at --threads (how the engine ran before its parallel seam)")
    ap.add_argument("--steps", type=int, default=40, help="timed training steps per network and contender")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--blocks", type=int, default=5,
                    help="timed blocks per contender, alternating; the best is kept (more: more chances "
                         "to catch a quiet moment on a shared machine)")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds of idle before each timed block (lets threads the previous contender "
                         "left spinning go to sleep; e.g. 0.3 with --processes)")
    ap.add_argument("--latency-runs", type=int, default=200)
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--processes", action="store_true",
                    help="also time our engine training over --threads worker processes (engine.procpool)")
    ap.add_argument("--numpy-too", action="store_true",
                    help="also time our engine on its NumPy kernels (numba off) in the same alternating blocks")
    ap.add_argument("--isolated", type=int, default=0, metavar="R",
                    help="each contender in a fresh process of its own, alternating, R rounds (see above)")
    ap.add_argument("--one", choices=["ours", "procs", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return one_contender(args)
    if args.isolated:
        return isolated(args)

    torch = None
    if not args.no_torch:
        try:
            import torch  # noqa: F811  (comparison only)
        except ImportError:
            print("torch not importable: ours only (pip install torch==2.13.0 for the comparison)")
    print(f"python {platform.python_version()}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else "") + f", batch {BATCH}, float32")
    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in threadpool_info()
            if i.get("user_api") == "blas"]
    numba = f"numba {importlib.metadata.version('numba')}" if jit.numba_enabled() else "NumPy (numba off)"
    print(f"engine kernels: {numba}; BLAS: {', '.join(blas) or 'unknown'}; load average "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("img/s = 64 / wall seconds per step; cpu img/s = 64 / process CPU seconds per step")
    head = f"{'model':<11}{'thr':>4}{'ours img/s':>11}{'(cpu)':>8}{'lat ms med/p95':>17}"
    if torch:
        head += f"{'torch img/s':>12}{'(cpu)':>8}{'lat ms med/p95':>17}{'ratio':>7}{'(cpu)':>7}"
    if args.numpy_too:
        head += f"{'numpy img/s':>12}{'lat ms med':>11}"
    if args.processes:
        head += f"{'procs img/s':>12}{'ratio':>7}"
    print(head)
    for threads in args.threads:
        if torch:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            for name in args.models:
                res = bench(name, torch, args, threads)
                ours = res["ours"]
                line = (f"{name:<11}{threads:>4}{ours['train']:>11,.0f}{ours['train_cpu']:>8,.0f}"
                        f"{ours['lat_med']:>9.2f}/{ours['lat_p95']:<7.2f}")
                if torch:
                    ref = res["torch"]
                    line += (f"{ref['train']:>12,.0f}{ref['train_cpu']:>8,.0f}"
                             f"{ref['lat_med']:>9.2f}/{ref['lat_p95']:<7.2f}"
                             f"{ours['train'] / ref['train']:>7.2f}{ours['train_cpu'] / ref['train_cpu']:>7.2f}")
                if args.numpy_too:
                    line += f"{res['numpy']['train']:>12,.0f}{res['numpy']['lat_med']:>11.2f}"
                if args.processes:
                    procs = res["procs"]["train"]
                    line += f"{procs:>12,.0f}" + (f"{procs / res['torch']['train']:>7.2f}" if torch else "")
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
