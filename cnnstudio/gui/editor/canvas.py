"""The editor canvas: a card per block and a wire per connection, laid out from the spec.

It is a view of the document: ``refresh`` redraws everything from the spec with the
layered layout of ``layout`` (a chain is one column, continued in as many columns as
needed; branches side by side). Mouse and keys become document commands (``edits``,
``wiring``): drop a block in a gap or on a wire, drag a card to move it, drag from an
output port to a card's input port to connect, click a wire and press Delete to remove
it, "Add skip connection" then click a later block. Card positions are layout only and
never decide the network: every target is found in the layout's coordinates.
"""

from __future__ import annotations

from PyQt6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QContextMenuEvent, QDrag, QFontMetricsF, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import (QApplication, QGraphicsItem, QGraphicsLineItem, QGraphicsScene, QGraphicsView, QMenu,
                             QWidget)

from cnnstudio.gui.editor import edits, wiring
from cnnstudio.gui.editor.cards import (CARD_H, CARD_W, COL_GAP, GRAPH_V_GAP, LANE_GAP, MARGIN, PORT_PICK, V_GAP,
                                        CardItem, EdgeItem, label_font)
from cnnstudio.gui.editor.layout import Geometry, Layout, distance_to_wire, layout_network
from cnnstudio.gui.editor.view_model import NetworkView
from cnnstudio.gui.state import AppState

#: a drop this close to a wire (scene pixels) lands on it; farther, the nearest wire still wins
WIRE_DROP = 60
SKIP_HINT = "Add skip connection from {start}: click the later block it joins (Esc cancels)"

#: drag from the palette: the layer type name (UTF-8)
LAYER_MIME = "application/x-cnnstudio-layer-type"
#: drag of an existing card: its layer index (decimal text)
MOVE_MIME = "application/x-cnnstudio-layer-index"


