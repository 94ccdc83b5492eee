"""The inspector shows the selected layer's formulas with its numbers; cards carry the receptive field."""

from __future__ import annotations

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
