"""Start on a trained project whose data is missing says so at once (QA of issue 13: it first asked
"Continue training or Start over?" and then refused either answer, with a message starting in lower case)."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from cnnstudio.project.workspace import DataState
from tests.gui.test_project_data import _opened_after_the_folder_went


def test_start_says_the_data_is_missing_without_asking_first(window, qtbot, tmp_path, monkeypatch):
    _folder, _moved, _path, browser = _opened_after_the_folder_went(window, qtbot, tmp_path, move=False)
    qtbot.mouseClick(browser.locate_dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.data_state is DataState.MISSING)
    panel = window.training_panel
    errors = []
    monkeypatch.setattr(panel, "show_error", lambda title, text: errors.append((title, text)))
    monkeypatch.setattr(panel, "ask_start_trained", lambda: pytest.fail("asked before saying the data is missing"))
    assert panel.is_trained()
    assert not panel.start() and not panel.controller.running
    (title, text), = errors
    assert title == "Cannot start training" and "shapes" in text and text[0].isupper()


def test_the_training_form_does_not_show_the_old_path_of_a_located_folder(window, qtbot, tmp_path):
    """QA of issue 13: after 'Use this folder' the Data row read 'Current dataset' over the folder's old
    path (/tmp/qa/shapes) while the data came from its new place."""
    folder, moved, _path, browser = _opened_after_the_folder_went(window, qtbot, tmp_path)
    browser.locate_dialog.ask_path = lambda: str(moved)
    browser.locate_dialog._browse()
    qtbot.waitUntil(lambda: window.state.data_state is DataState.READY, timeout=20_000)
    panel = window.training_panel
    assert panel.dataset.currentData() == "<current>"
    assert str(folder) not in panel.source_label.text()
