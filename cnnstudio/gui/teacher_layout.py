"""The teacher's simplified layout, and the "?"s on the panels' plots (issue 12's teaching controls).

A teacher picks panels and controls to hide (View > Teacher layout...); they are stored in the
project (``project.teacher_layout``: a small validated field of project.json) and hidden at once.
Whoever opens the project gets that layout; View > Show all controls, or the button in the status
bar, shows everything again for this session without changing what the project stores.

Names map to widgets here only (the catalogue itself is plain data in ``project.teacher_layout``):
a dock per ``panel.*``, the editor's parts per ``editor.*``, a training form row per ``setting.*``.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDockWidget, QFormLayout, QGridLayout, QGroupBox,
                             QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from cnnstudio.gui.explain.glossary import help_button
from cnnstudio.gui.explain.plot_help import install_plot_help
from cnnstudio.project import teacher_layout as catalogue

#: the dock of each panel name (MainWindow.DOCKS' object names; the Runs dock adds itself)
DOCKS = {
    "panel.training": "trainingDock", "panel.plots": "plotsDock", "panel.feature_maps": "featureMapsDock",
    "panel.draw": "drawingDock", "panel.evaluation": "evaluationDock", "panel.dataset": "datasetDock",
    "panel.runs": "runsDock",
}
EDITOR_PARTS = {"editor.palette": ("layer_palette", "search"), "editor.inspector": ("inspector",),
                "editor.problems": ("problems",)}


class TeacherLayout(QObject):
    """Applies the open project's teacher layout to ``window`` (a MainWindow) and offers the dialog
    and "Show all controls". ``hidden``: the names hidden now (empty: everything shown)."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.workspace = window.state.workspace
        self.hidden: list[str] = []
        menu = window.menus.view_menu
        menu.addSeparator()
        self.edit_action = menu.addAction("&Teacher layout: hide panels and controls...")
        self.edit_action.triggered.connect(self.open_dialog)
        self.show_all_action = menu.addAction("Show &all controls")
        self.show_all_action.triggered.connect(self.show_all)
        self.banner = QPushButton("Simplified layout: show all controls")
        self.banner.setObjectName("showAllControls")
        self.banner.setToolTip("The teacher hid some panels and controls of this project; this shows them "
                               "again (the project keeps its layout)")
        self.banner.clicked.connect(self.show_all)
        window.statusBar().addPermanentWidget(self.banner)
        self.dialog: TeacherLayoutDialog | None = None
        # the dock layout the window remembers for the next start must not keep a project's hidden
        # docks: the next project would open with panels missing and no "show all" to bring them back
        self._save_layout = window.save_layout
        window.save_layout = self.save_layout_shown
        self._sync()
        # New / Open replace the project: its layout, or none (events.document fires on exactly those)
        self.workspace.events.document.connect(lambda _event: self.apply(self.workspace.teacher_layout))

    # ---- names -> widgets ------------------------------------------------------
    def widgets(self, name: str) -> list[QWidget]:
        """What hiding ``name`` hides in this window ([] where the window has no such part)."""
        window = self.window
        if name in DOCKS:
            dock = window.findChild(QDockWidget, DOCKS[name])
            return [dock] if dock is not None else []
        if name in EDITOR_PARTS:
            first, *more = EDITOR_PARTS[name]
            part = getattr(window.editor, first, None)
            found = [part] + [getattr(part, extra, None) for extra in more]
            return [w for w in found if isinstance(w, QWidget)]
        if name.startswith("setting."):
            form = getattr(getattr(window, "training_panel", None), "form", None)
            widget = getattr(form, name.removeprefix("setting."), None)
            return [widget] if isinstance(widget, QWidget) else []
        return []

    def available(self) -> list[str]:
        """The catalogue's names this window has a part for, in the catalogue's order."""
        return [name for name in catalogue.KNOWN if self.widgets(name)]

    # ---- applying ----------------------------------------------------------------
    def apply(self, layout: dict[str, Any] | None) -> None:
        """Show everything, then hide what ``layout`` (``project.teacher_layout`` form) names."""
        self.show_all()
        names = [] if layout is None else list(layout["hidden"])
        for name in names:
            for widget in self.widgets(name):
                _set_shown(widget, False)
        self.hidden = [name for name in names if self.widgets(name)]
        self._sync()

    def show_all(self) -> None:
        """Show every part the layout hid (this session only: the project keeps its layout)."""
        for name in self.hidden:
            for widget in self.widgets(name):
                _set_shown(widget, True)
        self.hidden = []
        self._sync()

    def save_layout_shown(self) -> None:
        """The window's ``save_layout`` with the docks this layout hides counted as shown."""
        docks = [w for name in self.hidden if name in DOCKS for w in self.widgets(name)]
        for dock in docks:
            dock.show()
        try:
            self._save_layout()
        finally:
            for dock in docks:
                dock.hide()

    def _sync(self) -> None:
        self.banner.setVisible(bool(self.hidden))
        self.show_all_action.setEnabled(bool(self.hidden))

    # ---- the teacher's dialog ------------------------------------------------------
    def open_dialog(self) -> TeacherLayoutDialog:
        self.dialog = TeacherLayoutDialog(self, self.window)
        self.dialog.accepted.connect(self._on_accepted)
        self.dialog.show()
        return self.dialog

    def _on_accepted(self) -> None:
        assert self.dialog is not None
        layout = catalogue.make(self.dialog.chosen())
        self.workspace.set_teacher_layout(layout)   # stored with the project (it is now unsaved)
        self.apply(layout)


class TeacherLayoutDialog(QDialog):
    """A checkbox per panel and control this window has; ticked ones are hidden for students."""

    def __init__(self, layout: TeacherLayout, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Teacher layout")
        stored = layout.workspace.teacher_layout
        hidden = set() if stored is None else set(stored["hidden"])
        have = set(layout.available())
        self.boxes: dict[str, QCheckBox] = {}
        top = QHBoxLayout()
        top.addWidget(QLabel("Tick what students should not see. Save the project afterwards: whoever\n"
                             "opens it gets this layout (View > Show all controls brings everything back)."), 1)
        top.addWidget(help_button("teacher_layout"))
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        groups = QHBoxLayout()
        for title, items in catalogue.GROUPS:
            names = [(name, label) for name, label in items if name in have]
            if not names:
                continue
            box = QGroupBox(title)
            grid = QGridLayout(box)
            rows = (len(names) + 1) // 2 if len(names) > 8 else len(names)
            for k, (name, label) in enumerate(names):
                check = QCheckBox(label)
                check.setObjectName(name)
                check.setChecked(name in hidden)
                self.boxes[name] = check
                grid.addWidget(check, k % rows, k // rows)
            groups.addWidget(box)
        outer.addLayout(groups)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        outer.addWidget(buttons)

    def chosen(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.isChecked()]


def _set_shown(widget: QWidget, shown: bool) -> None:
    """Show or hide ``widget``; a form field (or the field-and-"?" row holding it) with its label."""
    for candidate in (widget, widget.parentWidget()):
        parent = candidate.parentWidget() if candidate is not None else None
        form = parent.layout() if parent is not None else None
        if candidate is not None and isinstance(form, QFormLayout) and form.indexOf(candidate) >= 0:
            form.setRowVisible(candidate, shown)
            return
    widget.setVisible(shown)


def install_teaching(window: Any) -> TeacherLayout:
    """The main window's hook: the "?" on every plot of its panels, and the teacher layout."""
    window.plot_help, window.plot_help_missing = install_plot_help(window)
    return TeacherLayout(window)