def layer_mime(type_name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(LAYER_MIME, QByteArray(type_name.encode()))
    return mime


class EditorCanvas(QGraphicsView):
    """Cards for Input and every layer; emits ``selectRequested(index)`` (-1 = Input, -2 = none),
    ``pickingChanged(hint)`` while "Add skip connection" waits for its second block ("" when done)."""

    selectRequested = pyqtSignal(int)
    pickingChanged = pyqtSignal(str)

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
        self.selected_wire: tuple[int, int] | None = None   # (src, dst): view state, like ``selected``
        self.cards: list[CardItem] = []
        self.edges: list[EdgeItem] = []
        self.layout_: Layout = layout_network([], 1)
        self._rows = 0
        self._press: tuple[QPoint, int] | None = None
        self._indicator: QGraphicsItem | None = None
        self._connect_from: int | None = None   # a connection drag from this block's output port
        self._rubber: QGraphicsLineItem | None = None
        self._skip_from: int | None = None     # "Add skip connection" waiting for its later block

    # ---- drawing ----------------------------------------------------------
    def geometry_(self) -> Geometry:
        """Card and gap sizes: a chain keeps today's spacing; a graph gets room for sideways steps."""
        gap = GRAPH_V_GAP if self.view.is_graph else V_GAP
        return Geometry(CARD_W, CARD_H, gap, COL_GAP, LANE_GAP, MARGIN)

    def refresh(self, view: NetworkView, selected: int) -> None:
        """Redraw every card and wire from ``view`` (built from the spec) with ``selected`` highlighted."""
        self.view, self.selected = view, selected
        self._rows = self.rows_per_column()
        scene = self.scene()
        scene.clear()
        self._indicator = self._rubber = None
        self.cards, self.edges = [], []
        labels = {card.index: card.shape_text for card in view.cards}
        metrics = QFontMetricsF(label_font(self.font()))
        sources = view.sources if len(view.sources) == len(view.cards) - 1 else \
            [(i - 1,) for i in range(len(view.cards) - 1)]
        self.layout_ = layout_network(sources, self._rows, self.geometry_(), labels,
                                      lambda text: metrics.horizontalAdvance(text) + 2)
        for info in view.cards:
            card = CardItem(info, selected=info.index == selected)
            card.setPos(QPointF(*self.layout_.positions[info.index]))
            scene.addItem(card)
            self.cards.append(card)
        problem = view.problem
        red = problem.index if problem is not None and problem.field == "inputs" else None
        if self.selected_wire is not None and self.layout_.wire(*self.selected_wire) is None:
            self.selected_wire = None
        for wire in self.layout_.wires:
            edge = EdgeItem(wire, selected=(wire.src, wire.dst) == self.selected_wire, error=wire.dst == red)
            scene.addItem(edge)
            self.edges.append(edge)
        scene.setSceneRect(0, 0, self.layout_.width, self.layout_.height)

    def show_card(self, index: int) -> None:
        """Scroll so the card of layer ``index`` (-1 = Input) is in view (a click in the problems
        list may name a block in a column that is scrolled away: VGG16 has 39)."""
        card = next((c for c in self.cards if c.info.index == index), None)
        if card is not None:
            self.ensureVisible(card, MARGIN, MARGIN)

    def rows_per_column(self) -> int:
        gap = self.geometry_().v_gap
        usable = self.viewport().height() - MARGIN - 4 + gap // 2
        return max(3, int(usable // (CARD_H + gap)))

    def card_pos(self, pos: int) -> QPointF:
        """Top-left of the ``pos``-th card (0 = Input, k = layer k - 1)."""
        return QPointF(*self.layout_.positions[pos - 1])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.rows_per_column() != self._rows:
            self.refresh(self.view, self.selected)

    def card_at(self, view_pos: QPoint) -> CardItem | None:
        for item in self.items(view_pos):
            if isinstance(item, CardItem):
                return item
        return None

    def edge_at(self, view_pos: QPoint) -> EdgeItem | None:
        for item in self.items(view_pos):
            if isinstance(item, EdgeItem):
                return item
        return None

    def output_port_at(self, scene_pos: QPointF) -> int | None:
        """The block whose output port is under ``scene_pos`` (found in the layout), or None."""
        for index in self.layout_.positions:
            x, y = self.layout_.output_port(index)
            if (x - scene_pos.x()) ** 2 + (y - scene_pos.y()) ** 2 <= PORT_PICK ** 2:
                return index
        return None

    def input_target_at(self, scene_pos: QPointF) -> int | None:
        """The layer whose input a connection dropped at ``scene_pos`` reaches: its input port
        or anywhere on its card (never the Input block, which has no input)."""
        for index in self.layout_.positions:
            if index < 0:
                continue
            x, y = self.layout_.input_port(index)
            rx, ry, rw, rh = self.layout_.card_rect(index)
            near_port = (x - scene_pos.x()) ** 2 + (y - scene_pos.y()) ** 2 <= PORT_PICK ** 2
            if near_port or (rx <= scene_pos.x() <= rx + rw and ry <= scene_pos.y() <= ry + rh):
                return index
        return None

    # ---- insertion points -----------------------------------------------------
    def insertion_index(self, scene_pos: QPointF) -> int:
        """The layer index a block dropped at ``scene_pos`` gets in a chain: the nearest gap."""
        best, best_d = 0, float("inf")
        for k in range(len(self.cards)):  # gap k sits just below card k (card 0 = Input)
            p = self.gap_point(k)
            d = (p.x() - scene_pos.x()) ** 2 + (p.y() - scene_pos.y()) ** 2
            if d < best_d:
                best, best_d = k, d
        return best

    def gap_point(self, k: int) -> QPointF:
        """The middle of the gap below card ``k`` (0 = Input): on the wire into layer ``k`` in a chain."""
        x, y = self.layout_.output_port(k - 1)
        return QPointF(x, y + self.geometry_().v_gap / 2)

    def drop_target(self, scene_pos: QPointF) -> tuple[int, int] | int:
        """Where a block dropped at ``scene_pos`` goes in a graph: the nearest wire ``(src, dst)``,
        or the layer count (append below the last block) when that gap is nearer."""
        n = len(self.cards) - 1
        best: tuple[int, int] | int = n
        end = self.gap_point(n)
        best_d = ((end.x() - scene_pos.x()) ** 2 + (end.y() - scene_pos.y()) ** 2) ** 0.5
        for wire in self.layout_.wires:
            if wire.backward:
                continue
            d = distance_to_wire((scene_pos.x(), scene_pos.y()), wire)
            if d < best_d:
                best, best_d = (wire.src, wire.dst), d
        return best

    def _clear_indicator(self) -> None:
        if self._indicator is not None:
            self.scene().removeItem(self._indicator)
            self._indicator = None

    def _show_indicator(self, k: int | None) -> None:
        self._clear_indicator()
        if k is not None:
            p = self.gap_point(k)
            self._indicator = self.scene().addLine(p.x() - CARD_W / 2, p.y(), p.x() + CARD_W / 2, p.y(),
                                                   QPen(QColor("#1565c0"), 3))

    def _show_target(self, target: tuple[int, int] | int) -> None:
        """Mark a graph drop target: the whole wire in blue, or the append gap."""
        if isinstance(target, int):
            self._show_indicator(target)
            return
        self._clear_indicator()
        wire = self.layout_.wire(*target)
        path = QPainterPath(QPointF(*wire.points[0]))
        for p in wire.points[1:]:
            path.lineTo(QPointF(*p))
        self._indicator = self.scene().addPath(path, QPen(QColor("#1565c0"), 4))

    # ---- drag and drop ----------------------------------------------------------
    def _editable(self) -> bool:
        return not getattr(self.state.document, "read_only", False)

    def _accepts(self, mime: QMimeData) -> bool:
        return self._editable() and (mime.hasFormat(LAYER_MIME) or mime.hasFormat(MOVE_MIME))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._accepts(event.mimeData()):
            pos = self.mapToScene(event.position().toPoint())
            if self.view.is_graph:
                self._show_target(self.drop_target(pos))
            else:
                self._show_indicator(self.insertion_index(pos))
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
        pos = self.mapToScene(event.position().toPoint())
        event.acceptProposedAction()
        if self.view.is_graph:
            self._drop_in_graph(mime, self.drop_target(pos))
            return
        gap = self.insertion_index(pos)
        if mime.hasFormat(LAYER_MIME):
            type_name = mime.data(LAYER_MIME).data().decode()
            edits.add_layer(self.state.document, gap, type_name)
            self.selectRequested.emit(gap)
        else:
            source = int(mime.data(MOVE_MIME).data().decode())
            target = gap if gap <= source else gap - 1  # the block leaves its old slot first
            edits.move_layer(self.state.document, source, target)
            self.selectRequested.emit(target)

    def _drop_in_graph(self, mime: QMimeData, target: tuple[int, int] | int) -> None:
        document = self.state.document
        if mime.hasFormat(LAYER_MIME):
            type_name = mime.data(LAYER_MIME).data().decode()
            if isinstance(target, int):
                edits.append_layer(document, type_name)
                self.selectRequested.emit(len(document.spec.layers) - 1)
            else:
                wiring.insert_on_wire(document, target[0], target[1], type_name)
                self.selectRequested.emit(target[1])
            return
        source = int(mime.data(MOVE_MIME).data().decode())
        if isinstance(target, int) or source in target:
            return   # the end of a graph, or a wire of the block itself: nowhere to move it
        wiring.move_onto_wire(document, source, *target)
        dst = target[1] - 1 if target[1] > source else target[1]
        self.selectRequested.emit(dst)

    # ---- mouse and keys -----------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        view_pos = event.position().toPoint()
        scene_pos = self.mapToScene(view_pos)
        left = event.button() == Qt.MouseButton.LeftButton
        self.setFocus()
        if self._skip_from is not None:
            self._finish_skip(self.card_at(view_pos) if left else None)
            return
        port = self.output_port_at(scene_pos) if left and self._editable() else None
        if port is not None:   # a connection drag: a rubber-band line follows the mouse
            self._connect_from = port
            start = QPointF(*self.layout_.output_port(port))
            self._rubber = self.scene().addLine(start.x(), start.y(), scene_pos.x(), scene_pos.y(),
                                                QPen(QColor("#1565c0"), 2, Qt.PenStyle.DashLine))
            return
        card = self.card_at(view_pos)
        edge = self.edge_at(view_pos) if card is None else None
        index = card.info.index if card is not None else -2
        self._press = (view_pos, index) if left else None
        self.select_wire((edge.src, edge.dst) if edge is not None else None)
        self.selectRequested.emit(index)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._connect_from is not None:
            pos = self.mapToScene(event.position().toPoint())
            line = self._rubber.line()
            line.setP2(pos)
            self._rubber.setLine(line)
            target = self.input_target_at(pos)
            for card in self.cards:
                want = "in" if card.info.index == target and target != self._connect_from else ""
                if card.highlight != want:
                    card.highlight = want
                    card.update()
            return
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
        if self._connect_from is not None:
            src, self._connect_from = self._connect_from, None
            if self._rubber is not None:
                self.scene().removeItem(self._rubber)
                self._rubber = None
            dst = self.input_target_at(self.mapToScene(event.position().toPoint()))
            for card in self.cards:
                card.highlight = ""
                card.update()
            if dst is not None and dst != src and self._editable():
                wiring.connect(self.state.document, src, dst)
                self.selectRequested.emit(dst)
            return
        super().mouseReleaseEvent(event)

    def select_wire(self, wire: tuple[int, int] | None) -> None:
        self.selected_wire = wire
        for edge in self.edges:
            on = (edge.src, edge.dst) == wire
            if edge.selected != on:   # a new item: the pen follows the selection
                edge.selected = on
                pen = edge.pen()
                pen.setWidthF(3 if on else 1.5)
                pen.setColor(QColor("#1565c0") if on else QColor("#555555"))
                edge.setPen(pen)
                edge.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Escape and self._skip_from is not None:
            self.cancel_skip()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            if self.selected_wire is not None:
                self.delete_selected_wire()
                return
            if self.selected >= 0:
                self.delete_selected()
                return
        step = {int(Qt.Key.Key_Down): 1, int(Qt.Key.Key_Up): -1}.get(key)   # event.key() is an int
        if step is not None and self.cards:  # walk the list: -1 (Input) .. last layer
            last = len(self.cards) - 2
            self.selectRequested.emit(min(max(self.selected + step, -1), last))
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        card = self.card_at(event.pos())
        if card is None:
            edge = self.edge_at(event.pos())
            if edge is None:
                return
            self.select_wire((edge.src, edge.dst))
            self.selectRequested.emit(-2)
            menu = QMenu(self)
            remove = menu.addAction("Delete connection")
            remove.setEnabled(self._editable())
            if menu.exec(event.globalPos()) is remove:
                self.delete_selected_wire()
            return
        index = card.info.index
        self.selectRequested.emit(index)
        menu = QMenu(self)
        delete = menu.addAction("Delete") if index >= 0 else None
        duplicate = menu.addAction("Duplicate") if index >= 0 else None
        skip = menu.addAction("Add skip connection...")
        for action in (delete, duplicate, skip):
            if action is not None:
                action.setEnabled(self._editable())
        skip.setEnabled(self._editable() and index < len(self.cards) - 2)
        chosen = menu.exec(event.globalPos())
        if chosen is None:
            return
        if chosen is delete:
            self.delete_selected()
        elif chosen is duplicate:
            self.duplicate_selected()
        elif chosen is skip:
            self.start_skip(index)

    # ---- skip connections -----------------------------------------------------------
    def start_skip(self, start: int) -> None:
        """Wait for a click on a later block: an Add after it will sum its output with ``start``'s."""
        if not self._editable() or not -1 <= start < len(self.cards) - 2:
            return
        self._skip_from = start
        name = "the Input" if start < 0 else f"layer {start + 1} {self.view.cards[start + 1].type_name}"
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.pickingChanged.emit(SKIP_HINT.format(start=name))

    def cancel_skip(self) -> None:
        self._skip_from = None
        self.unsetCursor()
        self.pickingChanged.emit("")

    def _finish_skip(self, card: CardItem | None) -> None:
        start = self._skip_from
        self.cancel_skip()
        if card is None or start is None or card.info.index <= start or not self._editable():
            return   # a click beside the blocks, or on one that is not later: nothing to join
        wiring.add_skip_connection(self.state.document, start, card.info.index)
        self.selectRequested.emit(card.info.index + 1)   # the new Add

    # ---- edits on the selection --------------------------------------------------
    def delete_selected_wire(self) -> None:
        wire, self.selected_wire = self.selected_wire, None
        if wire is None or not self._editable():
            return
        wiring.disconnect(self.state.document, *wire)

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
