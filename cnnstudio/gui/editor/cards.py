"""Graphics items of the editor canvas: one card per block and an arrow per edge.

Items are pure drawings of a ``CardInfo``; they hold no network state of their own.
"""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import (QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPainterPathStroker, QPen,
                         QPolygonF)
from PyQt6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.layout import Wire
from cnnstudio.gui.editor.view_model import ERROR, CardInfo
from cnnstudio.gui.explain.glossary import HelpBadge
from cnnstudio.project.glossary import has_entry, layer_key

CARD_W, CARD_H = 184, 62
V_GAP, COL_GAP, MARGIN = 28, 60, 20
LABEL_W = CARD_W / 2 + COL_GAP / 2 - 14  # an edge label: from just right of the arrow to the gutter line
#: graphs: taller gaps (wires step sideways there) and the gap between the columns of a band
GRAPH_V_GAP, LANE_GAP = 28, 40
#: ports: the radius drawn, the radius a press or a drop finds; a wire's pick width
PORT_R, PORT_PICK, WIRE_PICK = 4.5, 11, 9

#: card tint per palette category (light, so black text stays readable)
CATEGORY_COLORS = {
    "input": "#e8e8e8", "conv": "#d6e6fb", "activation": "#fde7c8", "pool": "#d7f0d9",
    "reshape": "#ececec", "dense": "#e6dcf7", "regularization": "#f3e3d3",
    "normalization": "#d3efed", "output": "#fbd9de",
}
ERROR_FILL, ERROR_BORDER = QColor("#ffc9c9"), QColor("#c62828")
SELECTED_BORDER = QColor("#1565c0")


def category_of(type_name: str) -> str:
    cls = LAYER_TYPES.get(type_name)
    return cls.category if cls is not None else "input"


def format_count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


