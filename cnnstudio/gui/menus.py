"""File and Edit menus of the main window (actions, shortcuts, recent files)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QInputDialog, QMenu, QMessageBox

from cnnstudio.model.templates import TEMPLATES

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow

MAX_RECENT = 8


def template_names() -> list[str]:
    return list(TEMPLATES)


def _document_text(document: Any, name: str) -> str:
    """The document's description of the next undo/redo step ("" when unknown)."""
    value = getattr(document, f"{name}_text", "")
    value = value() if callable(value) else value
    return value or ""


def _document_can(document: Any, name: str) -> bool:
    value = getattr(document, f"can_{name}", True)
    return bool(value() if callable(value) else value)


def _made(menu: QMenu | None) -> QMenu:
    """addMenu's new menu: PyQt6's stubs say Optional, but addMenu(title) always returns the menu it made."""
    assert menu is not None
    return menu


class FileMenus:
    """Builds File and Edit menus on ``window`` and keeps their enabled state and texts current."""

    def __init__(self, window: "MainWindow"):
        self.window = window
        bar = window.menuBar()
        self.file_menu = _made(bar.addMenu("&File"))
        self.new_action = self._action(self.file_menu, "&New...", self.new_dialog, QKeySequence.StandardKey.New)
        self.template_menu = _made(self.file_menu.addMenu("New from &template"))
        for name in template_names():
            action = self.template_menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: window.new_from_template(n))
        self.open_action = self._action(self.file_menu, "&Open...", lambda: window.open_path(),
                                        QKeySequence.StandardKey.Open)
        self.recent_menu = _made(self.file_menu.addMenu("Open &recent"))
        self.file_menu.addSeparator()
        self.save_action = self._action(self.file_menu, "&Save", window.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(self.file_menu, "Save &as...", window.save_as,
                                           QKeySequence.StandardKey.SaveAs)
        self.file_menu.addSeparator()
        self.quit_action = self._action(self.file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
        from cnnstudio.gui.export_actions import ExportMenus   # File > Export / Import

        self.exports = ExportMenus(window, self.file_menu, before=self.quit_action)

        self.edit_menu = _made(bar.addMenu("&Edit"))
        self.undo_action = self._action(self.edit_menu, "&Undo", self.undo, QKeySequence("Ctrl+Z"))
        self.redo_action = self._action(self.edit_menu, "&Redo", self.redo, QKeySequence("Ctrl+Shift+Z"))
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])  # Linux/macOS, Windows
        self.edit_menu.addSeparator()
        self.delete_action = self._action(self.edit_menu, "&Delete block", window.editor.delete_selected,
                                          QKeySequence(QKeySequence.StandardKey.Delete))
        self.duplicate_action = self._action(self.edit_menu, "D&uplicate block", window.editor.duplicate_selected,
                                             QKeySequence("Ctrl+D"))
        self.skip_action = self._action(self.edit_menu, "Add s&kip connection...", window.editor.add_skip_connection,
                                        QKeySequence("Ctrl+K"))
        self.view_menu = _made(bar.addMenu("&View"))
        for dock in window.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
        self._docks_end = self.view_menu.addSeparator()
        # docks panels add after the menus (Runs) get their line too, when the menu opens
        self.view_menu.aboutToShow.connect(self._list_every_dock)
        self.draw_look_action = self._action(self.view_menu, "Draw && &look (canvas beside the feature maps)",
                                             window.draw_and_look)
        self.reset_layout_action = self._action(self.view_menu, "&Reset layout", window.reset_layout)
        self.view_menu.addSeparator()
        editor = window.editor
        self.fit_action = self._action(self.view_menu, "Zoom to &fit (the whole network)", editor.zoom_to_fit,
                                       QKeySequence("Ctrl+0"))
        self.zoom_in_action = self._action(self.view_menu, "Zoom &in", editor.zoom_in,
                                           QKeySequence(QKeySequence.StandardKey.ZoomIn))
        self.zoom_out_action = self._action(self.view_menu, "Zoom &out", editor.zoom_out,
                                            QKeySequence(QKeySequence.StandardKey.ZoomOut))
        from cnnstudio.gui.explain.lessons_menu import LessonsMenu

        self.lessons = LessonsMenu(window)
        self.help_menu = _made(bar.addMenu("&Help"))
        self.about_action = self._action(self.help_menu, "&About CNN Studio (what it runs on)...", self.show_about)
        self.about_box: QMessageBox | None = None
        window.state.networkChanged.connect(self.update_actions)
        window.state.trainingStateChanged.connect(lambda _running: self.update_actions())
        self._fill_recent()

    def about_text(self) -> str:
        """Help > About: the version and what the engine runs on (``cnnstudio info``), with its notes."""
        from cnnstudio.engine import sysinfo

        return "\n".join(sysinfo.report_lines(sysinfo.report()))

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About CNN Studio",
                          "CNN Studio: design convolutional networks, watch them learn, see why they work.",
                          QMessageBox.StandardButton.Close, self.window)
        box.setInformativeText(self.about_text())
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.about_box = box
        box.open()   # not exec(): the app goes on (training keeps drawing) while it is open

    def _list_every_dock(self) -> None:
        listed = set(self.view_menu.actions())
        for dock in self.window.docks.values():
            if dock.toggleViewAction() not in listed:
                self.view_menu.insertAction(self._docks_end, dock.toggleViewAction())

    def _action(self, menu: QMenu, text: str, slot, shortcut: Any = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    # ---- new ----------------------------------------------------------------
    def ask_template(self) -> str | None:
        names = template_names()
        name, ok = QInputDialog.getItem(self.window, "New project", "Start from template:", names, 0, False)
        return name if ok else None

    def new_dialog(self) -> None:
        name = self.ask_template()
        if name:
            self.window.new_from_template(name)

    # ---- undo / redo ------------------------------------------------------------
    def undo(self) -> None:
        doc = self.window.state.document
        if not getattr(doc, "read_only", False) and _document_can(doc, "undo"):
            doc.undo()

    def redo(self) -> None:
        doc = self.window.state.document
        if not getattr(doc, "read_only", False) and _document_can(doc, "redo"):
            doc.redo()

    def update_actions(self) -> None:
        doc = self.window.state.document
        editable = not getattr(doc, "read_only", False)
        undo_text, redo_text = _document_text(doc, "undo"), _document_text(doc, "redo")
        self.undo_action.setText("&" + (undo_text or "Undo"))
        self.redo_action.setText("&" + (redo_text or "Redo"))
        self.undo_action.setEnabled(editable and _document_can(doc, "undo"))
        self.redo_action.setEnabled(editable and _document_can(doc, "redo"))
        for action in (self.delete_action, self.duplicate_action, self.skip_action, self.template_menu.menuAction(),
                       self.new_action, self.open_action):
            action.setEnabled(editable)

    # ---- recent files ---------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.window.settings.value("recentFiles", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        self.window.settings.setValue("recentFiles", files[:MAX_RECENT])
        self._fill_recent()

    def remove_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        self.window.settings.setValue("recentFiles", [p for p in self.recent_files() if p != path])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.window.open_path(p))
        self.recent_menu.setEnabled(bool(files))
