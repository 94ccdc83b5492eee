"""Retake the Explain screenshots in docs/ (run under Xvfb at 1280x800):

    .venv/bin/cnnstudio train lenet5 --epochs 2 --out /tmp/lenet5.cnnproj
    HOME=$(mktemp -d) xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python scripts/explain_screenshots.py /tmp/lenet5.cnnproj

Writes docs/screenshot-explain-conv.png (a Conv2D cell of lenet5 on a drawn digit),
docs/screenshot-lesson-149.png (the Convolution by hand lesson) and
docs/screenshot-gradcam-mistake.png (saliency for a misclassified validation image).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QPoint
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent.parent / "docs"


def settle(app: QApplication, ms: int = 400) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        QTest.qWait(20)


def main(project: str) -> None:
    app = QApplication(sys.argv)
    from cnnstudio.gui.evaluation.panel import EvaluationPanel
    from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
    from cnnstudio.gui.inside.drawing_panel import DrawingPanel
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    # 1. a drawn 7, a cell of the first Conv2D on its stroke
    state = AppState()
    state.open(project)
    inspector = Inspector(state)
    draw = DrawingPanel(inspector)
    maps = FeatureMapsPanel(inspector)
    draw.resize(700, 420)
    draw.show()
    settle(app)
    draw.canvas.draw_stroke([(60, 60), (140, 58), (220, 60), (190, 120), (160, 180), (140, 240)], 22)
    draw.update_drawing()
    inspector.refresh_now()
    act = inspector.activations[1]   # row 1: layer 1's maps
    k, r, c = np.unravel_index(int(np.argmax(act[:, 4:-4, 4:-4])), act[:, 4:-4, 4:-4].shape)
    maps.open_tile(1, int(k))
    maps.explain_cell(1, int(k), int(r) + 4, int(c) + 4)
    dialog = maps.explain_dialog
    dialog.resize(1240, 760)
    settle(app, 800)
    dialog.grab().save(str(DOCS / "screenshot-explain-conv.png"))
    dialog.close()

    # 2. the Convolution by hand lesson, opened from the Lessons menu in the app
    win = MainWindow(AppState())
    win.ask_unsaved = lambda: DISCARD
    win.setGeometry(0, 0, 1280, 800)
    win.show()
    settle(app, 800)
    lesson = win.menus.lessons.open("convolution-by-hand")
    lesson.move(QPoint(30, 430))
    lesson.resize(490, 330)
    lesson.explain_button.click()
    explain = lesson.explain_dialog
    explain.setGeometry(520, 60, 740, 700)
    settle(app, 1200)
    app.primaryScreen().grabWindow(0).save(str(DOCS / "screenshot-lesson-149.png"))
    explain.close()
    lesson.close()

    # 3. Grad-CAM for a mistake, from the evaluation gallery
    panel = EvaluationPanel(state)
    panel.resize(600, 800)
    panel.show()
    panel.evaluate(asked=True)
    deadline = time.monotonic() + 60
    while panel.result is None and time.monotonic() < deadline:
        settle(app, 100)
    r = panel.result
    wrong = np.flatnonzero(r.predicted != r.y)
    conf = r.probs[wrong, r.predicted[wrong]]
    pick = int(wrong[np.argmax(conf)])   # the most confident mistake
    panel.show_example(pick)
    panel.why_button.click()
    why = panel.saliency_dialog
    why.resize(900, 700)
    settle(app, 1000)
    why.grab().save(str(DOCS / "screenshot-gradcam-mistake.png"))
    win.close()


if __name__ == "__main__":
    main(sys.argv[1])
