"""The inspector shows the selected layer's formulas with its numbers; cards carry the receptive field."""

from __future__ import annotations

import numpy as np

from cnnstudio.gui.editor.inspector import Inspector
from cnnstudio.gui.editor.view_model import describe
from cnnstudio.model import ReplaceNetwork
from cnnstudio.model.templates import get_template


def test_inspector_formulas_follow_the_selection(qtbot, state):
    ins = Inspector(state)
    qtbot.addWidget(ins)
    state.document.execute(ReplaceNetwork(get_template("lenet5")))
    ins.show_layer(0)
    text = ins.formulas.text()
    assert "(5*5*1 + 1) * 6 = 156" in text and "ceil(28 / 1) = 28" in text and "28*28*6 outputs x 25 each" in text
    ins.show_layer(3)
    assert "6 + (5 - 1) * 2 = 14 pixels; jump 2 * 1 = 2" in ins.formulas.text()
    ins.show_layer(-1)
    assert ins.formulas.text() == ""


def test_cards_know_their_receptive_field():
    view = describe(get_template("lenet5"))
    rf = {c.index: c.receptive_field for c in view.cards}
    assert (rf[0], rf[2], rf[3]) == ("5 x 5", "6 x 6", "14 x 14")


def test_a_layer_that_reads_the_whole_image_shows_the_images_size_as_summary_does():
    """lenet5's Dense cards said 'RF 32 x 32' and the inspector '32 x 32 (the whole image)' on a
    28 x 28 input (the union of the last maps' windows, past the border); summary says 28x28."""
    from cnnstudio.model.formulas import layer_formulas
    from cnnstudio.project.report import summary_table

    spec = get_template("lenet5")
    rf = {c.index: c.receptive_field for c in describe(spec).cards}
    assert rf[7] == rf[12] == "28 x 28" and rf[6] == "16 x 16"
    assert dict(layer_formulas(spec, 7))["Receptive field"].startswith("28 x 28 (the whole image)")
    assert summary_table(spec)["layers"][7]["receptive_field"] == [28, 28]


def test_the_frozen_checkbox_is_one_undoable_edit(qtbot, state):
    ins = Inspector(state)
    qtbot.addWidget(ins)
    state.document.execute(ReplaceNetwork(get_template("lenet5")))
    ins.show_layer(1)                      # ReLU: no weights, nothing to freeze
    assert ins.frozen_box is None
    ins.show_layer(0)
    box = ins.frozen_box
    assert not box.isChecked()
    box.setChecked(True)
    assert state.document.spec.layers[0].frozen
    state.document.undo()
    assert not state.document.spec.layers[0].frozen
    ins.show_layer(0)
    assert not ins.frozen_box.isChecked()


def test_hand_set_filter_from_a_preset_reaches_the_weights(qtbot, state):
    ins = Inspector(state)
    qtbot.addWidget(ins)
    state.document.execute(ReplaceNetwork(get_template("lenet5")))
    ins.show_layer(0)
    ins.filter_button.click()
    dialog = ins.filter_dialog   # a child of the inspector: closed with it
    dialog.filter_spin.setValue(2)
    dialog.presets.activated.emit(dialog.presets.findText("Sobel x"))
    assert "3x3" in dialog.error.text()          # lenet5's kernels are 5x5: Sobel does not fit
    dialog.presets.activated.emit(dialog.presets.findText("Identity"))
    dialog.cells[0][4].setValue(-1.5)           # typed in
    dialog.apply()
    w = state.weights["0.W"]
    expected = np.zeros((5, 5), np.float32)
    expected[2, 2], expected[0, 4] = 1, -1.5
    np.testing.assert_array_equal(w[2, 0], expected)
    ins.show_layer(1)
    assert ins.filter_button is None   # ReLU: no kernels


def test_the_formulas_wrap_at_the_columns_visible_width(qtbot, state):
    """In the editor's narrow left column (about 200 px at 1280 x 800) the form's rows are wider than
    the column, which scrolled sideways; the formulas wrapped at the form's width and were cut off."""
    from PyQt6.QtWidgets import QScrollArea

    ins = Inspector(state)
    column = QScrollArea()
    column.setWidgetResizable(True)
    column.setWidget(ins)
    qtbot.addWidget(column)
    column.resize(200, 700)
    column.show()
    qtbot.waitExposed(column)
    state.document.execute(ReplaceNetwork(get_template("lenet5")))
    ins.show_layer(3)
    # the form's rows now fit the column too (a wide field goes under its label, test_inspector_fit)
    qtbot.waitUntil(lambda: ins.formulas.height() > 0 and ins.width() <= column.viewport().width())
    for wider in (260, 0):   # and again after the column is widened
        visible = column.viewport().width()
        assert ins.formulas.geometry().right() <= visible and ins.formulas.height() > 0
        assert "6 + (5 - 1) * 2 = 14 pixels" in ins.formulas.text()
        if wider:
            column.resize(wider, 700)
            qtbot.waitUntil(lambda: column.viewport().width() > visible)
