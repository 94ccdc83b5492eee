"""Main window: docks, files (save/open/corrupt), unsaved-changes prompt, menus, remembered layout."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QLabel

from cnnstudio.gui import main_window as mw
from cnnstudio.gui.editor import edits
from cnnstudio.gui.main_window import CANCEL, DISCARD, SAVE, MainWindow
from cnnstudio.model import get_template

DOCK_NAMES = ["trainingDock", "plotsDock", "featureMapsDock", "drawingDock", "evaluationDock", "datasetDock",
              "runsDock"]   # the Runs panel adds its own dock (gui.runs)


def test_docks_exist_and_take_panels(window):
    assert sorted(window.docks) == sorted(DOCK_NAMES)
    for name in DOCK_NAMES:
        assert window.findChild(type(window.docks[name]), name) is window.docks[name]
    label = QLabel("panel")
    window.set_dock_widget("evaluationDock", label)
    assert window.panel("evaluationDock") is label
    with pytest.raises(KeyError, match="evaluationDock"):
        window.set_dock_widget("noSuchDock", QLabel())


def test_default_size_leaves_the_editor_large(window):
    assert (window.width(), window.height()) == (1280, 800)
    assert window.editor.canvas.viewport().width() >= 440  # two columns of cards


def test_save_and_reopen_gives_the_identical_network(qtbot, window, state, tmp_path):
    edits.append_layer(state.document, "Dropout")
    edits.set_hyperparameter(state.document, 0, "filters", 12)
    expected = state.spec
    path = str(tmp_path / "net.cnnproj")
    window.ask_save_path = lambda: path
    assert window.save()
    assert not state.is_dirty() and window.windowTitle().startswith("net.cnnproj")
    state.new_project("mlp")
    assert state.spec != expected
    assert window.open_path(path)
    assert state.spec == expected
    assert state.path == path and not state.is_dirty()
    assert window.menus.recent_files()[0].endswith("net.cnnproj")


def test_undo_to_the_saved_network_is_clean_again(window, state, tmp_path):
    state.save(str(tmp_path / "a.cnnproj"))
    edits.append_layer(state.document, "ReLU")
    assert state.is_dirty() and window.windowTitle().startswith("a.cnnproj*")
    window.menus.undo_action.trigger()
    assert not state.is_dirty()


def test_opening_a_corrupt_file_shows_the_error_and_changes_nothing(window, state, tmp_path):
    bad = tmp_path / "broken.cnnproj"
    bad.write_bytes(b"this is not a zip file")
    edits.append_layer(state.document, "Dropout")
    before, path_before = state.spec, state.path
    errors = []
    window.show_error = lambda title, message: errors.append(message)
    window.ask_unsaved = lambda: DISCARD
    assert not window.open_path(str(bad))
    assert len(errors) == 1 and "broken.cnnproj" in errors[0]
    assert state.spec == before and state.path == path_before
    assert state.is_dirty()  # the unsaved edit is still there


@pytest.mark.parametrize("answer, closes", [(CANCEL, False), (DISCARD, True)])
def test_unsaved_changes_prompt_on_close(qtbot, window, state, answer, closes):
    edits.append_layer(state.document, "Dropout")
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or answer
    assert window.close() is closes
    assert asked == [1]
    assert window.isVisible() is not closes


def test_unsaved_prompt_save_answer_saves_first(qtbot, window, state, tmp_path):
    edits.append_layer(state.document, "Dropout")
    path = tmp_path / "saved.cnnproj"
    window.ask_unsaved = lambda: SAVE
    window.ask_save_path = lambda: str(path)
    assert window.new_from_template("mlp")
    assert path.exists()
    assert state.spec == get_template("mlp")


def test_cancel_keeps_the_project_on_new(window, state):
    edits.append_layer(state.document, "Dropout")
    before = state.spec
    window.ask_unsaved = lambda: CANCEL
    assert not window.new_from_template("mlp")
    assert state.spec == before


def test_clean_project_closes_without_asking(qtbot, window):
    window.ask_unsaved = lambda: pytest.fail("asked although nothing changed")
    assert window.close()


def test_new_from_template_menu_lists_every_template(window, state):
    from cnnstudio.model import TEMPLATES

    names = [a.text() for a in window.menus.template_menu.actions()]
    assert names == list(TEMPLATES)
    window.menus.template_menu.actions()[names.index("vgg16")].trigger()
    assert state.spec == get_template("vgg16")
    assert "138,357,544" in window.totals_label.text()


def test_undo_redo_actions_carry_the_document_text(window, state):
    edits.append_layer(state.document, "Dropout")
    assert "Dropout" in window.menus.undo_action.text() and window.menus.undo_action.isEnabled()
    assert not window.menus.redo_action.isEnabled()
    window.menus.undo_action.trigger()
    assert window.menus.redo_action.isEnabled() and "Dropout" in window.menus.redo_action.text()


def test_shortcuts(window):
    m = window.menus
    assert m.undo_action.shortcut().toString() == "Ctrl+Z"
    assert m.redo_action.shortcut().toString() == "Ctrl+Shift+Z"
    assert m.save_action.shortcut().toString() == "Ctrl+S"
    assert m.open_action.shortcut().toString() == "Ctrl+O"
    assert m.new_action.shortcut().toString() == "Ctrl+N"
    assert m.delete_action.shortcut().toString() == "Del"


def test_geometry_and_docks_are_remembered(qtbot, state, settings):
    first = MainWindow(state, settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(760, 560)  # inside the offscreen screen: restoreGeometry clamps to it
    first.docks["plotsDock"].hide()
    assert first.close()
    second = MainWindow(state, settings=QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (760, 560)
    assert not second.docks["plotsDock"].isVisible()
    assert second.docks["trainingDock"].isVisible()


def test_training_disables_editing_actions(window, state):
    state.set_training(True)
    assert not window.menus.undo_action.isEnabled() or not state.document.can_undo
    assert not window.menus.delete_action.isEnabled()
    assert not window.menus.open_action.isEnabled()
    state.set_training(False)
    assert window.menus.delete_action.isEnabled()


def test_app_settings_names_are_not_the_tests(window):
    # tests use their own ini file: nothing written to the user's CNN Studio settings
    assert window.settings.fileName().endswith("settings.ini")
    assert mw.PROJECT_FILTER.startswith("CNN Studio projects")


def test_app_opens_a_project_given_on_the_command_line(qtbot, state, settings, tmp_path):
    from cnnstudio.gui.app import create_window

    path = str(tmp_path / "cli.cnnproj")
    edits.append_layer(state.document, "Dropout")
    state.save(path)
    win = create_window(project=path, settings=settings)
    qtbot.addWidget(win)
    assert win.state.path == path and win.state.spec == state.spec and not win.state.is_dirty()


def test_the_app_collects_garbage_only_in_the_gui_thread(qtbot):
    import gc

    from cnnstudio.gui.app import collect_garbage_in_gui_thread

    was_enabled = gc.isenabled()
    gc.enable()
    try:
        collector = collect_garbage_in_gui_thread(interval_s=0.05)
        assert not gc.isenabled()  # no collection can start in a worker thread
        assert collector.timer.isActive()
        calls = []
        collector.check = lambda: calls.append(1)  # the timer's slot is bound: count ticks instead
        collector.timer.timeout.disconnect()
        collector.timer.timeout.connect(collector.check)
        qtbot.waitUntil(lambda: len(calls) >= 2, timeout=5000)
        collector.timer.stop()
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
