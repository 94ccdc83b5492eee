"""Screenshots of CNN Studio scenes, for the docs and for looking at the app as a person would.

Usage (a real X server, 1280x800)::

    bash scripts/install-qt-libs.sh xvfb     # once: Xvfb, xauth, xdotool and the X libraries
    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot.py editor docs/screenshot-editor.png

Each scene is a function ``scene(app) -> QWidget`` registered in ``SCENES``: it builds
the window in the state to show; the helper waits for it to settle and grabs it.
Add your own scene in its own function below and register it in ``SCENES``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication, QWidget

WINDOW_SIZE = (1280, 800)


def settle(app: QApplication, seconds: float = 1.0) -> None:
    """Let Qt lay out and paint (and timers fire) for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def fresh_window(template: str = "lenet5"):
    """A MainWindow on ``template`` with throwaway settings (no remembered layout)."""
    import tempfile

    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.gui.state import AppState

    ini = tempfile.NamedTemporaryFile(suffix=".ini", delete=False).name
    window = MainWindow(AppState(template=template), settings=QSettings(ini, QSettings.Format.IniFormat))
    window.resize(*WINDOW_SIZE)
    return window


# ---- scenes ------------------------------------------------------------------------------
def scene_editor(app: QApplication) -> QWidget:
    """lenet5 in the editor with its second Conv2D selected (inspector filled in)."""
    window = fresh_window("lenet5")
    window.show()
    settle(app, 0.5)
    window.editor.select(3)
    return window


def _training_window(app: QApplication, template: str, plots_height: int, epochs: int,
                     ready: Callable[[Any], bool], seconds: float = 240):
    """A window training ``template`` with the plots dock under the editor (``plots_height`` px) and
    the training panel raised, once ``ready(panel)`` holds (or after ``seconds``)."""
    import atexit

    from PyQt6.QtCore import Qt

    window = fresh_window(template)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.docks["plotsDock"])
    window.resizeDocks([window.docks["plotsDock"]], [plots_height], Qt.Orientation.Vertical)
    window.show()
    window.docks["trainingDock"].raise_()
    panel = window.training_panel
    panel.epochs.setValue(epochs)
    panel.start()
    atexit.register(panel.controller.shutdown)  # never leave a trainer running at exit
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        settle(app, 0.2)
        if ready(panel):
            break
    return window


def _steps(panel) -> int:
    return (panel.controller.last_step or {}).get("global_step") or 0


def scene_training(app: QApplication, min_steps: int = 300) -> QWidget:
    """lenet5 training on the bundled sample, curves moving after a few hundred batches (G2).

    The plots dock goes under the editor so the training panel and the curves show together.
    """
    return _training_window(app, "lenet5", 300, 10,
                            lambda panel: _steps(panel) >= min_steps and bool(panel.controller.history["epochs"]))


def _digit_three() -> list[list[tuple[float, float]]]:
    """Two arcs of a hand-drawn "3", in drawing-canvas pixels (the canvas is 280 x 280)."""
    import math

    def arc(cx: float, cy: float, rx: float, ry: float, degrees: range) -> list[tuple[float, float]]:
        return [(cx + rx * math.cos(math.radians(a)), cy - ry * math.sin(math.radians(a))) for a in degrees]

    return [arc(140, 90, 55, 50, range(150, -91, -10)), arc(140, 198, 62, 58, range(90, -151, -10))]


