"""The Lessons menu opens a lesson's project (a copy) and its text; its button shows the worked
example in the Explain view with the text's number."""

from __future__ import annotations

import pytest

from cnnstudio.project import lessons

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_menu_lists_every_lesson(window):
    titles = [a.text() for a in window.menus.lessons.menu.actions()]
    assert titles == [item.title for item in lessons.lessons()]


def test_convolution_by_hand_opens_and_explains_149(qtbot, window, state):
    shipped = lessons.lesson("convolution-by-hand").project_path
    before = shipped.read_bytes()
    dialog = window.menus.lessons.open("convolution-by-hand")
    qtbot.addWidget(dialog)
    assert state.path is not None and str(state.path) != str(shipped)   # a copy: saving never touches it
    assert state.document.spec.layers[0].type == "Conv2D" and state.weights is not None
    assert "149" in dialog.text.text()
    dialog.explain_button.click()
    qtbot.addWidget(dialog.explain_dialog)
    assert dialog.explain_dialog.view.title.text() == "Layer 1 Conv2D: cell (0, 0, 0) = 149"
    assert shipped.read_bytes() == before


def test_a_lesson_without_cells_has_no_explain_button(qtbot, window):
    dialog = window.menus.lessons.open("mlp-versus-cnn")
    qtbot.addWidget(dialog)
    assert dialog.explain_button.isHidden()
