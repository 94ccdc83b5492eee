"""The validation-split control applies only to data that comes unsplit (files, folders)."""

from __future__ import annotations

from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel


def _panel(qtbot):
    p = TrainingPanel(AppState(template="simple-cnn"))
    qtbot.addWidget(p)
    qtbot.addWidget(p.plots)
    return p


def test_sample_has_a_fixed_split_so_the_fraction_is_disabled(qtbot):
    p = _panel(qtbot)
    assert p.dataset.currentData() == "sample"
    assert p.comes_split() and not p.val_fraction.isEnabled()
    assert "fixed" in p.val_fraction.toolTip()


def test_a_file_source_enables_the_fraction_and_back_to_sample_disables_it(qtbot):
    p = _panel(qtbot)
    p.ask_data_path = lambda kind: "/tmp/some-data.npz"  # the file dialog
    _pick(p, "<file>")
    assert not p.comes_split() and p.val_fraction.isEnabled()
    _pick(p, "sample")
    assert not p.val_fraction.isEnabled()


def _pick(panel, kind):
    """What a person's choice in the combo box does: the index changes, then activated."""
    index = panel.dataset.findData(kind)
    panel.dataset.setCurrentIndex(index)
    panel.dataset.activated.emit(index)