def scene_feature_maps(app: QApplication, epochs: int = 2) -> QWidget:
    """lenet5 trained briefly on the bundled sample, a "3" drawn on the canvas, every layer's maps (G3).

    The Draw and Feature maps panels side by side at 1700x1080 (the docks of the main window are
    too small to show all thirteen layers legibly): xvfb-run -a -s "-screen 0 1700x1080x24".
    """
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QSplitter

    from cnnstudio.data import sample_split, to_float_nchw
    from cnnstudio.engine.optimizers import Adam
    from cnnstudio.engine.trainer import Trainer
    from cnnstudio.gui.inside import DrawingPanel, FeatureMapsPanel, Inspector
    from cnnstudio.gui.state import AppState
    from cnnstudio.model import build_network
    from cnnstudio.model.templates import get_template

    train, _ = sample_split()
    net = build_network(get_template("lenet5"))
    for _ in Trainer(net, Adam(), to_float_nchw(train.x), train.y, batch_size=64, epochs=epochs, lr=2e-3).run():
        pass
    state = AppState(template="lenet5")
    state.set_weights(net.get_weights())
    inspector = Inspector(state)
    split = QSplitter(Qt.Orientation.Horizontal)
    draw, maps = DrawingPanel(inspector), FeatureMapsPanel(inspector)
    split.addWidget(draw)
    split.addWidget(maps)
    split.setWindowTitle("CNN Studio: inside lenet5")
    split.resize(1700, 1080)
    split.setSizes([520, 1180])
    split.show()
    settle(app, 0.3)
    for stroke in _digit_three():
        draw.canvas.draw_stroke(stroke)
    inspector.refresh_now()
    maps.open_tile(1, 1)  # the first conv layer's second map, enlarged with its colour bar
    return split


def _trained_lenet5_weights(epochs: int) -> dict:
    """lenet5 trained for ``epochs`` on the bundled sample's training part (engine only, no GUI)."""
    from cnnstudio.data import sample_split, to_float_nchw
    from cnnstudio.engine.optimizers import Adam
    from cnnstudio.engine.trainer import Trainer
    from cnnstudio.model import build_network
    from cnnstudio.model.templates import get_template

    train, _ = sample_split()
    net = build_network(get_template("lenet5"))
    for _ in Trainer(net, Adam(), to_float_nchw(train.x), train.y, batch_size=64, epochs=epochs, lr=2e-3).run():
        pass
    return net.get_weights()


def scene_confusion(app: QApplication, epochs: int = 1) -> QWidget:
    """lenet5 trained briefly, the Evaluation dock wide: confusion matrix, per-class accuracy,
    the mistakes of the busiest off-diagonal cell and one of them clicked (G4)."""
    import numpy as np
    from PyQt6.QtCore import Qt

    window = fresh_window("lenet5")
    dock = window.docks["evaluationDock"]
    window.show()
    dock.raise_()
    window.resizeDocks([dock], [900], Qt.Orientation.Horizontal)
    panel = window.evaluation_panel
    done = []
    panel.evaluated.connect(lambda: done.append(True))
    window.state.set_weights(_trained_lenet5_weights(epochs))
    deadline = time.monotonic() + 120
    while not done and time.monotonic() < deadline:
        settle(app, 0.1)
    off = panel.result.confusion.copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    panel.show_cell(int(i), int(j))
    panel.show_example(panel.gallery.shown[0])
    panel.gallery.current = panel.gallery.shown[0]
    return window


def scene_datasets(app: QApplication) -> QWidget:
    """The Dataset dock on the bundled sample: samples per class, class counts, augmentation preview (G4)."""
    from PyQt6.QtCore import Qt

    window = fresh_window("lenet5")
    dock = window.docks["datasetDock"]
    window.show()
    dock.raise_()
    window.resizeDocks([dock], [900], Qt.Orientation.Horizontal)
    window.dataset_browser.aug_spins["rotation"].setValue(20.0)
    return window


def scene_graph(app: QApplication) -> QWidget:
    """mini-resnet in the editor: residual blocks side by side, a shape on every wire (issue 10)."""
    window = fresh_window("mini-resnet")
    window.show()
    # the docks closed (View menu), as a person makes room for a wide network
    for dock in window.docks.values():
        dock.hide()
    settle(app, 0.5)
    window.editor.select(4)   # the first residual block's first Conv2D
    canvas = window.editor.canvas
    first = canvas.layout_.bands[1][0]   # scrolled to block 1 (identity shortcut) and block 2 (projection)
    x = min(canvas.layout_.positions[i][0] for i, r in canvas.layout_.ranks.items() if r == first)
    canvas.horizontalScrollBar().setValue(int(x) - 30)
    return window


