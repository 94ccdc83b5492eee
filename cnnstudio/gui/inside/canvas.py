"""A canvas to draw a digit with the mouse: white ink on black, like MNIST.

Strokes are kept as point lists so "Undo stroke" can redraw the rest; the ink
lives in a fixed-size greyscale QImage (``SIZE`` x ``SIZE``) whatever the
widget's size, so the preprocessing sees the same picture at any zoom.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

SIZE = 280
DEFAULT_BRUSH = 20


class DrawingCanvas(QWidget):
    """``changed`` fires on every stroke segment; ``strokeFinished`` when the mouse is released."""

    changed = pyqtSignal()
    strokeFinished = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, size: int = SIZE):
        super().__init__(parent)
        self.brush = DEFAULT_BRUSH
        self.strokes: list[tuple[int, list[QPointF]]] = []  # (brush width, points in image pixels)
        self._drawing = False
        self._image = QImage(size, size, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(SIZE, SIZE)

    # ---- public API ----------------------------------------------------------
    def set_brush(self, width: int) -> None:
        """Brush diameter in canvas pixels (the canvas is SIZE x SIZE whatever its widget size)."""
        self.brush = max(1, int(width))

    def clear(self) -> None:
        self.strokes.clear()
        self._redraw()

    def undo(self) -> None:
        """Remove the last stroke."""
        if self.strokes:
            self.strokes.pop()
            self._redraw()

    def draw_stroke(self, points: list[tuple[float, float]], width: int | None = None) -> None:
        """Add a whole stroke at once; points are (x, y) in canvas pixels (0..SIZE)."""
        pts = [QPointF(float(x), float(y)) for x, y in points]
        self.strokes.append((int(width or self.brush), pts))
        self._paint_stroke(self.strokes[-1])
        self.update()
        self.changed.emit()
        self.strokeFinished.emit()

    def to_array(self) -> np.ndarray:
        """The ink as uint8 (SIZE, SIZE), 0 = background, 255 = full ink."""
        img = self._image
        ptr = img.constBits()
        assert ptr is not None   # the canvas image is never null, so it has pixel data
        rows = np.frombuffer(ptr.asstring(img.sizeInBytes()), np.uint8).reshape(img.height(), img.bytesPerLine())
        return rows[:, :img.width()].copy()

    def has_ink(self) -> bool:
        return bool(self.strokes)

    # ---- geometry ------------------------------------------------------------
    def _target(self) -> QRectF:
        """The square in widget coordinates where the canvas image is shown."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_canvas(self, pos: QPointF) -> QPointF:
        """Widget coordinates -> canvas image pixels."""
        t = self._target()
        scale = self._image.width() / t.width()
        return QPointF((pos.x() - t.x()) * scale, (pos.y() - t.y()) * scale)

    # ---- painting --------------------------------------------------------------
    def _pen(self, width: int) -> QPen:
        pen = QPen(QColor(255, 255, 255), width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint_stroke(self, stroke: tuple[int, list[QPointF]], from_index: int = 0) -> None:
        width, pts = stroke
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen(width))
        if from_index == 0:  # the dot at the press, exactly as while drawing, so a redraw is identical
            painter.drawPoint(pts[0])
        for a, b in zip(pts[max(0, from_index - 1):], pts[max(1, from_index):]):
            painter.drawLine(a, b)
        painter.end()

    def _redraw(self) -> None:
        self._image.fill(0)
        for stroke in self.strokes:
            self._paint_stroke(stroke)
        self.update()
        self.changed.emit()
        self.strokeFinished.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(60, 60, 60))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self._target(), self._image)
        painter.end()

    # ---- mouse -----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._drawing = True
        self.strokes.append((self.brush, [self.to_canvas(event.position())]))
        self._paint_stroke(self.strokes[-1])
        self.update()
        self.changed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._drawing or not (event.buttons() & Qt.MouseButton.LeftButton):
            return
        pts = self.strokes[-1][1]
        pts.append(self.to_canvas(event.position()))
        self._paint_stroke(self.strokes[-1], from_index=len(pts) - 1)
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or not self._drawing:
            return
        self._drawing = False
        self.strokeFinished.emit()
