"""The main window: the network editor in the centre, panels in docks around it."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from cnnstudio.gui.state import AppState

#: (object name, title, area) of every dock; panels replace the placeholders.
DOCKS = [
    ("trainingDock", "Training", Qt.DockWidgetArea.RightDockWidgetArea),
    ("datasetDock", "Dataset", Qt.DockWidgetArea.RightDockWidgetArea),
    ("drawingDock", "Draw", Qt.DockWidgetArea.RightDockWidgetArea),
    ("plotsDock", "Plots", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("featureMapsDock", "Feature maps", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("evaluationDock", "Evaluation", Qt.DockWidgetArea.BottomDockWidgetArea),
]


class MainWindow(QMainWindow):
    """Editor in the centre; training, plots, feature maps, drawing, evaluation, dataset docks."""

    def __init__(self, state: AppState | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state if state is not None else AppState(self)
        self.setWindowTitle("CNN Studio")
        self.resize(1280, 800)
        self.docks: dict[str, QDockWidget] = {}
        self.setCentralWidget(QLabel("Network editor"))
        self._make_docks()

        # --- panels: each GUI engineer adds one line here ---
        # e.g. self.set_dock_widget("trainingDock", TrainingPanel(self.state))
        # --- end of panels ---

    def _make_docks(self) -> None:
        first_in_area: dict[Qt.DockWidgetArea, QDockWidget] = {}
        for name, title, area in DOCKS:
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(QLabel(f"{title} (coming soon)"))
            self.addDockWidget(area, dock)
            if area in first_in_area:
                self.tabifyDockWidget(first_in_area[area], dock)
            else:
                first_in_area[area] = dock
            self.docks[name] = dock
        for dock in first_in_area.values():
            dock.raise_()

    def set_dock_widget(self, name: str, widget: QWidget) -> None:
        """Put a panel into the dock called ``name`` (one of DOCKS), replacing the placeholder."""
        if name not in self.docks:
            raise KeyError(f"No dock named {name!r}; the docks are: {', '.join(self.docks)}")
        self.docks[name].setWidget(widget)
