"""The palette: every engine layer type, grouped by category, draggable onto the canvas."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.canvas import layer_mime
from cnnstudio.gui.explain.glossary import add_palette_help

#: palette groups in teaching order: (category, heading)
GROUPS = [
    ("conv", "Convolution"), ("activation", "Activations"), ("pool", "Pooling"),
    ("normalization", "Normalization"), ("reshape", "Reshape"), ("dense", "Dense"),
    ("regularization", "Regularization"), ("output", "Output"),
]
TYPE_ROLE = Qt.ItemDataRole.UserRole


class LayerPalette(QTreeWidget):
    """Emits ``appendRequested(type_name)`` on double-click; drags carry the type name."""

    appendRequested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setRootIsDecorated(False)
        self.setIndentation(8)
        self.setToolTip("Drag a block onto the canvas, or double-click to append it")
        known = {c for c, _ in GROUPS}
        groups = GROUPS + [(c, c.title()) for c in sorted({cls.category for cls in LAYER_TYPES.values()} - known)]
        for category, heading in groups:
            types = [name for name, cls in LAYER_TYPES.items() if cls.category == category]
            if not types:
                continue
            group = QTreeWidgetItem(self, [heading])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for name in types:
                item = QTreeWidgetItem(group, [name])
                item.setData(0, TYPE_ROLE, name)
                item.setToolTip(0, f"{name}: {LAYER_TYPES[name].description}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        add_palette_help(self, TYPE_ROLE)   # a "?" beside every block (the glossary's layer entries)
        self.expandAll()
        self.itemDoubleClicked.connect(self._on_double_click)

    def type_item(self, type_name: str) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            group = self.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, TYPE_ROLE) == type_name:
                    return group.child(j)
        return None

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        from cnnstudio.gui.editor.canvas import LAYER_MIME
        return [LAYER_MIME]

    def mimeData(self, items):  # noqa: N802 - Qt override
        names = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        return layer_mime(names[0]) if names else None

    def _on_double_click(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.appendRequested.emit(name)