def scene_draw_look(app: QApplication, epochs: int = 2) -> QWidget:
    """Draw & look (issue 13, layout): lenet5 trained briefly, a "3" drawn, the Draw dock beside the
    live feature maps in the 1280x800 main window (the Draw tab opens this arrangement)."""
    window = fresh_window("lenet5")
    window.show()
    settle(app, 0.3)
    window.state.set_weights(_trained_lenet5_weights(epochs))
    window.docks["drawingDock"].raise_()   # as a click on the Draw tab: it opens Draw & look
    settle(app, 0.5)
    draw = window.panel("drawingDock")
    for stroke in _digit_three():
        draw.canvas.draw_stroke(stroke)
    draw.update_drawing()
    window.inspector.refresh_now()
    settle(app, 0.5)
    window.panel("featureMapsDock").open_tile(1, 1)   # the first conv layer's second map, enlarged
    return window


def scene_small_window(app: QApplication, min_steps: int = 150) -> QWidget:
    """The main window at 1024x640 (issue 13, layout): mini-vgg's 16 blocks zoomed to fit the editor,
    the compact palette, the Plots dock after a short training run (run it under a 1024x640 screen)."""
    import atexit

    window = fresh_window("mini-vgg")
    window.resize(1024, 640)
    window.show()
    settle(app, 0.3)
    panel = window.training_panel
    panel.epochs.setValue(2)
    panel.start()
    atexit.register(panel.controller.shutdown)  # never leave the trainer running at exit
    window.docks["plotsDock"].raise_()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        settle(app, 0.2)
        last = panel.controller.last_step or {}
        if (last.get("global_step") or 0) >= min_steps and panel.controller.history["epochs"]:
            break
    return window


def scene_runs(app: QApplication, lrs: tuple[float, ...] = (0.0005, 0.002, 0.008)) -> QWidget:
    """The Runs panel comparing three runs (issue 13, runs): lenet5 trained for one epoch on the
    bundled sample at three learning rates, all three selected (the learning rate highlighted as
    what differs, their curves overlaid), the Runs dock widened."""
    import dataclasses

    from PyQt6.QtCore import Qt

    window = fresh_window("lenet5")
    window.show()
    settle(app, 0.3)
    controller = window.training_panel.controller
    for lr in lrs:
        config = dataclasses.replace(window.state.training_config, lr=lr, epochs=1)
        controller.start(config)
        deadline = time.monotonic() + 300
        while controller.running and time.monotonic() < deadline:
            settle(app, 0.2)
    dock = window.docks["runsDock"]
    dock.raise_()
    window.resizeDocks([dock], [820], Qt.Orientation.Horizontal)
    # the editor keeps what is left: its palette and inspector folded, the network fitted (unfolded,
    # the 820 px dock left its second column cut off)
    window.editor.fold_side_column()
    settle(app, 0.5)
    window.menus.fit_action.trigger()
    window.runs_panel.select([r.number for r in window.state.runs])
    return window


def _moved_folder_project() -> tuple[str, str]:
    """(project, folder's new place): lenet5 trained 1 epoch by the CLI on a 3-class image folder
    (grayscale, 0.2 split), the folder then moved away (issue 13, the project's data)."""
    import shutil
    import tempfile
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from cnnstudio.cli import main as cli_main

    root = Path(tempfile.mkdtemp()) / "shapes"
    rng = np.random.default_rng(3)
    for ci, cls in enumerate(["circle", "square", "triangle"]):
        (root / cls).mkdir(parents=True)
        for i in range(20):
            a = np.zeros((28, 28, 3), np.uint8)
            a[..., ci] = 200
            a[4 + ci * 6:10 + ci * 6, 4:24] = rng.integers(0, 255, (6, 20, 3))
            Image.fromarray(a).save(root / cls / f"{i:03d}.png")
    project = str(root.parent / "shapes.cnnproj")
    cli_main(["train", "lenet5", "--data", str(root), "--grayscale", "--classes", "auto", "--epochs", "1",
              "--val-fraction", "0.2", "--out", project])
    moved = root.parent / "moved" / "shapes"
    moved.parent.mkdir()
    shutil.move(str(root), str(moved))
    return project, str(moved)


