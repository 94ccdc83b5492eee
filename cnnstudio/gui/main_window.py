"""The main window: the network editor in the centre, panels in docks around it.

Menus and the status bar are views of AppState like every other widget. The
questions the window asks (unsaved changes, file names) go through small
methods (``ask_unsaved``, ``ask_open_path``, ``ask_save_path``, ``show_error``)
so tests can answer them by monkeypatching.
"""

from __future__ import annotations

import os

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QCloseEvent, QResizeEvent, QShowEvent
from PyQt6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QScrollArea,
                             QWidget)

from cnnstudio.gui import layouts
from cnnstudio.gui.editor.editor import NetworkEditor
from cnnstudio.gui.menus import FileMenus
from cnnstudio.gui.state import AppState

#: (object name, title, area) of every dock; panels replace the placeholders.
#: All tabbed on the right by default so the editor keeps the full height at 1280x800;
#: people can drag them anywhere and the layout is remembered (View > Reset layout: gui.layouts).
DOCKS = [
    ("trainingDock", "Training", Qt.DockWidgetArea.RightDockWidgetArea),
    ("plotsDock", "Plots", Qt.DockWidgetArea.RightDockWidgetArea),
    ("featureMapsDock", "Feature maps", Qt.DockWidgetArea.RightDockWidgetArea),
    ("drawingDock", "Draw", Qt.DockWidgetArea.RightDockWidgetArea),
    ("evaluationDock", "Evaluation", Qt.DockWidgetArea.RightDockWidgetArea),
    ("datasetDock", "Dataset", Qt.DockWidgetArea.RightDockWidgetArea),
]
DOCK_WIDTH = layouts.DOCK_WIDTH
PROJECT_FILTER = "CNN Studio projects (*.cnnproj);;All files (*)"
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
STALE_WEIGHTS_NOTE = ("Saved without the trained weights: they belong to the network as it was before "
                      "your edits. Train again to get weights for this network.")


