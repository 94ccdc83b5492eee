"""Fixtures for GUI tests: an AppState and a MainWindow that never touch the user's settings."""

from __future__ import annotations

import gc

import pytest
from PyQt6.QtCore import QSettings


@pytest.fixture(scope="module")
def small_data():
    """A small slice of the bundled sample for training runs: (256 train, 64 validation)."""
    import numpy as np

    from cnnstudio.data import sample_split

    train, val = sample_split()
    return train.subset(np.arange(256)), val.subset(np.arange(64))


@pytest.fixture
def settings(tmp_path):
    """A QSettings in an ini file under tmp_path (never the user's real settings)."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def state(qapp):
    from cnnstudio.gui.state import AppState

    return AppState(template="lenet5")


@pytest.fixture
def window(qtbot, state, settings):
    """A shown MainWindow on lenet5; closes without asking at teardown."""
    from cnnstudio.gui.main_window import DISCARD, MainWindow

    win = MainWindow(state, settings=settings)
    win.ask_unsaved = lambda: DISCARD  # teardown must never block on a dialog
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture(autouse=True)
def no_thread_outlives_its_test(qtbot):
    """Stop training runs and background jobs before qtbot closes the widgets.

    Requesting qtbot makes this teardown run before qtbot's: a test that fails halfway
    must not leave a QThread running into the next test (Qt aborts on destroying one).
    Then the test's garbage is collected here, in the GUI thread: left to the cyclic
    collector, a parentless QObject caught in a reference cycle can be destroyed from
    whatever thread happens to trigger a collection (an engine or download worker),
    which Qt does not allow. The app collects on a GUI-thread timer for the same reason
    (``gui.app.collect_garbage_in_gui_thread``); here automatic collection is off for the
    test and everything is collected at its end.
    """
    gc.disable()
    yield
    from cnnstudio.gui.common import tasks
    from cnnstudio.gui.training import controller

    controller.shutdown_all()
    tasks.wait_all()
    gc.collect()
    gc.enable()
