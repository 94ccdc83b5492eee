"""Graphics items of the editor canvas: one card per block and an arrow per edge.

Items are pure drawings of a ``CardInfo``; they hold no network state of their own.
"""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen, QPolygonF
from PyQt6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.gui.editor.view_model import ERROR, CardInfo

CARD_W, CARD_H = 184, 62
V_GAP, COL_GAP, MARGIN = 28, 60, 20
LABEL_W = CARD_W / 2 + COL_GAP / 2 - 14  # an edge label: from just right of the arrow to the gutter line

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
        self.setToolTip(info.tooltip)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.OpenHandCursor if info.index >= 0 else Qt.CursorShape.ArrowCursor)

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, CARD_W + 4, CARD_H + 4)

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


class EdgeItem(QGraphicsPathItem):
    """An arrow from the bottom of one card to the top of the next, labelled with the tensor shape."""

    def __init__(self, start: QPointF, end: QPointF, label: str):
        super().__init__()
        self.label = label
        self.start, self.end = start, end
        path = QPainterPath(start)
        if abs(start.x() - end.x()) < 1:
            path.lineTo(end)
            self._label_pos = QPointF(start.x() + 8, (start.y() + end.y()) / 2)
        else:  # column break: down, across to the gutter, up, across, down into the next card
            mid_y = start.y() + V_GAP / 2
            gutter_x = start.x() + CARD_W / 2 + COL_GAP / 2
            top_y = end.y() - V_GAP / 2
            for p in ((start.x(), mid_y), (gutter_x, mid_y), (gutter_x, top_y), (end.x(), top_y), (end.x(), end.y())):
                path.lineTo(QPointF(*p))
            self._label_pos = QPointF(start.x() + 8, start.y() + V_GAP / 4 - 2)
        self.setPath(path)
        self.setPen(QPen(QColor("#555555"), 1.5))
        self.setZValue(-1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        super().paint(painter, option, widget)
        tip = self.end
        painter.setBrush(QColor("#555555"))
        painter.drawPolygon(QPolygonF([tip, QPointF(tip.x() - 5, tip.y() - 8), QPointF(tip.x() + 5, tip.y() - 8)]))
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        painter.setPen(QColor("#0d47a1"))
        # room up to the column-break connector in the gap (a card's half was too narrow for
        # "112 x 112 x 128"); a longer label is elided with "...", never cut mid-digit
        text = QFontMetrics(font).elidedText(self.label, Qt.TextElideMode.ElideRight, int(LABEL_W))
        painter.drawText(QRectF(self._label_pos.x(), self._label_pos.y() - 8, LABEL_W, 16),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(QRectF(self._label_pos.x(), self._label_pos.y() - 8, LABEL_W, 16))
