"""Latency of the drawing path: stroke -> MNIST preprocessing -> prediction + every layer's activations.

Two measurements, single image, median and p95 over ``--repeat`` runs:

* engine: ``preprocess_drawing`` of a 280x280 canvas + ``fit_to_input`` + ``to_float_nchw``
  + ``Network.forward_activations`` (all layers) on the chosen template;
* gui (``--gui``): what the Draw panel does after a mouse release, offscreen:
  read the canvas QImage, preprocess, show the 28x28 preview, run the Inspector
  (forward_activations + probabilities), update every feature-map mosaic and the bar chart,
  and repaint both panels.

Usage: python benchmarks/bench_inference.py [--template lenet5] [--repeat 300] [--threads 1] [--gui]
BLAS is limited to ``--threads`` (the GUI gives BLAS cores - 1 = 1 thread here).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from cnnstudio.data import to_float_nchw
from cnnstudio.data.drawing import fit_to_input, preprocess_drawing
from cnnstudio.model import build_network
from cnnstudio.model.templates import get_template


def synthetic_canvas(size: int = 280) -> np.ndarray:
    """A "7"-like drawing: uint8 (size, size) with two thick strokes, off-centre."""
    canvas = np.zeros((size, size), np.uint8)
    rr, cc = np.mgrid[0:size, 0:size]
    for (r0, c0, r1, c1) in ((40, 60, 40, 200), (40, 200, 240, 110)):
        for t in np.linspace(0.0, 1.0, 60):
            r, c = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
            canvas[(rr - r) ** 2 + (cc - c) ** 2 <= 100] = 255
    return canvas


def stats_ms(times: list[float]) -> str:
    ms = np.asarray(times) * 1e3
    return f"median {np.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, n={ms.size}"


def bench_engine(template: str, repeat: int) -> list[float]:
    spec = get_template(template)
    net = build_network(spec)
    h, w, c = spec.input.hwc
    canvas = synthetic_canvas()
    times = []
    for i in range(repeat + 10):
        start = time.perf_counter()
        digit = preprocess_drawing(canvas)
        x = to_float_nchw(fit_to_input(digit, h, w, c)[None])
        acts = net.forward_activations(x)
        _ = int(np.argmax(acts[-1][0]))
        if i >= 10:  # the first calls allocate the layers' buffers
            times.append(time.perf_counter() - start)
    return times


def bench_gui(template: str, repeat: int) -> list[float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication

    from cnnstudio.gui.inside import DrawingPanel, FeatureMapsPanel, Inspector
    from cnnstudio.gui.state import AppState

    app = QApplication.instance() or QApplication([])
    state = AppState(template=template)
    inspector = Inspector(state)
    draw, maps = DrawingPanel(inspector), FeatureMapsPanel(inspector)
    draw.resize(700, 420)
    maps.resize(1100, 1000)
    draw.show()
    maps.show()
    inspector.refresh_now()
    draw.canvas.draw_stroke([(60, 40), (200, 40)])
    draw.canvas.draw_stroke([(200, 40), (110, 240)])
    times = []
    for i in range(repeat + 10):
        start = time.perf_counter()
        draw.update_drawing()
        inspector.refresh_now()
        for w in (draw, maps):
            w.repaint()  # paint now (offscreen), so drawing the mosaics and bars is timed too
        if i >= 10:
            times.append(time.perf_counter() - start)
        app.processEvents()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default="lenet5")
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gui", action="store_true", help="also time the whole Draw-panel path offscreen")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"BLAS threads {args.threads}, template {args.template}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        print("engine (preprocess + forward_activations):", stats_ms(bench_engine(args.template, args.repeat)))
        if args.gui:
            print("gui (canvas -> preview, prediction, all mosaics, repaint):", stats_ms(bench_gui(args.template, args.repeat)))


if __name__ == "__main__":
    main()
