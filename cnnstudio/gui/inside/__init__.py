"""See inside the network: feature maps, learned filters, the drawing canvas with live prediction."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.inside.drawing_panel import DrawingPanel
from cnnstudio.gui.inside.inspector import Inspector
from cnnstudio.gui.inside.panel import FeatureMapsPanel

__all__ = ["DrawingPanel", "FeatureMapsPanel", "Inspector", "install_inside_panels"]


def install_inside_panels(window: Any) -> Inspector:
    """Create the shared Inspector and put both panels into the window's docks.

    window: a MainWindow (``state``, ``set_dock_widget``). Returns the Inspector.
    """
    inspector = Inspector(window.state, window)
    window.set_dock_widget("featureMapsDock", FeatureMapsPanel(inspector))
    window.set_dock_widget("drawingDock", DrawingPanel(inspector))
    inspector.refresh_now()
    return inspector
