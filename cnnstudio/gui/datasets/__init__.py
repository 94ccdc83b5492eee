"""The dataset GUI: browser panel, image-folder import dialog, download dialog."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.datasets.browser import DatasetBrowser

__all__ = ["DatasetBrowser", "install_dataset_panel"]


def install_dataset_panel(window: Any) -> DatasetBrowser:
    """Put the browser into the window's dataset dock (``window``: a MainWindow)."""
    browser = DatasetBrowser(window.state)
    window.set_dock_widget("datasetDock", browser)
    return browser