def scene_locate_data(app: QApplication) -> QWidget:
    """A project whose image folder moved: the dialog asking where it is, saying what it expects."""
    project, _moved = _moved_folder_project()
    window = fresh_window("lenet5")
    window.show()
    window.open_path(project)
    settle(app, 1.0)
    dialog = window.dataset_browser.locate_dialog
    return dialog if dialog is not None else window


def scene_data_missing(app: QApplication) -> QWidget:
    """The same project after "Continue without data": the Dataset dock says the data is missing."""
    from PyQt6.QtCore import Qt

    project, _moved = _moved_folder_project()
    window = fresh_window("lenet5")
    window.show()
    window.open_path(project)
    settle(app, 1.0)
    dialog = window.dataset_browser.locate_dialog
    if dialog is not None:
        dialog.reject()
    dock = window.docks["datasetDock"]
    dock.raise_()
    window.resizeDocks([dock], [700], Qt.Orientation.Horizontal)
    return window


def scene_help_buttons(app: QApplication) -> QWidget:
    """lenet5 with its first Conv2D selected and the Plots dock up: the "?" on cards, palette rows,
    inspector rows and plots (issue 12)."""
    window = fresh_window("lenet5")
    window.show()
    settle(app, 0.5)
    window.editor.select(0)
    window.docks["plotsDock"].raise_()
    return window


def _teacher_window(app: QApplication):
    from cnnstudio.project.teacher_layout import make

    window = fresh_window("lenet5")
    window.show()
    settle(app, 0.5)
    window.state.workspace.set_teacher_layout(make(["panel.evaluation", "panel.dataset", "panel.runs",
                                                    "editor.problems", "setting.optimizer", "setting.schedule",
                                                    "setting.weight_decay", "setting.backend", "setting.workers",
                                                    "setting.seed"]))
    window.teaching.apply(window.state.workspace.teacher_layout)
    return window


def scene_teacher_dialog(app: QApplication) -> QWidget:
    """View > Teacher layout...: the panels and controls to hide, the stored choice ticked (issue 12)."""
    window = _teacher_window(app)
    dialog = window.teaching.open_dialog()
    settle(app, 0.3)
    return dialog


def scene_teacher_applied(app: QApplication) -> QWidget:
    """A project opened with its teacher's layout: fewer panels and training settings, and the
    status bar's "show all controls" (issue 12)."""
    window = _teacher_window(app)
    window.docks["trainingDock"].raise_()
    return window


def scene_training_process(app: QApplication) -> QWidget:
    """mini-vgg training in a process of its own (issue 15, speed): the training panel with its
    Workers setting (auto: one per core) and the curves moving, the feature maps dock showing the
    live weights the child sends: docs/screenshot-training-process.png."""
    from PyQt6.QtWidgets import QScrollArea

    # 40 batches and a health card up (it makes the panel taller: scroll to Workers after it came)
    window = _training_window(app, "mini-vgg", 260, 3, lambda panel: _steps(panel) >= 40 and bool(panel.health.cards))
    panel = window.training_panel

    settle(app, 0.3)
    parent = panel.workers.parentWidget()
    while parent is not None:   # the dock scrolls: show the form's last row, Workers
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(panel.workers)
        parent = parent.parentWidget()
    return window


SCENES: dict[str, Callable[[QApplication], QWidget]] = {
    "training_process": scene_training_process,
    "help_buttons": scene_help_buttons,
    "teacher_dialog": scene_teacher_dialog,
    "teacher_applied": scene_teacher_applied,
    "locate_data": scene_locate_data,
    "data_missing": scene_data_missing,
    "runs": scene_runs,
    "confusion": scene_confusion,
    "datasets": scene_datasets,
    "draw_look": scene_draw_look,
    "small_window": scene_small_window,
    "feature_maps": scene_feature_maps,
    "graph": scene_graph,
    "editor": scene_editor,
    "training": scene_training,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", choices=sorted(SCENES))
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds to wait before grabbing")
    args = parser.parse_args(argv)
    from cnnstudio.gui.app import make_app

    app = make_app()
    widget = SCENES[args.scene](app)
    widget.show()
    settle(app, args.settle)
    if not widget.grab().save(args.out):
        print(f"could not write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({widget.width()}x{widget.height()})")
    widget.close() if not hasattr(widget, "ask_unsaved") else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
