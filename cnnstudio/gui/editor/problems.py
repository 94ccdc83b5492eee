"""The problems list: what is wrong with the network and how to fix it; click to select the block."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from cnnstudio.gui.editor.view_model import Problem

INDEX_ROLE = Qt.ItemDataRole.UserRole
EMPTY_TEXT = ("The network has no layers: drag blocks from the palette (or double-click them), "
              "or start from a template with File > New.")


class ProblemsList(QListWidget):
    """One row per problem (the model reports the first); emits ``selectRequested(layer_index)``."""

    selectRequested = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlternatingRowColors(False)
        self.itemClicked.connect(self._on_click)
        self.show_problems([])

    def show_problems(self, problems: list[Problem]) -> None:
        self.clear()
        if not problems:
            item = QListWidgetItem("No problems: every shape fits.")
            item.setForeground(QColor("#2e7d32"))
            item.setData(INDEX_ROLE, None)
            self.addItem(item)
            return
        for p in problems:
            text = p.message if not p.fix else f"{p.message}\nFix: {p.fix}"
            item = QListWidgetItem(text)
            item.setForeground(QColor("#b71c1c"))
            # a problem with the input or the whole network (index None) selects the Input block
            item.setData(INDEX_ROLE, -1 if p.index is None else p.index)
            item.setToolTip(text)
            self.addItem(item)

    def show_empty_network(self) -> None:
        """No layers: there is nothing wrong with the shapes, but nothing to train either."""
        self.clear()
        item = QListWidgetItem(EMPTY_TEXT)
        item.setForeground(QColor("#664d03"))
        item.setData(INDEX_ROLE, None)
        self.addItem(item)

    def _on_click(self, item: QListWidgetItem) -> None:
        index = item.data(INDEX_ROLE)
        if index is not None:
            self.selectRequested.emit(int(index))
