"""Teacher layout: a teacher hides panels and controls and saves the project; a student who opens it
gets that layout, with a visible way to show everything again; a hostile layout field is refused."""

from __future__ import annotations

import json
import zipfile

import pytest
from PyQt6.QtCore import QSettings, Qt

from cnnstudio.gui.main_window import DISCARD, MainWindow
from cnnstudio.gui.state import AppState

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")
HIDE = ("panel.evaluation", "editor.palette", "setting.lr")


@pytest.fixture
def student(qtbot, tmp_path):
    win = MainWindow(AppState(template="mlp"), settings=QSettings(str(tmp_path / "student.ini"),
                                                                QSettings.Format.IniFormat))
    win.ask_unsaved = lambda: DISCARD
    win.errors = []
    win.show_error = lambda title, text: win.errors.append((title, text))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _hidden(win) -> dict[str, bool]:
    form = win.training_panel.form
    return {"panel.evaluation": win.docks["evaluationDock"].isHidden(),
            "editor.palette": win.editor.layer_palette.isHidden(),
            "setting.lr": form.lr.parentWidget().isHidden(),          # the field and its "?" as one row
            "panel.training": win.docks["trainingDock"].isHidden(),
            "setting.epochs": form.epochs.parentWidget().isHidden()}


def _teacher_saves(qtbot, window, path) -> None:
    dialog = window.teaching.open_dialog()
    for name in HIDE:
        qtbot.mouseClick(dialog.boxes[name], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert window.state.is_dirty() and window.state.workspace.teacher_layout["hidden"] == list(HIDE)
    assert window._save_to(str(path))


def test_saved_layout_is_what_students_open_and_show_all_restores_it(qtbot, window, student, tmp_path):
    path = tmp_path / "class.cnnproj"
    _teacher_saves(qtbot, window, path)
    assert _hidden(window) == dict.fromkeys(_hidden(window), False) | dict.fromkeys(HIDE, True)

    assert not student.teaching.banner.isVisible()
    assert student.open_path(str(path)) and student.errors == []
    expected = {"panel.evaluation": True, "editor.palette": True, "setting.lr": True,
                "panel.training": False, "setting.epochs": False}
    assert _hidden(student) == expected
    assert student.editor.layer_palette.search.isHidden()        # the palette's search field goes with it
    qtbot.waitUntil(student.teaching.banner.isVisible, timeout=3000)
    assert student.teaching.show_all_action.isEnabled()

    qtbot.mouseClick(student.teaching.banner, Qt.MouseButton.LeftButton)   # "Show all controls"
    assert not any(_hidden(student).values())
    assert not student.teaching.banner.isVisible() and not student.teaching.show_all_action.isEnabled()
    assert student.state.workspace.teacher_layout["hidden"] == list(HIDE)  # the project keeps its layout

    assert student.open_path(str(path))                                    # opened again: as saved
    assert _hidden(student) == expected
    student.teaching.show_all_action.trigger()                             # View > Show all controls
    assert not any(_hidden(student).values())

    student.open_path(str(path))
    student.new_from_template("lenet5")                                    # another project: no layout
    assert not any(_hidden(student).values())


def test_dialog_shows_the_stored_choice_and_unticking_all_clears_it(qtbot, window, tmp_path):
    _teacher_saves(qtbot, window, tmp_path / "a.cnnproj")
    dialog = window.teaching.open_dialog()
    assert dialog.chosen() == list(HIDE)
    for name in HIDE:
        dialog.boxes[name].setChecked(False)
    dialog.accept()
    assert window.state.workspace.teacher_layout is None and not any(_hidden(window).values())


def test_a_hostile_layout_field_is_refused_clearly(qtbot, window, student, tmp_path):
    path = tmp_path / "hostile.cnnproj"
    _teacher_saves(qtbot, window, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["project.json"])
    doc["teacher_layout"] = {"format": 1, "hidden": ["panel.plots", "<script>" * 50]}
    members["project.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert not student.open_path(str(path))
    (title, text), = student.errors
    assert title == "Cannot open project"
    assert "teacher_layout.hidden[1]" in text and "is not a panel or control this app can hide" in text
    assert "Remove the teacher_layout entry" in text
    assert not any(_hidden(student).values())          # nothing was applied


def test_the_remembered_window_layout_does_not_keep_a_projects_hidden_docks(qtbot, window, settings, tmp_path):
    _teacher_saves(qtbot, window, tmp_path / "a.cnnproj")
    window.save_layout()                                   # what closing the window does
    assert window.docks["evaluationDock"].isHidden()       # still hidden in this session
    later = MainWindow(AppState(template="lenet5"), settings=settings)   # the next start, another project
    later.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(later)
    later.show()
    qtbot.waitExposed(later)
    assert not later.docks["evaluationDock"].isHidden()


def test_hidden_palette_leaves_the_inspector_at_the_top_of_the_column(qtbot, window):
    """QA: with the block palette hidden, "Select a block" floated in the middle of the left column
    (the palette's empty box kept its height); it sits at the top, and the palette comes back."""
    from PyQt6.QtCore import QPoint

    from cnnstudio.project.teacher_layout import make
    from tests.gui.qtwait import settle

    editor = window.editor
    editor.select(-2)
    palette_top = editor.layer_palette.mapTo(editor.left_split, QPoint(0, 0)).y()
    window.teaching.apply(make(["editor.palette"]))
    settle(editor.left_split, editor.inspector.title)
    assert editor.inspector.title.isVisible() and editor.inspector.title.text() == "Select a block"
    assert editor.inspector.description.text() == "Click a card to see and change its settings."   # was empty at start
    title_top = editor.inspector.title.mapTo(editor.left_split, QPoint(0, 0)).y()
    assert title_top <= palette_top + editor.inspector.title.height(), title_top

    window.teaching.show_all()
    settle(editor.left_split, editor.layer_palette)
    assert editor.layer_palette.isVisible() and editor.layer_palette.search.isVisible()
    assert editor.inspector.title.mapTo(editor.left_split, QPoint(0, 0)).y() > editor.layer_palette.height()
