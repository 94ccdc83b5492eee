"""The palette: every engine layer type in teaching order, draggable onto the canvas.

Compact: one row per block type in teaching order, tinted like its cards (the tint is the
group; its name is in the tooltip): a heading row per group made the palette scroll in a
1024x640 window. A search field above it (``search``, placed by the editor) narrows the
rows to the types whose name, group or description matches.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QLineEdit, QSizePolicy, QTreeWidget, QTreeWidgetItem, QWidget

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.canvas import layer_mime
from cnnstudio.gui.editor.cards import CATEGORY_COLORS
from cnnstudio.gui.explain.glossary import add_palette_help

#: palette groups in teaching order: (category, heading)
GROUPS = [
    ("conv", "Convolution"), ("activation", "Activations"), ("pool", "Pooling"),
    ("normalization", "Normalization"), ("reshape", "Reshape"), ("dense", "Dense"),
    ("regularization", "Regularization"), ("output", "Output"),
]
TYPE_ROLE = Qt.ItemDataRole.UserRole
GROUP_ROLE = Qt.ItemDataRole.UserRole + 1


class LayerPalette(QTreeWidget):
    """Emits ``appendRequested(type_name)`` on double-click; drags carry the type name.

    ``search``: the filter field (the editor puts it above the list); ``set_filter(text)``.
    """

    appendRequested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setRootIsDecorated(False)
        self.setIndentation(0)
        self.setUniformRowHeights(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Drag a block onto the canvas, or double-click to append it")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the block types whose name, group or description contains this")
        self.search.textChanged.connect(self.set_filter)
        known = {c for c, _ in GROUPS}
        groups = GROUPS + [(c, c.title()) for c in sorted({cls.category for cls in LAYER_TYPES.values()} - known)]
        for category, heading in groups:
            types = [name for name, cls in LAYER_TYPES.items() if cls.category == category]
            tint = QBrush(QColor(CATEGORY_COLORS.get(category, "#eeeeee")))
            for name in types:
                item = QTreeWidgetItem(self, [name])
                item.setData(0, TYPE_ROLE, name)
                item.setData(0, GROUP_ROLE, heading)
                item.setToolTip(0, f"{name} ({heading}): {LAYER_TYPES[name].description}")
                item.setBackground(0, tint)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        add_palette_help(self, TYPE_ROLE)   # a "?" beside every block (the glossary's layer entries)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.itemDoubleClicked.connect(self._on_double_click)

    def type_item(self, type_name: str) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None and item.data(0, TYPE_ROLE) == type_name:
                return item
        return None

    def set_filter(self, text: str) -> None:
        """Show only the types whose name, group or description contains ``text`` (any case)."""
        needle = text.strip().lower()
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is None:
                continue
            name = item.data(0, TYPE_ROLE)
            haystack = f"{name} {item.data(0, GROUP_ROLE)} {LAYER_TYPES[name].description}".lower()
            item.setHidden(bool(needle) and needle not in haystack)

    def content_height(self) -> int:
        """Pixels the rows need without scrolling (every row shown, the frame included)."""
        rows = self.topLevelItemCount()
        row = self.sizeHintForRow(0) if rows else 0
        return rows * max(row, 1) + 2 * self.frameWidth() + 2

    def sizeHint(self):  # noqa: N802 - Qt override: tall enough for every row
        hint = super().sizeHint()
        hint.setHeight(self.content_height())
        return hint

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
