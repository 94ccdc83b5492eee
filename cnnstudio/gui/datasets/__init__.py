"""The dataset GUI: browser panel and image-folder import dialog (the download dialog, which the
training panel opens too, is in gui.common)."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.datasets.browser import DatasetBrowser

__all__ = ["DatasetBrowser", "install_dataset_panel"]


def install_dataset_panel(window: Any) -> DatasetBrowser:
    """Put the browser into the window's dataset dock (``window``: a MainWindow). Its augmentation
    settings are the workspace's training settings, which the training panel shows too: the two
    panels meet there, not through each other."""
    browser = DatasetBrowser(window.state)
    window.set_dock_widget("datasetDock", browser)
    return browser
