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


def test_a_lesson_shows_its_own_image_in_the_feature_maps_so_a_click_explains_the_texts_number(qtbot, window):
    """The text says "click a cell of the map": the panel must show the worked example, not a
    validation digit shrunk to the lesson's input (it showed 1213 for the 149 cell)."""
    from cnnstudio.gui.inside import FeatureMapsPanel

    maps = window.findChild(FeatureMapsPanel)
    ins = window.inspector
    qtbot.addWidget(window.menus.lessons.open("pooling"))
    ins.refresh_now()
    assert ins.source == "file" and ins.activations[1][0].tolist() == [[6, 5], [3, 4]]   # the text's [6 5; 3 4]
    qtbot.addWidget(window.menus.lessons.open("convolution-by-hand"))
    ins.refresh_now()
    assert ins.activations[1][0].tolist() == [[149, 95], [117, 153]]
    maps.explain_cell(1, 0, 0, 0)   # what a click on the map's top-left pixel does
    qtbot.addWidget(maps.explain_dialog)
    assert maps.explain_dialog.view.title.text() == "Layer 1 Conv2D: cell (0, 0, 0) = 149"
