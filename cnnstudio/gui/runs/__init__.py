"""The Runs panel: every training run of the project, compared side by side, any one restorable."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.runs.panel import RunsPanel

__all__ = ["RunsPanel", "install_runs_panel"]

DOCK = "runsDock"


def install_runs_panel(window: Any) -> RunsPanel:
    """Add a "Runs" dock to ``window`` (a MainWindow), tabbed with its other right-hand docks, and
    put the panel in it. It meets the other panels only through the window's state."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QDockWidget

    if DOCK not in window.docks:
        dock = QDockWidget("Runs", window)
        dock.setObjectName(DOCK)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        neighbour = window.docks.get("datasetDock") or next(iter(window.docks.values()), None)
        if neighbour is not None:
            window.tabifyDockWidget(neighbour, dock)
        window.docks[DOCK] = dock
    panel = RunsPanel(window.state)
    window.set_dock_widget(DOCK, panel)
    return panel
