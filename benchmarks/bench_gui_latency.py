"""GUI responsiveness while training: event-loop lateness of a 10 ms timer, and the app's
training speed against the command line's on the same model.

Opens the real main window (offscreen by default, or under Xvfb), starts training
``mini-vgg`` (default) on the bundled sample from the training panel, and records
how late a 10 ms QTimer fires while the run trains and the plots redraw.
Reports the median, p99 and max lateness (target: p99 < 16 ms, one frame at 60 Hz) and
the training images/s alongside, plus an idle baseline measured first with no training.

``--compare-cli`` first trains the same model the way ``cnnstudio train --threads N``
does (``session.make_trainer(threads=N, processes=N > 1)`` pumping ``Run.reports()``, in a
process of its own, no GUI) for the same time and reports the app's images/s as a fraction
of it (target: within 10%). ``--workers`` is the app's Workers setting and the CLI's N
(auto: one per core). ``--in-process`` trains in the GUI process's QThread instead (the
fallback the older GUI tests use), for comparison. ``--template`` may be given more than once.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_latency.py --seconds 30
    python benchmarks/bench_gui_latency.py --template lenet5 --template mini-vgg --compare-cli --seconds 20
    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_gui_latency.py --platform xcb
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

INTERVAL_MS = 10


def measure_lateness(app, seconds: float) -> np.ndarray:
    """Run the event loop for ``seconds``; return each 10 ms tick's lateness in ms."""
    from PyQt6.QtCore import QEventLoop, QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    gaps = np.diff(np.asarray(ticks)) * 1000.0
    return np.maximum(gaps - INTERVAL_MS, 0.0)


def summary(lateness: np.ndarray) -> dict:
    return {"ticks": int(len(lateness)), "median_ms": float(np.median(lateness)),
            "p99_ms": float(np.percentile(lateness, 99)), "max_ms": float(lateness.max())}


def cli_images_per_sec(template: str, batch_size: int, workers: int, seconds: float, warmup_steps: int = 20) -> dict:
    """The command line's training loop on the bundled sample for ``seconds`` (after
    ``warmup_steps`` batches): wall images/s from the batches done. Runs in this process
    (call it in a process of its own: ``--cli-only``)."""
    from cnnstudio.model import TrainingConfig, get_template
    from cnnstudio.project import session
    from cnnstudio.project.run import Run

    spec = get_template(template)
    config = TrainingConfig(epochs=1000, batch_size=batch_size)
    train, val = session.prepare_data(config.dataset, spec, val_fraction=config.val_fraction, seed=config.seed)
    prepared = session.make_trainer(spec, train, val, config, threads=workers, processes=workers > 1)
    run = Run(prepared)
    t0 = first = None
    try:
        for item in run.reports():
            if not isinstance(item, dict):
                continue
            if item["global_step"] == warmup_steps:
                t0, first = time.perf_counter(), item["global_step"]
            elif t0 is not None and time.perf_counter() - t0 >= seconds:
                elapsed = time.perf_counter() - t0
                return {"images_per_sec": (item["global_step"] - first) * batch_size / elapsed,
                        "steps": item["global_step"] - first, "seconds": elapsed}
    finally:
        prepared.network.close_workers()
    raise RuntimeError("the run ended before the measuring window did")


def _cli_in_subprocess(template: str, batch_size: int, workers: int, seconds: float) -> dict:
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--cli-only", "--template", template, "--batch-size",
                          str(batch_size), "--workers", str(workers), "--seconds", str(seconds)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", action="append", default=None,
                        help="the model (repeat for several; default mini-vgg)")
    parser.add_argument("--workers", default="auto", help="the app's Workers setting and the CLI's --threads "
                        "(auto: one per core)")
    parser.add_argument("--compare-cli", action="store_true",
                        help="also train the same model as `cnnstudio train --threads N` does and compare images/s")
    parser.add_argument("--in-process", action="store_true",
                        help="train in the GUI process's thread (the tests' fallback), not in a process of its own")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the measurements this many times (CLI, app[, app in-process]) per model")
    parser.add_argument("--also-in-process", action="store_true",
                        help="in each round also measure the app training in its GUI thread (the fallback)")
    parser.add_argument("--no-previews", action="store_true", help="no mid-epoch weight copies (for comparison)")
    parser.add_argument("--cli-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring time while training")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="baseline with no training")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--show-maps", action="store_true",
                        help="raise the Feature maps dock, so the live feature maps and filters refresh "
                             "from the mid-epoch weights while training")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--platform", default=None,
                        help="Qt platform: offscreen (default unless QT_QPA_PLATFORM is set) or xcb "
                             "(a real X server, e.g. under xvfb-run)")
    args = parser.parse_args(argv)
    templates = args.template or ["mini-vgg"]
    from cnnstudio.engine.kernels import cpu_cores

    workers = cpu_cores() if args.workers == "auto" else int(args.workers)
    if args.cli_only:
        print(json.dumps(cli_images_per_sec(templates[0], args.batch_size, workers, args.seconds)))
        return 0
    if args.in_process:
        os.environ["CNNSTUDIO_TRAIN_IN_PROCESS"] = "1"
    results = []
    modes = [not args.in_process] + ([False] if args.also_in_process and not args.in_process else [])
    for template in templates:
        for _round in range(args.rounds):
            cli = _cli_in_subprocess(template, args.batch_size, workers, args.seconds) if args.compare_cli else None
            for out_of_process in modes:
                result = measure_app(args, template, workers, out_of_process)
                if result is None:
                    return 1
                if cli is not None:
                    result["cli"] = cli
                    result["app_over_cli"] = result["images_per_sec"] / cli["images_per_sec"]
                results.append(result)
                if not args.json:
                    report(result, args)
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0]))
    return 0


