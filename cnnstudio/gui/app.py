"""Entry point of the desktop app: ``main(argv)`` starts Qt and the main window."""

from __future__ import annotations

import gc
import sys

from PyQt6.QtWidgets import QApplication

ORGANIZATION = "CNN Studio"
APPLICATION = "CNN Studio"


def make_app() -> QApplication:
    """The QApplication (created once), named so QSettings land in CNN Studio's own place."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "cnnstudio"])
    assert isinstance(app, QApplication)   # the app is a QApplication: this module is the one that creates it
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app


def create_window(project: str | None = None, template: str | None = None, settings=None):
    """A MainWindow with ``project`` opened (errors shown in a dialog) or a fresh ``template``.

    ``settings``: a QSettings to use instead of the app's own (tests, screenshots).
    """
    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.gui.state import DEFAULT_TEMPLATE, AppState

    window = MainWindow(AppState(template=template or DEFAULT_TEMPLATE), settings=settings)
    fit_to_screen(window)
    if project:
        window.open_path(project)  # a broken file: the loader's message in a dialog, template stays open
    return window


def fit_to_screen(window) -> None:
    """Shrink ``window`` to its screen's free area when it is larger: the first start (no saved
    geometry) opened at 1280x800 on a 1024x640 screen, the right-hand docks and the Start row cut off."""
    from PyQt6.QtGui import QGuiApplication

    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    free = screen.availableGeometry()
    width, height = min(window.width(), free.width()), min(window.height(), free.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
        window.move(free.topLeft())


def collect_garbage_in_gui_thread(interval_s: float = 1.0):
    """Turn off automatic garbage collection and collect on a GUI-thread timer instead.

    Left automatic, a collection runs in whichever thread happens to allocate (the trainer,
    a loader, the engine's pool) and destroys any parentless QObject caught in a reference
    cycle there, which crashes Qt. Returns the collector: keep it referenced; its ``timer``
    runs while the app does.
    """
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=interval_s)


def main(argv: list[str] | None = None) -> int:
    """Open the main window, optionally with a project file (``argv[0]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = make_app()
    collector = collect_garbage_in_gui_thread()
    window = create_window(argv[0] if argv else None)
    window.show()
    from PyQt6.QtCore import QTimer

    from cnnstudio.gui import recovery, signals

    # unsaved edits are kept in the recovery file as they are made; one left by a crash is offered
    keeper = recovery.install(window)
    QTimer.singleShot(0, lambda: recovery.offer_when_free(window, keeper))   # after the locate dialog, if any
    # Ctrl+C quits like File > Quit; SIGTERM/SIGHUP keep unsaved edits in the recovery file
    bridge = signals.install(app, window)
    try:
        code = app.exec()
        if bridge.exit_code is None:
            keeper.discard()   # a normal close: saved, or the person chose to discard
        return bridge.exit_code if bridge.exit_code is not None else code
    finally:
        keeper.stop()
        bridge.uninstall()
        collector.timer.stop()
        gc.enable()
