"""The app's window fits its screen on the first start (QA of issue 13: with no saved geometry it
opened at 1280x800 on a 1024x640 screen, the docks' right half and the Pause/Resume row off screen)."""

from __future__ import annotations

from PyQt6.QtCore import QSettings


def test_a_first_start_fits_the_screen(qtbot, tmp_path):
    from cnnstudio.gui.app import create_window

    window = create_window(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    free = window.screen().availableGeometry()
    assert free.width() < 1280   # the offscreen screen is smaller than the default size
    assert window.width() <= free.width() and window.height() <= free.height()
    assert window.geometry().left() >= free.left() and window.geometry().top() >= free.top()
