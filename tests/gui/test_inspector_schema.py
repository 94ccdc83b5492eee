"""The inspector's widgets come from each layer's declared schema, for every registered type."""

from __future__ import annotations

import pytest
from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QToolButton

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.inspector import Inspector, PaddingEditor, PairEditor, interchangeable_types
from cnnstudio.model import LayerSpec, NetworkSpec, ReplaceNetwork
from cnnstudio.project.glossary import hyper_key


def _spins(widget):
    if isinstance(widget, PairEditor):
        return [widget.h, widget.w]
    if isinstance(widget, PaddingEditor):
        return [widget.amount]
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return [widget]
    return []


@pytest.fixture
def inspector(qtbot, state):
    ins = Inspector(state)
    qtbot.addWidget(ins)
    return ins


def _show(state, inspector, type_name):
    spec = NetworkSpec("one", (8, 8, 2), [LayerSpec(type_name)])
    state.document.execute(ReplaceNetwork(spec))
    inspector.show_layer(0)


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_every_field_gets_a_widget_with_the_declared_range_label_and_help(state, inspector, type_name):
    _show(state, inspector, type_name)
    cls = LAYER_TYPES[type_name]
    fields = {k: v for k, v in inspector.fields.items() if k != "__type__"}
    assert list(fields) == [h.name for h in cls.hyperparameters]
    for h in cls.hyperparameters:
        widget = fields[h.name]
        assert h.help in widget.toolTip()
        label = inspector.form.labelForField(widget)   # the label and its "?" (this hyperparameter's entry)
        assert label is not None and label.label.text() == h.label
        helps = [b for b in label.findChildren(QToolButton) if b.property("glossaryKey")]
        assert [b.property("glossaryKey") for b in helps] == [hyper_key(type_name, h.name)]
        low, high = h.widget_range()
        for spin in _spins(widget):
            assert (spin.minimum(), spin.maximum()) == pytest.approx((low, high))
        if h.kind == "bool":
            assert isinstance(widget, QCheckBox)


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_type_switcher_offers_exactly_the_interchangeable_types(state, inspector, type_name):
    _show(state, inspector, type_name)
    combo = inspector.fields.get("__type__")
    group = interchangeable_types(type_name)
    if len(group) > 1:
        assert isinstance(combo, QComboBox)
        assert [combo.itemText(i) for i in range(combo.count())] == group
        assert combo.currentText() == type_name
    else:
        assert combo is None


def test_the_widest_accepted_value_commits_and_the_layer_keeps_it(state, inspector):
    _show(state, inspector, "Dropout")
    box = inspector.fields["rate"]
    box.setValue(box.maximum())          # 0.99: the largest value below the open bound 1
    assert state.document.spec.layers[0].config["rate"] == pytest.approx(box.maximum())
    assert not inspector.error.text()
