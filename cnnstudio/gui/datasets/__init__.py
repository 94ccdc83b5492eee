"""The dataset GUI: browser panel and image-folder import dialog (the download dialog, which the
training panel opens too, is in gui.common)."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.datasets.browser import DatasetBrowser

__all__ = ["DatasetBrowser", "install_dataset_panel"]


def install_dataset_panel(window: Any) -> DatasetBrowser:
    """Put the browser into the window's dataset dock (``window``: a MainWindow) and link its
    augmentation controls to the training panel's, when there is one."""
    browser = DatasetBrowser(window.state)
    window.set_dock_widget("datasetDock", browser)
    training = getattr(window, "training_panel", None)
    if training is not None and hasattr(training, "augment_params"):
        link_training(browser, training)
    return browser


def link_training(browser: DatasetBrowser, training: Any) -> None:
    """Augmentation settings edited in the browser are what training uses (the next run, and
    the running one from its next batch); the two "augment" check boxes stay in step."""

    def settings_changed(params: dict) -> None:
        training.augment_params = dict(params)
        controller = training.controller
        if controller.running and training.augment.isChecked():
            controller.set_augmentation(True, dict(params))

    def project_changed() -> None:
        config = getattr(browser.state, "training_config", None)
        if config is not None:
            browser.set_augmentation({n: getattr(config, n) for n in browser.augmentation() if hasattr(config, n)})

    training.augment_params = browser.augmentation()
    browser.augmentationChanged.connect(settings_changed)
    browser.useAugmentationChanged.connect(training.augment.setChecked)
    training.augment.toggled.connect(browser.use_for_training.setChecked)
    browser.use_for_training.setChecked(training.augment.isChecked())
    browser.state.projectChanged.connect(project_changed)
    project_changed()