class CardItem(QGraphicsItem):
    """A block: type and parameter count, key hyperparameters, output shape."""

    def __init__(self, info: CardInfo, selected: bool = False):
        super().__init__()
        self.info = info
        self.selected = selected
        self.highlight = ""   # "in" / "out": the port a connection drag is over
        self.setToolTip(info.tooltip)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.OpenHandCursor if info.index >= 0 else Qt.CursorShape.ArrowCursor)
        # a "?" on the top-right corner: the block's glossary entry
        key = layer_key(info.type_name if info.index >= 0 else "")
        self.help = HelpBadge(key, self) if has_entry(key) else None   # (an unknown type's card has none)
        if self.help is not None:
            self.help.setPos(CARD_W, 0)

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -PORT_R - 2, CARD_W + 4, CARD_H + 2 * PORT_R + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        info = self.info
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        error = info.status == ERROR
        fill = ERROR_FILL if error else QColor(CATEGORY_COLORS.get(category_of(info.type_name), "#eeeeee"))
        border = SELECTED_BORDER if self.selected else (ERROR_BORDER if error else QColor("#8a8a8a"))
        painter.setPen(QPen(border, 3 if self.selected or error else 1))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(QRectF(0, 0, CARD_W, CARD_H), 7, 7)

        pad = 8
        inner = CARD_W - 2 * pad
        base = QFont(painter.font())
        bold = QFont(base)
        bold.setBold(True)
        painter.setPen(QColor("#b71c1c") if error else QColor("#111111"))
        painter.setFont(bold)
        title = "Input" if info.index < 0 else f"{info.index + 1}  {info.type_name}"
        painter.drawText(QRectF(pad, 4, inner, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(base)
        if info.index >= 0:
            params = "params ?" if info.params is None else f"{info.params:,} p"
            painter.drawText(QRectF(pad, 4, inner, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             params)
        painter.setPen(QColor("#333333"))
        summary = QFontMetrics(base).elidedText(info.summary or " ", Qt.TextElideMode.ElideRight, int(inner))
        painter.drawText(QRectF(pad, 22, inner, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, summary)
        painter.setPen(QColor("#b71c1c") if error else QColor("#0d47a1"))
        if error:
            shape = f"out {info.shape_text}  (error: hover)" if info.shape_text != "?" else "error: hover for the fix"
        else:
            shape = f"out {info.shape_text}"
        painter.drawText(QRectF(pad, 41, inner, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shape)
        if info.receptive_field and not error:   # what one unit of this layer sees of the input image
            painter.setPen(QColor("#555555"))
            painter.drawText(QRectF(pad, 41, inner, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"RF {info.receptive_field}")
        self._paint_ports(painter)

    def _paint_ports(self, painter: QPainter) -> None:
        """An input port on top (not on the Input block) and an output port below, where wires meet."""
        painter.setPen(QPen(QColor("#555555"), 1))
        for port, y in (("in", 0.0), ("out", float(CARD_H))):
            if port == "in" and self.info.index < 0:
                continue
            painter.setBrush(QColor(SELECTED_BORDER if self.highlight == port else "#ffffff"))
            painter.drawEllipse(QPointF(CARD_W / 2, y), PORT_R, PORT_R)


class EdgeItem(QGraphicsPathItem):
    """A wire from one card's output port to another's input port, labelled with the tensor shape.

    Drawn exactly along the layout's polyline (``layout.Wire.points``), the label in the box the
    layout chose for it; ``src``/``dst`` name the wire for selection and Delete.
    """

    def __init__(self, wire: Wire, selected: bool = False, error: bool = False):
        super().__init__()
        self.wire = wire
        self.src, self.dst = wire.src, wire.dst
        self.label = wire.label
        self.selected = selected
        self.start, self.end = QPointF(*wire.points[0]), QPointF(*wire.points[-1])
        path = QPainterPath(self.start)
        for p in wire.points[1:]:
            path.lineTo(QPointF(*p))
        self.setPath(path)
        colour = SELECTED_BORDER if selected else (ERROR_BORDER if error or wire.backward else QColor("#555555"))
        pen = QPen(colour, 3 if selected else 1.5)
        if wire.backward:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setZValue(-1)
        x, y, w, h = wire.label_rect or (self.start.x() + 8, self.start.y(), LABEL_W, 16)
        self._label_rect = QRectF(x, y, max(w, 1.0), h)
        self.setToolTip(f"{wire.label}: click to select, Delete to remove" if wire.label else "")

    def shape(self) -> QPainterPath:
        """A few pixels either side of the line: what a click or hover picks."""
        stroker = QPainterPathStroker()
        stroker.setWidth(WIRE_PICK)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        painter.setBrush(self.pen().color())
        painter.drawPolygon(self.head())
        if not self.label:
            return
        font = label_font(painter.font())
        painter.setFont(font)
        painter.setPen(QColor("#0d47a1"))
        # a longer label than its box is elided with "...", never cut mid-digit
        width = self._label_rect.width() + 4   # the box is the measured text; a little slack for rounding
        text = QFontMetrics(font).elidedText(self.label, Qt.TextElideMode.ElideRight, int(width))
        painter.drawText(QRectF(self._label_rect.x(), self._label_rect.y(), width, self._label_rect.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    def head(self) -> QPolygonF:
        """The arrow head: 8 long, 10 wide, along the last piece, its tip on the port's rim."""
        tip = self.end
        before = QPointF(*self.wire.points[-2]) if len(self.wire.points) > 1 else tip
        dx, dy = tip.x() - before.x(), tip.y() - before.y()
        length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
        ux, uy = dx / length, dy / length   # the arrow head points along the last piece
        tip = QPointF(tip.x() - PORT_R * ux, tip.y() - PORT_R * uy)   # and touches the port's rim
        back = QPointF(tip.x() - 8 * ux, tip.y() - 8 * uy)
        return QPolygonF([tip, QPointF(back.x() - 5 * uy, back.y() + 5 * ux),
                          QPointF(back.x() + 5 * uy, back.y() - 5 * ux)])

    def boundingRect(self) -> QRectF:
        """Everything paint touches: the line, the head with the (selected: 3 px) pen's stroke and
        antialiasing, the label. A tighter rect left half an arrow head on the canvas when a
        selected wire was deleted (the view repaints only the removed item's rect)."""
        pad = self.pen().widthF() / 2 + 2
        head = self.head().boundingRect().adjusted(-pad, -pad, pad, pad)
        return (super().boundingRect().adjusted(-pad, -pad, pad, pad).united(head)
                .united(self._label_rect.adjusted(0, 0, 4, 0)))


def label_font(base: QFont) -> QFont:
    """The font wire labels are drawn in (a little smaller than the cards')."""
    font = QFont(base)
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
    return font