def measure_app(args, template: str, workers: int, out_of_process: bool = True) -> dict | None:
    """Train ``template`` in the app's window; lateness while it trains and images/s."""
    if args.platform:
        os.environ["QT_QPA_PLATFORM"] = args.platform
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PyQt6.QtCore import QSettings, Qt
    from PyQt6.QtWidgets import QApplication

    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ini = tempfile.NamedTemporaryFile(suffix=".ini", delete=False).name
    window = MainWindow(AppState(template=template), settings=QSettings(ini, QSettings.Format.IniFormat))
    window.ask_unsaved = lambda: DISCARD
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.docks["plotsDock"])  # plots painted
    window.resize(1280, 800)
    window.show()
    if args.show_maps:
        window.docks["featureMapsDock"].raise_()
    idle = measure_lateness(app, args.idle_seconds)

    panel = window.training_panel
    panel.batch_size.setValue(args.batch_size)
    panel.epochs.setValue(1000)  # never finishes inside the measuring window
    panel.workers.setCurrentIndex(panel.workers.findData(str(workers)))
    panel.controller.out_of_process = out_of_process
    if args.no_previews:
        panel.controller.preview_interval_s = None
    if not panel.start():
        print("training did not start", file=sys.stderr)
        return None
    c = panel.controller
    deadline = time.monotonic() + 120  # wait past the first batches (warm-up) so setup is not measured
    while (c.last_step is None or c.last_step["global_step"] < 20) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    first = c.last_step or {"global_step": 0}
    t0, cpu0 = time.perf_counter(), time.process_time()
    busy = measure_lateness(app, args.seconds)
    elapsed = time.perf_counter() - t0
    gui_cpu = (time.process_time() - cpu0) / elapsed   # the GUI process's CPU time (all its threads)
    c.drain()
    last = c.last_step or first
    images = (last["global_step"] - first["global_step"]) * args.batch_size
    previews = c.worker.previews_sent if c.worker is not None else None
    c.shutdown()
    window.close()
    window.deleteLater()

    result = {"template": template, "batch_size": args.batch_size, "seconds": args.seconds, "workers": workers,
              "out_of_process": out_of_process,
              "show_maps": args.show_maps, "weight_previews": previews,
              "training": summary(busy), "idle": summary(idle),
              "images_per_sec": images / elapsed, "gui_cpu_fraction": gui_cpu, "trainer_images_per_sec": last.get("images_per_sec"),
              "steps": int(last["global_step"] - first["global_step"]),
              "platform": os.environ.get("QT_QPA_PLATFORM"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    return result


def report(result: dict, args) -> None:
    t, i = result["training"], result["idle"]
    where = "in a process of its own" if result["out_of_process"] else "in the GUI process (QThread)"
    print(f"{result['template']}, batch {args.batch_size}, {result['workers']} worker(s), trained {where}, "
          f"{args.seconds:g} s ({result['steps']} steps), QT_QPA_PLATFORM={result['platform']}, "
          f"load average {' '.join(f'{x:.2f}' for x in result['load_average'])}")
    print(f"event-loop lateness while training: median {t['median_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms, "
          f"max {t['max_ms']:.1f} ms over {t['ticks']} ticks (target p99 < 16 ms)")
    print(f"the GUI process's CPU time while training: {100 * result['gui_cpu_fraction']:.0f}% of one core")
    if args.show_maps:
        print(f"feature maps dock shown; mid-epoch weight copies sent: {result['weight_previews']}")
    print(f"idle baseline:                      median {i['median_ms']:.2f} ms, p99 {i['p99_ms']:.2f} ms")
    print(f"training throughput: {result['images_per_sec']:.0f} images/s wall "
          f"(trainer's own figure, compute time only: {result['trainer_images_per_sec'] or 0:.0f} images/s)")
    if "cli" in result:
        print(f"the CLI's loop on the same model: {result['cli']['images_per_sec']:.0f} images/s wall; "
              f"app / CLI = {result['app_over_cli']:.3f} (target >= 0.9)")


if __name__ == "__main__":
    sys.exit(main())
