"""Training panel details: the validation-split control, stopping every run at teardown or quit."""

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


def test_shutdown_all_stops_a_paused_run(qtbot):
    import numpy as np

    from cnnstudio.data import sample_split
    from cnnstudio.gui.training import controller as controller_module

    p = _panel(qtbot)
    train, val = sample_split()
    assert p.start(paused=True, datasets=(train.subset(np.arange(64)), val.subset(np.arange(16))))
    qtbot.waitUntil(lambda: p.controller.paused, timeout=30_000)
    controller_module.shutdown_all()
    assert not p.controller.running and p.controller.worker_thread is None
    assert p.controller not in controller_module._WITH_THREAD