class MainWindow(QMainWindow):
    """Editor in the centre; training, plots, feature maps, drawing, evaluation, dataset docks.

    ``settings``: where geometry, dock layout and recent files live (tests pass their own).
    """

    def __init__(self, state: AppState | None = None, parent: QWidget | None = None,
                 settings: QSettings | None = None):
        super().__init__(parent)
        self.state = state if state is not None else AppState(self)
        self.settings = settings if settings is not None else QSettings()
        self.setWindowTitle("CNN Studio")
        self.resize(1280, 800)
        self.docks: dict[str, QDockWidget] = {}
        #: the dock width the default layout set, while no dock edge was dragged since (gui.layouts)
        self.followed_dock_width: int | None = None
        self.editor = NetworkEditor(self.state)
        self.setCentralWidget(self.editor)
        self._make_docks()
        self.menus = FileMenus(self)
        self._make_status_bar()

        # --- panels: each GUI engineer adds one line here ---
        from cnnstudio.gui.training.panel import TrainingPanel  # noqa: E402 - panel (G2): training + plots
        self.training_panel = TrainingPanel(self.state, window=self); self.set_dock_widget("trainingDock", self.training_panel); self.set_dock_widget("plotsDock", self.training_panel.plots)  # noqa: E702
        from cnnstudio.gui.inside import install_inside_panels  # noqa: E402 - panels (G3): feature maps + drawing
        self.inspector = install_inside_panels(self)
        from cnnstudio.gui.evaluation import install_evaluation_panel  # noqa: E402 - panel (G4): evaluation
        self.evaluation_panel = install_evaluation_panel(self)
        from cnnstudio.gui.datasets import install_dataset_panel  # noqa: E402 - panel (G4): dataset browser
        self.dataset_browser = install_dataset_panel(self)
        from cnnstudio.gui.runs import install_runs_panel  # noqa: E402 - panel: every training run, compared
        self.runs_panel = install_runs_panel(self)
        # e.g. self.set_dock_widget("trainingDock", TrainingPanel(self.state))
        from cnnstudio.gui.teacher_layout import install_teaching  # noqa: E402 - "?" on the plots, teacher layout
        self.teaching = install_teaching(self)
        # --- end of panels ---

        self.state.networkChanged.connect(self._update_status)
        self.state.projectChanged.connect(self._update_title)
        self.state.trainingStateChanged.connect(self._note_slow_kernels)
        self.slow_kernels_noted = False
        self.editor.viewChanged.connect(self._update_status)
        self._update_status()
        self._update_title()
        # no remembered layout: the default one at the first show, sized to the window as shown
        self._default_layout_pending = not self.restore_layout()
        # the Draw dock opens into "Draw & look" while the Feature maps dock waits behind its tab
        self.docks[layouts.DRAW].visibilityChanged.connect(self._on_draw_visibility)
        for dock in self.docks.values():   # a dock dragged into a new tab group: whole tab titles there too
            dock.dockLocationChanged.connect(lambda _area: QTimer.singleShot(0, lambda: layouts.unelide_tabs(self)))

    # ---- docks --------------------------------------------------------------
    def _make_docks(self) -> None:
        first_in_area: dict[Qt.DockWidgetArea, QDockWidget] = {}
        for name, title, area in DOCKS:
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(QLabel(f"{title} (coming soon)"))
            self.addDockWidget(area, dock)
            if area in first_in_area:
                self.tabifyDockWidget(first_in_area[area], dock)
            else:
                first_in_area[area] = dock
            self.docks[name] = dock
        for dock in first_in_area.values():
            dock.raise_()
        self.resizeDocks([self.docks["trainingDock"]], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def set_dock_widget(self, name: str, widget: QWidget) -> None:
        """Put a panel into the dock called ``name`` (one of DOCKS), replacing the placeholder.

        The panel sits in a scroll area: tabbed docks share one width, so one wide panel
        would otherwise squeeze the editor at 1280x800. ``panel(name)`` returns it.
        """
        if name not in self.docks:
            raise KeyError(f"No dock named {name!r}; the docks are: {', '.join(self.docks)}")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        self.docks[name].setWidget(scroll)
        self.resizeDocks([self.docks[name]], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def panel(self, name: str) -> QWidget | None:
        """The panel widget shown in dock ``name`` (None while it holds the placeholder)."""
        scroll = self.docks[name].widget()
        return scroll.widget() if isinstance(scroll, QScrollArea) else None

    # ---- status and title ---------------------------------------------------
    def _make_status_bar(self) -> None:
        self.totals_label = QLabel()
        self.file_label = QLabel()
        self.statusBar().addWidget(self.totals_label, 1)
        self.statusBar().addPermanentWidget(self.file_label)

    def _note_slow_kernels(self, active: bool) -> None:
        """The first time training starts, say so when the BLAS kernels are slower than the
        processor allows (an environment's OPENBLAS_CORETYPE; ``engine.sysinfo``)."""
        if not active or self.slow_kernels_noted:
            return
        self.slow_kernels_noted = True
        from cnnstudio.engine.sysinfo import blas_kernel_hint

        hint = blas_kernel_hint()   # the whole note is too long for the status bar: Help > About has it
        if hint:
            self.statusBar().showMessage(hint, 30_000)

    def _update_status(self) -> None:
        view = self.editor.view
        params = "?" if view.total_params is None else f"{view.total_params:,}"
        macs = "?" if view.multiply_adds is None else f"{view.multiply_adds:,}"
        problems = f"  |  {len(view.problems)} problem(s)" if view.problems else ""
        self.totals_label.setText(f"Total params: {params}  |  Multiply-adds per image: {macs}{problems}")

    def _update_title(self) -> None:
        # unsaved: the template's name while it is still that template, else "untitled" (model.naming)
        name = os.path.basename(self.state.path) if self.state.path else self.state.project_name
        dirty = "*" if self.state.is_dirty() else ""
        self.file_label.setText(f"{self.state.path or 'not saved yet'}{dirty}")
        self.setWindowTitle(f"{name}{dirty} - CNN Studio")
        self.menus.update_actions()

    # ---- questions (monkeypatched in tests) ------------------------------------
    def ask_unsaved(self) -> str:
        """SAVE, DISCARD or CANCEL for unsaved changes."""
        answer = QMessageBox.question(
            self, "Unsaved changes", "The project has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: SAVE, QMessageBox.StandardButton.Discard: DISCARD}.get(answer, CANCEL)

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._last_dir(), PROJECT_FILTER)
        return path or None

    def ask_save_path(self) -> str | None:
        suggested = os.path.join(self._last_dir(), f"{self.state.project_name}.cnnproj")   # named as shown
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", suggested, PROJECT_FILTER)
        if path and not os.path.splitext(path)[1]:
            path += ".cnnproj"
        return path or None

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.critical(self, title, message)

    def _last_dir(self) -> str:
        return os.path.dirname(self.state.path) if self.state.path else os.path.expanduser("~")

    # ---- file actions ---------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to throw the current project away (saved, discarded or clean)."""
        if not self.state.is_dirty():
            return True
        answer = self.ask_unsaved()
        if answer == SAVE:
            return self.save()
        return answer == DISCARD

    def new_from_template(self, name: str) -> bool:
        if not self.maybe_save():
            return False
        self.state.new_project(name)
        return True

    def open_path(self, path: str | None = None) -> bool:
        """Open ``path`` (or ask); a broken file shows the loader's error and changes nothing."""
        if not self.maybe_save():
            return False
        path = path or self.ask_open_path()
        if not path:
            return False
        try:
            self.state.open(path)
        except Exception as exc:  # the loader names the file and the problem; show it as is
            self.show_error("Cannot open project", str(exc))
            if not os.path.exists(path):  # moved or deleted: no use offering it again
                self.menus.remove_recent(path)
            return False
        self.menus.add_recent(path)
        return True

    def save(self) -> bool:
        if self.state.path is None:
            return self.save_as()
        return self._save_to(self.state.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        return self._save_to(path) if path else False

    def _save_to(self, path: str) -> bool:
        stale_weights = not self.state.weights_fit()
        try:
            self.state.save(path)
        except Exception as exc:  # disk full, permissions: say so, keep the project open
            self.show_error("Cannot save project", str(exc))
            return False
        self.menus.add_recent(path)
        if stale_weights:
            self.statusBar().showMessage(STALE_WEIGHTS_NOTE, 15_000)
        return True

    # ---- layouts ------------------------------------------------------------------
    def reset_layout(self) -> None:
        """View > Reset layout: the default docks and splitters (and that is what is remembered)."""
        self._default_layout_pending = False
        layouts.apply_default(self)
        self.save_layout()

    def draw_and_look(self) -> None:
        """View > Draw & look: the drawing canvas beside the feature maps."""
        hidden = self.kept_hidden_docks() & {layouts.DRAW, layouts.MAPS}
        if hidden:
            titles = " and ".join(self.docks[name].windowTitle() for name in sorted(hidden))
            self.statusBar().showMessage(f"Draw & look needs the {titles} panel, which this project's teacher "
                                         "layout hides: View > Show all controls shows it.", 10_000)
            return
        layouts.apply_draw_and_look(self)

    def kept_hidden_docks(self) -> set[str]:
        """Object names of the docks the project's teacher layout hides: arrangements leave them hidden
        (View > Show all controls brings them back, in their place)."""
        teaching = getattr(self, "teaching", None)
        names: set[str] = set()
        for name in getattr(teaching, "hidden", []):
            for widget in teaching.widgets(name) if teaching is not None else []:
                if isinstance(widget, QDockWidget):
                    names.add(widget.objectName())
        return names

    def _on_draw_visibility(self, visible: bool) -> None:
        if visible:  # after the tab switch is done: re-splitting inside it confuses the tab bar
            QTimer.singleShot(0, self._maybe_draw_and_look)

    def _maybe_draw_and_look(self) -> None:
        if layouts.draw_needs_look(self) and not self.kept_hidden_docks() & {layouts.DRAW, layouts.MAPS}:
            layouts.apply_draw_and_look(self)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        QTimer.singleShot(0, lambda: layouts.follow_window_width(self))   # once the docks have their new size

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._default_layout_pending:
            self._default_layout_pending = False
            layouts.apply_default(self)
        layouts.unelide_tabs(self)

    # ---- layout persistence -------------------------------------------------------
    def restore_layout(self) -> bool:
        """Geometry and docks as last saved; False when there was no saved dock layout."""
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        return state is not None and bool(self.restoreState(state))

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        event.accept()
