"""The editor canvas: the chain of cards, drawn top to bottom in as many columns as needed.

It is a view of the document: ``refresh`` redraws everything from the spec;
drops, drags, Delete and the context menu become document commands (see
``edits``). Card positions are layout only and never decide the network.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QContextMenuEvent, QDrag, QKeyEvent, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QMenu, QWidget

from cnnstudio.gui.editor import edits
from cnnstudio.gui.editor.cards import CARD_H, CARD_W, COL_GAP, MARGIN, V_GAP, CardItem, EdgeItem
from cnnstudio.gui.editor.view_model import NetworkView
from cnnstudio.gui.state import AppState

#: drag from the palette: the layer type name (UTF-8)
LAYER_MIME = "application/x-cnnstudio-layer-type"
#: drag of an existing card: its layer index (decimal text)
MOVE_MIME = "application/x-cnnstudio-layer-index"


def layer_mime(type_name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(LAYER_MIME, QByteArray(type_name.encode()))
    return mime


class EditorCanvas(QGraphicsView):
    """Cards for Input and every layer; emits ``selectRequested(index)`` (-1 = Input, -2 = none)."""

    selectRequested = pyqtSignal(int)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setScene(QGraphicsScene(self))
        self.setAcceptDrops(True)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(QColor("#fafafa"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view = NetworkView()
        self.selected = -2
        self.cards: list[CardItem] = []
        self.edges: list[EdgeItem] = []
        self._rows = 0
        self._press: tuple[QPoint, int] | None = None
        self._indicator = None

    # ---- drawing ----------------------------------------------------------
    def refresh(self, view: NetworkView, selected: int) -> None:
        """Redraw every card from ``view`` (built from the spec) with ``selected`` highlighted."""
        self.view, self.selected = view, selected
        self._rows = self.rows_per_column()
        scene = self.scene()
        scene.clear()
        self._indicator = None
        self.cards, self.edges = [], []
        for pos, info in enumerate(view.cards):
            card = CardItem(info, selected=info.index == selected)
            card.setPos(self.card_pos(pos))
            scene.addItem(card)
            self.cards.append(card)
        for pos in range(1, len(self.cards)):
            a, b = self.card_pos(pos - 1), self.card_pos(pos)
            label = view.cards[pos - 1].shape_text
            edge = EdgeItem(QPointF(a.x() + CARD_W / 2, a.y() + CARD_H), QPointF(b.x() + CARD_W / 2, b.y()), label)
            scene.addItem(edge)
            self.edges.append(edge)
        columns = max(1, math.ceil(len(self.cards) / self._rows))
        # below the last row: half a gap for the column-break connector and its label
        scene.setSceneRect(0, 0, 2 * MARGIN + columns * CARD_W + (columns - 1) * COL_GAP,
                           MARGIN + self._rows * (CARD_H + V_GAP) - V_GAP // 2 + 4)

    def show_card(self, index: int) -> None:
        """Scroll so the card of layer ``index`` (-1 = Input) is in view (a click in the problems
        list may name a block in a column that is scrolled away: VGG16 has 39)."""
        card = next((c for c in self.cards if c.info.index == index), None)
        if card is not None:
            self.ensureVisible(card, MARGIN, MARGIN)

    def rows_per_column(self) -> int:
        usable = self.viewport().height() - MARGIN - 4 + V_GAP // 2
        return max(3, usable // (CARD_H + V_GAP))

    def card_pos(self, pos: int) -> QPointF:
        """Top-left of the ``pos``-th card in the chain (0 = Input)."""
        col, row = divmod(pos, self._rows)
        return QPointF(MARGIN + col * (CARD_W + COL_GAP), MARGIN + row * (CARD_H + V_GAP))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.rows_per_column() != self._rows:
            self.refresh(self.view, self.selected)

    def card_at(self, view_pos: QPoint) -> CardItem | None:
        for item in self.items(view_pos):
            if isinstance(item, CardItem):
                return item
        return None

    # ---- insertion points -----------------------------------------------------
    def insertion_index(self, scene_pos: QPointF) -> int:
        """The layer index a block dropped at ``scene_pos`` gets: the nearest gap in the chain."""
        best, best_d = 0, float("inf")
        for k in range(len(self.cards)):  # gap k sits just below card k (card 0 = Input)
            p = self.gap_point(k)
            d = (p.x() - scene_pos.x()) ** 2 + (p.y() - scene_pos.y()) ** 2
            if d < best_d:
                best, best_d = k, d
        return best

    def gap_point(self, k: int) -> QPointF:
        p = self.card_pos(k)
        return QPointF(p.x() + CARD_W / 2, p.y() + CARD_H + V_GAP / 2)

    def _show_indicator(self, k: int | None) -> None:
        if self._indicator is not None:
            self.scene().removeItem(self._indicator)
            self._indicator = None
        if k is not None:
            p = self.gap_point(k)
            self._indicator = self.scene().addLine(p.x() - CARD_W / 2, p.y(), p.x() + CARD_W / 2, p.y(),
                                                   QPen(QColor("#1565c0"), 3))

    # ---- drag and drop ----------------------------------------------------------
    def _editable(self) -> bool:
        return not self.state.document.read_only

    def _accepts(self, mime: QMimeData) -> bool:
        return self._editable() and (mime.hasFormat(LAYER_MIME) or mime.hasFormat(MOVE_MIME))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._accepts(event.mimeData()):
            self._show_indicator(self.insertion_index(self.mapToScene(event.position().toPoint())))
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._show_indicator(None)

    def dropEvent(self, event) -> None:  # noqa: N802
        self._show_indicator(None)
        mime = event.mimeData()
        if not self._accepts(mime):
            event.ignore()
            return
        gap = self.insertion_index(self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()
        if mime.hasFormat(LAYER_MIME):
            type_name = bytes(mime.data(LAYER_MIME)).decode()
            edits.add_layer(self.state.document, gap, type_name)
            self.selectRequested.emit(gap)
        else:
            source = int(bytes(mime.data(MOVE_MIME)).decode())
            target = gap if gap <= source else gap - 1  # the block leaves its old slot first
            edits.move_layer(self.state.document, source, target)
            self.selectRequested.emit(target)

    # ---- mouse and keys -----------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        card = self.card_at(event.position().toPoint())
        index = card.info.index if card is not None else -2
        self._press = (event.position().toPoint(), index) if event.button() == Qt.MouseButton.LeftButton else None
        self.selectRequested.emit(index)
        self.setFocus()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press is not None and self._press[1] >= 0 and self._editable():
            start, index = self._press
            if (event.position().toPoint() - start).manhattanLength() >= QApplication.startDragDistance():
                self._press = None
                drag = QDrag(self)
                mime = QMimeData()
                mime.setData(MOVE_MIME, QByteArray(str(index).encode()))
                drag.setMimeData(mime)
                drag.exec(Qt.DropAction.MoveAction)
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._press = None
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected >= 0:
            self.delete_selected()
            return
        step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(event.key())
        if step is not None and self.cards:  # walk the chain: -1 (Input) .. last layer
            last = len(self.cards) - 2
            self.selectRequested.emit(min(max(self.selected + step, -1), last))
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        card = self.card_at(event.pos())
        if card is None or card.info.index < 0:
            return
        self.selectRequested.emit(card.info.index)
        menu = QMenu(self)
        delete = menu.addAction("Delete")
        duplicate = menu.addAction("Duplicate")
        for action in (delete, duplicate):
            action.setEnabled(self._editable())
        chosen = menu.exec(event.globalPos())
        if chosen is delete:
            self.delete_selected()
        elif chosen is duplicate:
            self.duplicate_selected()

    # ---- edits on the selection --------------------------------------------------
    def delete_selected(self) -> None:
        index = self.selected
        if index < 0 or not self._editable():
            return
        edits.remove_layer(self.state.document, index)
        remaining = len(self.state.document.spec.layers)
        self.selectRequested.emit(min(index, remaining - 1) if remaining else -1)

    def duplicate_selected(self) -> None:
        index = self.selected
        if index < 0 or not self._editable():
            return
        edits.duplicate_layer(self.state.document, index)
        self.selectRequested.emit(index + 1)
