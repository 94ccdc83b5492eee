"""Fixtures for GUI tests: an AppState, one panel alone (the editor) or the whole MainWindow, never
touching the user's settings. Build only the panel under test where the window is not the point:
a MainWindow (six panels) costs most of a GUI test's time to build and tear down."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings

# The app trains in a process of its own; these tests reach into the live Trainer (controller.trainer,
# call_in_worker with Python callables), so they keep the in-process QThread path.
# tests/gui/test_training_process.py sets out_of_process on its controllers and runs the real child.
os.environ.setdefault("CNNSTUDIO_TRAIN_IN_PROCESS", "1")


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


def _open_window(qtbot, state, settings, size=None):
    """A shown MainWindow that closes without asking and fails its test on an unexpected error box."""
    from cnnstudio.gui.main_window import DISCARD, MainWindow

    win = MainWindow(state, settings=settings)
    win.ask_unsaved = lambda: DISCARD  # teardown must never block on a dialog
    # nor a test on an error box nobody will close: an unexpected error fails it at once, with its text
    # (tests that expect one replace show_error themselves)
    win.show_error = lambda title, text: pytest.fail(f"unexpected error dialog {title!r}: {text}")
    qtbot.addWidget(win)
    if size is not None:
        win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, state, settings):
    """A shown MainWindow on lenet5; closes without asking at teardown."""
    return _open_window(qtbot, state, settings)


@pytest.fixture
def make_window(qtbot, settings):
    """make_window(width, height, template): a MainWindow of that size with no remembered layout."""
    from cnnstudio.gui.state import AppState
    from tests.gui.qtwait import settle

    def make(width: int, height: int, template: str = "lenet5"):
        win = _open_window(qtbot, AppState(template=template), settings, (width, height))
        settle(win, win.editor.canvas)
        assert (win.width(), win.height()) == (width, height)
        return win

    return make


@pytest.fixture
def editor(qtbot, state):
    """The network editor alone (palette, canvas, inspector, problems) on lenet5, shown at about
    its size in the main window: for tests of the editor, without the other five panels."""
    from cnnstudio.gui.editor.editor import NetworkEditor

    widget = NetworkEditor(state)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(autouse=True)
def no_thread_outlives_its_test(qtbot):
    """Stop training runs and background jobs at the end of every GUI test.

    A test that fails halfway must not leave a QThread running into the next test (Qt
    aborts on destroying one). Automatic garbage collection is off from the start of the
    test to the end of the GUI tests (see ``pytest_runtest_teardown``): left to the cyclic
    collector, a parentless QObject caught in a reference cycle can be destroyed from
    whatever thread happens to trigger a collection (an engine or download worker), which
    Qt does not allow. The app collects on a GUI-thread timer for the same reason
    (``gui.app.collect_garbage_in_gui_thread``).
    """
    gc.disable()
    yield
    from cnnstudio.gui.common import tasks
    from cnnstudio.gui.training import controller

    controller.shutdown_all()
    tasks.wait_all()


#: a full collection (~50 ms with everything imported) every this many GUI tests; the young
#: generations (what the test allocated: nothing is promoted while collection is off) after each
FULL_COLLECTION_EVERY = 20
_since_full = [0]


def _is_gui_test(item) -> bool:
    return item is not None and Path(__file__).parent in Path(str(item.path)).parents


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the test's fixtures are gone (no thread left): collect its garbage in the GUI thread.

    Objects a test leaves to Qt's deferred deletion become garbage during a later test, after
    they were promoted; the periodic full collection, and the one after the last GUI test
    (when automatic collection comes back on), find those.
    """
    result = yield
    _since_full[0] += 1
    more_gui = _is_gui_test(nextitem)
    if not more_gui or _since_full[0] >= FULL_COLLECTION_EVERY:
        gc.collect()
        _since_full[0] = 0
    else:
        gc.collect(1)
    if not more_gui:
        gc.enable()
    return result
