"""The 'trained for N epochs; Start asks ...' line follows edits (QA of issue 13: after the last Dense
was set to the imported data's class count, the line still promised that Start would ask to continue,
and Start then trained from random weights without a word)."""

from __future__ import annotations

from PyQt6.QtCore import QSettings

from cnnstudio.model.commands import SetLayerConfig
from tests.gui.test_surprises import train
from tests.gui.test_training import panel  # noqa: F401 - the panel fixture


def test_an_edit_that_drops_the_weights_says_start_trains_from_random_weights(qtbot, panel, small_data,  # noqa: F811
                                                                              tmp_path):
    panel.settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    train(qtbot, panel, small_data)
    path = str(tmp_path / "p.cnnproj")
    panel.state.save(path)
    panel.state.open(path)
    assert panel.speed_label.text().startswith("This project was trained for 1 epoch(s); Start asks")
    spec = panel.state.spec
    last_dense = max(i for i, layer in enumerate(spec.layers) if layer.type == "Dense")
    units = spec.layers[last_dense].config["units"]
    panel.state.document.execute(SetLayerConfig(last_dense, "units", units + 1))
    assert not panel.is_trained()
    assert "network has changed since: Start trains it from random weights" in panel.speed_label.text()
    panel.state.document.undo()
    assert panel.is_trained()
    assert panel.speed_label.text().startswith("This project was trained for 1 epoch(s); Start asks")
