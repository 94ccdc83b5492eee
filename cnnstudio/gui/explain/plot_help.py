"""A "?" on every plot and picture of the main window's panels, opening its ``plot.*`` glossary entry.

The plots belong to other panels; rather than each carrying its own text, this one table names
where each plot sits (a path of attributes from the main window, ``@dock`` for a dock's panel)
and which entry explains it. ``tests/gui/test_help_buttons.py`` walks the window and fails for
any pyqtgraph view that no "?" covers, so a new plot cannot go without one.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtWidgets import QToolButton, QWidget

from cnnstudio.gui.explain.glossary import attach_corner_help

#: (path from the main window, glossary key)
PLOT_HELP = (
    ("training_panel.plots.loss_plot", "plot.loss"),
    ("training_panel.plots.acc_plot", "plot.accuracy"),
    ("training_panel.plots.lr_plot", "plot.learning_rate"),
    ("@featureMapsDock.maps", "plot.feature_maps"),
    ("@featureMapsDock.viewer.plot", "plot.enlarged_map"),
    ("@featureMapsDock.filters", "plot.filters"),
    ("@drawingDock.prediction.plot", "plot.prediction"),
    ("evaluation_panel.matrix", "plot.confusion_matrix"),
    ("evaluation_panel.class_chart", "plot.class_accuracy"),
    ("evaluation_panel.probs_chart", "plot.probabilities"),
    ("evaluation_panel.gallery", "plot.mistakes"),
    ("dataset_browser.grid", "plot.dataset_samples"),
    ("dataset_browser.counts", "plot.class_counts"),
    ("dataset_browser.preview", "plot.augmentation_preview"),
    ("runs_panel.loss_plot", "plot.runs_loss"),
    ("runs_panel.acc_plot", "plot.runs_accuracy"),
)


def resolve(window: Any, path: str) -> QWidget | None:
    """The widget at ``path`` (a chart object's ``widget`` where the object is no widget), or None."""
    head, *rest = path.split(".")
    obj: Any = window.panel(head[1:]) if head.startswith("@") else getattr(window, head, None)
    for name in rest:
        obj = getattr(obj, name, None)
    if obj is not None and not isinstance(obj, QWidget):
        obj = getattr(obj, "widget", None)
    return obj if isinstance(obj, QWidget) else None


def install_plot_help(window: Any) -> tuple[dict[str, QToolButton], list[str]]:
    """Put the "?"s on; returns (key -> button, the paths not found). A panel that is not there
    (a test window without it) is skipped, not an error: the completeness test reports it."""
    buttons: dict[str, QToolButton] = {}
    missing: list[str] = []
    for path, key in PLOT_HELP:
        widget = resolve(window, path)
        if widget is None:
            missing.append(path)
        else:
            buttons[key] = attach_corner_help(widget, key)
    return buttons, missing
