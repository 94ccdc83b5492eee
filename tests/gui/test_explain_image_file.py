"""The feature-map panel inspects any image file opened from it (fitted to the network input), and
Explain opens on it like on a validation image or the drawn digit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnstudio.gui.inside import FeatureMapsPanel, Inspector

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def panel(qtbot, state):
    inspector = Inspector(state)
    widget = FeatureMapsPanel(inspector)
    qtbot.addWidget(widget)
    widget.resize(760, 460)
    widget.show()                  # a hidden panel's inspector waits until it is shown
    qtbot.waitExposed(widget)
    inspector.refresh_now()
    return widget


def test_an_image_file_is_inspected_and_explained(qtbot, panel, tmp_path):
    ink = np.zeros((56, 56), np.uint8)
    ink[8:48, 26:32] = 255                                 # a "1", twice the input's size
    path = tmp_path / "one.png"
    Image.fromarray(ink).save(path)
    panel.ask_image_path = lambda: str(path)
    ins = panel.inspector
    with qtbot.waitSignal(ins.activationsChanged, timeout=3000):
        panel.source.setCurrentIndex(panel.source.findData("file"))
        panel.source.activated.emit(panel.source.currentIndex())
    assert ins.source == "file" and panel.sample_label.text() == "one.png"
    assert "resized from 56x56 to 28x28" in panel.sample_label.toolTip()
    assert ins.file_image.shape == (28, 28, 1) and ins.image.shape == (1, 28, 28)
    panel.open_tile(1, 0)
    panel.viewer.cellClicked.emit(1, 0, 14, 14)
    qtbot.addWidget(panel.explain_dialog)
    e = panel.explain_dialog.view.explanation
    assert (e["type"], e["at"]) == ("Conv2D", [0, 14, 14])
    assert e["value"] == float(ins.activations[1][0, 14, 14])


def test_a_file_that_is_no_image_is_named_and_changes_nothing(qtbot, panel, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    ins = panel.inspector
    assert not panel.open_image_file(str(bad))
    assert "notes.png" in panel.status.text()
    assert ins.source == "validation" and panel.source.currentData() == "validation"


def test_the_explain_window_title_names_the_image_it_explains(qtbot, state):
    """The Explain window's title said only the layer, not which image (validation, drawing or file)."""
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    inspector.set_validation_index(3)
    inspector.refresh_now()
    panel.explain_cell(1, 0, 4, 4)
    qtbot.addWidget(panel.explain_dialog)
    title = panel.explain_dialog.windowTitle()
    assert title.endswith(f", validation image 3 (label {inspector.validation_label()})") and "Conv2D" in title
    digit = np.zeros((28, 28, 1), np.uint8)
    digit[6:22, 12:16] = 255
    inspector.set_drawing(digit)
    inspector.refresh_now()
    panel.explain_cell(1, 0, 4, 4)
    qtbot.addWidget(panel.explain_dialog)
    assert panel.explain_dialog.windowTitle().endswith(", the drawn digit")
