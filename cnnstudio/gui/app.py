"""Entry point of the desktop app: ``main(argv)`` starts Qt and the main window."""

from __future__ import annotations

import sys

from PyQt6.QtWidgets import QApplication, QMessageBox

ORGANIZATION = "CNN Studio"
APPLICATION = "CNN Studio"


def main(argv: list[str] | None = None) -> int:
    """Open the main window, optionally with a project file (``argv[0]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "cnnstudio"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    from cnnstudio.gui.main_window import MainWindow

    window = MainWindow()
    if argv:
        try:
            window.state.open(argv[0])
        except Exception as exc:  # the loader's message names the file and what is wrong
            QMessageBox.critical(window, "Cannot open project", str(exc))
    window.show()
    return app.exec()
