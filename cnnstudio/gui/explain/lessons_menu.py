"""The Lessons menu: each lesson opens its ready-made project and its text, with a button that
shows the worked example's cell in the Explain view (the text's numbers, computed by the engine)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QDockWidget, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cnnstudio.gui.explain.glossary import help_button
from cnnstudio.gui.explain.view import open_explain
from cnnstudio.project import lessons, session


class LessonDialog(QDialog):
    """The lesson's text; "Explain the worked example" opens its first quoted cell."""

    def __init__(self, item: lessons.Lesson, parent: QWidget | None = None):
        super().__init__(parent)
        self.item = item
        self.explain_dialog: Any = None
        self.setWindowTitle(f"Lesson: {item.title}")
        text = QLabel("".join(f"<p>{p}</p>" for p in item.text))
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)   # not centred under a gap
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = text
        self.explain_button = QPushButton("Explain the worked example")
        self.explain_button.setVisible(bool(item.checks))
        self.explain_button.clicked.connect(self.explain)
        buttons = QHBoxLayout()
        buttons.addWidget(help_button("lessons"))
        buttons.addStretch(1)
        buttons.addWidget(self.explain_button)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<h3>{item.title}</h3>"))
        layout.addWidget(text, 1)
        layout.addLayout(buttons)
        self.resize(560, 320)

    def explain(self) -> None:
        check = self.item.checks[0]
        project = lessons.load_project(self.item)
        net = session.build_with_weights(project.network, project.weights)
        image = self.item.image()
        assert image is not None   # lessons with checks have an image (tests/project/test_explain_lessons.py)
        x = project.network.input.prepare(image[None])[0]
        self.explain_dialog = open_explain(self.parentWidget(), net, x, int(check["layer"]) - 1,
                                           tuple(check["at"]), caption=self.item.title)


class LessonsMenu:
    """Adds "Lessons" to ``window``'s menu bar; a lesson opens a copy of its project (saving it never
    touches the shipped file) and its text."""

    def __init__(self, window: Any):
        self.window = window
        self.dialog: LessonDialog | None = None
        self.menu = window.menuBar().addMenu("&Lessons")
        for item in lessons.lessons():
            action = self.menu.addAction(item.title)
            action.triggered.connect(lambda _=False, slug=item.slug: self.open(slug))

    def open(self, slug: str) -> LessonDialog | None:
        item = lessons.lesson(slug)
        copy = Path(tempfile.mkdtemp(prefix="cnnstudio-lesson-")) / f"{slug}.cnnproj"
        shutil.copyfile(item.project_path, copy)
        if not self.window.open_path(str(copy)):
            return None
        self.show_example_image(item)
        self.dialog = LessonDialog(item, self.window)
        self.dialog.show()
        return self.dialog

    def show_example_image(self, item: lessons.Lesson) -> None:
        """Put the lesson's worked-example image in the Feature maps panel and bring that panel to the
        front, so a click on a map cell (as the text asks) explains the text's numbers; before, the
        panel kept showing a validation digit shrunk to the lesson's input (1213 where the text says 149)."""
        inspector = getattr(self.window, "inspector", None)   # the feature maps' sample (gui.inside)
        if item.image_path is None or inspector is None:
            return
        inspector.set_image_file(str(item.image_path), lesson=True)   # it stays with the lesson's project
        dock = self.window.findChild(QDockWidget, "featureMapsDock")
        if dock is not None and not dock.isHidden():   # a teacher's layout may have hidden it
            dock.raise_()
