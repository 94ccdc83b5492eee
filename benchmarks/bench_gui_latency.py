"""GUI responsiveness while training: event-loop lateness of a 10 ms timer.

Opens the real main window (offscreen by default, or under Xvfb), starts training
``mini-vgg`` (default) on the bundled sample from the training panel, and records
how late a 10 ms QTimer fires while the worker trains and the plots redraw.
Reports the median, p99 and max lateness (target: p99 < 50 ms) and the training
images/s alongside, plus an idle baseline measured first with no training.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_latency.py --seconds 30
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="mini-vgg")
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
    if args.platform:
        os.environ["QT_QPA_PLATFORM"] = args.platform
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PyQt6.QtCore import QSettings, Qt
    from PyQt6.QtWidgets import QApplication

    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ini = tempfile.NamedTemporaryFile(suffix=".ini", delete=False).name
    window = MainWindow(AppState(template=args.template), settings=QSettings(ini, QSettings.Format.IniFormat))
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
    if not panel.start():
        print("training did not start", file=sys.stderr)
        return 1
    c = panel.controller
    deadline = time.monotonic() + 120  # wait for the first batches so setup is not measured
    while c.last_step is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    first = c.last_step or {"global_step": 0}
    t0 = time.perf_counter()
    busy = measure_lateness(app, args.seconds)
    elapsed = time.perf_counter() - t0
    c.drain()
    last = c.last_step or first
    images = (last["global_step"] - first["global_step"]) * args.batch_size
    previews = c.worker.previews_sent if c.worker is not None else None
    c.shutdown()
    window.close()

    result = {"template": args.template, "batch_size": args.batch_size, "seconds": args.seconds,
              "show_maps": args.show_maps, "weight_previews": previews,
              "training": summary(busy), "idle": summary(idle),
              "images_per_sec": images / elapsed, "trainer_images_per_sec": last.get("images_per_sec"),
              "steps": int(last["global_step"] - first["global_step"]),
              "platform": os.environ.get("QT_QPA_PLATFORM"), "machine": platform.platform(),
              "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
        return 0
    t, i = result["training"], result["idle"]
    print(f"{args.template}, batch {args.batch_size}, {args.seconds:g} s of training "
          f"({result['steps']} steps), QT_QPA_PLATFORM={result['platform']}")
    print(f"event-loop lateness while training: median {t['median_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms, "
          f"max {t['max_ms']:.1f} ms over {t['ticks']} ticks (target p99 < 50 ms)")
    if args.show_maps:
        print(f"feature maps dock shown; mid-epoch weight copies sent: {result['weight_previews']}")
    print(f"idle baseline:                      median {i['median_ms']:.2f} ms, p99 {i['p99_ms']:.2f} ms")
    print(f"training throughput: {result['images_per_sec']:.0f} images/s wall "
          f"(trainer's own figure, compute time only: {result['trainer_images_per_sec'] or 0:.0f} images/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
