"""Which Feature maps sample follows into another project (QA): a lesson's worked example stays with
its lesson (it followed into lenet5, silently resized to 28x28); an image file the user opened stays
while it fits the new input as it did, is fitted again from the file when the input changes (and the
sample label says so), and gives way to the validation sample when the file cannot be read again."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnstudio.gui.editor import edits
from cnnstudio.gui.inside import FeatureMapsPanel

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def _panel(window) -> FeatureMapsPanel:
    panel = window.findChild(FeatureMapsPanel)
    window.docks["featureMapsDock"].raise_()
    return panel


def _user_image(tmp_path, size: int = 28):
    ink = np.zeros((size, size), np.uint8)
    ink[4:size - 4, size // 2 - 2:size // 2 + 2] = 255   # a "1"
    path = tmp_path / "one.png"
    Image.fromarray(ink).save(path)
    return path


@pytest.mark.parametrize("leave", ["new", "open"])
def test_a_lessons_image_does_not_follow_into_another_project(qtbot, window, tmp_path, leave):
    panel, ins = _panel(window), window.inspector
    if leave == "open":   # a lenet5 project saved before the lesson
        saved = tmp_path / "mine.cnnproj"
        assert window._save_to(str(saved))
    qtbot.addWidget(window.menus.lessons.open("pooling"))
    assert ins.source == "file" and ins.file_name == "pooling.png" and panel.sample_label.text() == "pooling.png"

    assert window.new_from_template("lenet5") if leave == "new" else window.open_path(str(saved))
    assert ins.source == "validation" and ins.file_image is None
    assert panel.source.currentData() == "validation"
    assert "pooling.png stays with its lesson" in panel.sample_label.text()
    ins.refresh_now()
    expected = ins.validation_set().x[0].reshape(28, 28).astype(np.float32) / 255   # lenet5: pixels x 1/255
    np.testing.assert_allclose(ins.image[0], expected, atol=1e-6)
    ins.set_validation_index(1)                      # the note goes once the user picks a sample
    assert "lesson" not in panel.sample_label.text()


def test_a_users_image_stays_while_it_fits_and_is_fitted_again_when_the_input_changes(qtbot, window, tmp_path):
    panel, ins = _panel(window), window.inspector
    assert panel.open_image_file(str(_user_image(tmp_path)))
    assert window.new_from_template("mlp")           # 28 x 28 x 1 as well: the file stays as it was
    assert ins.source == "file" and panel.sample_label.text() == "one.png" and ins.file_notes == []

    edits.set_input(window.state.document, (32, 32, 1))
    assert ins.source == "file" and ins.file_image.shape == (32, 32, 1)
    assert panel.sample_label.text() == "one.png (fitted again to the new input 32 x 32 x 1)"
    assert "resized from 28x28 to 32x32" in panel.sample_label.toolTip()   # from the file, not the 28x28 copy
    ins.refresh_now()
    assert ins.image.shape == (1, 32, 32)


def test_a_users_image_that_cannot_be_read_again_gives_way_to_the_validation_sample(qtbot, window, tmp_path):
    panel, ins = _panel(window), window.inspector
    path = _user_image(tmp_path)
    assert panel.open_image_file(str(path))
    path.unlink()
    edits.set_input(window.state.document, (32, 32, 1))
    assert ins.source == "validation" and panel.source.currentData() == "validation"
    assert "one.png does not fit the new input 32 x 32 x 1" in panel.sample_label.text()
