"""The confusion matrix as one custom-painted widget.

Rows are true classes, columns predicted ones, each cell shows its count. Colour
follows the share of the row (the true class), square-rooted so that a few mistakes
still show next to a full diagonal: blue on the diagonal (right), orange off it (wrong).
Clicking a cell emits ``cellClicked(true, predicted)``.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnstudio.gui.common import plot_export

RIGHT = (40, 110, 200)
WRONG = (230, 110, 20)
EMPTY = QColor("#f4f4f4")
MIN_CELL, MAX_CELL = 18, 48
TITLE_PX = 18


class ConfusionMatrixView(QWidget):
    """``set_matrix(confusion (K, K), class_names)``; ``cellClicked(i, j)``; ``select(i, j)``."""

    cellClicked = pyqtSignal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.names: list[str] = []
        self.selected: tuple[int, int] | None = None
        self.setMouseTracking(True)
        # as tall as the grid needs (sizeHint), not more: the rest of the column goes to the chart
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(240, 240)
        plot_export.install(self, "Confusion matrix", kinds=(plot_export.CSV, plot_export.PNG), table=self.table)

    # ---- data ------------------------------------------------------------------
    def set_matrix(self, confusion: np.ndarray, class_names: list[str]) -> None:
        """confusion: int (K, K), rows = true, columns = predicted."""
        self.matrix = np.asarray(confusion, dtype=np.int64)
        k = self.matrix.shape[0]
        self.names = [str(n) for n in class_names][:k] + [str(i) for i in range(len(class_names), k)]
        self.selected = None
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_matrix(np.zeros((0, 0), np.int64), [])

    def select(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def count(self, i: int, j: int) -> int:
        return int(self.matrix[i, j])

    def table(self) -> plot_export.Table:
        """(header, rows) of the CSV export: a row per true class, a column per predicted class."""
        header = ["true class / predicted class"] + self.names
        return header, [[self.names[i]] + [int(n) for n in self.matrix[i]] for i in range(self.matrix.shape[0])]

    # ---- geometry --------------------------------------------------------------
    def _label_px(self) -> int:
        fm = QFontMetrics(self.font())
        widest = max((fm.horizontalAdvance(n) for n in self.names), default=0)
        return min(widest, 110) + 8

    def _grid(self) -> tuple[float, float, float]:
        """(left, top, cell) of the cell grid in widget pixels."""
        k = max(1, self.matrix.shape[0])
        label = self._label_px()
        left = TITLE_PX + label
        top = TITLE_PX + label
        cell = max(min((self.width() - left - 4) / k, (self.height() - top - 4) / k, MAX_CELL), 4.0)
        spare = self.width() - left - 4 - k * cell
        return left + max(spare, 0) / 2, top, cell  # centred when the widget is wider than the grid

    def cell_rect(self, i: int, j: int) -> QRectF:
        left, top, cell = self._grid()
        return QRectF(left + j * cell, top + i * cell, cell, cell)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        k = self.matrix.shape[0]
        left, top, cell = self._grid()
        j, i = int((pos.x() - left) // cell), int((pos.y() - top) // cell)
        return (i, j) if 0 <= i < k and 0 <= j < k and pos.x() >= left and pos.y() >= top else None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        k = max(1, self.matrix.shape[0])
        side = TITLE_PX + self._label_px() + k * 34 + 6
        return QSize(side, side)

    # ---- painting --------------------------------------------------------------
    def cell_colour(self, i: int, j: int) -> QColor:
        total = self.matrix[i].sum()
        if total == 0 or self.matrix[i, j] == 0:
            return EMPTY
        share = np.sqrt(self.matrix[i, j] / total)
        base = RIGHT if i == j else WRONG
        return QColor(*(int(round(255 - (255 - c) * (0.15 + 0.85 * share))) for c in base))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), self.palette().base())
        k = self.matrix.shape[0]
        if k == 0:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No evaluation yet: train, then press Evaluate")
            return
        self._paint_cells(p, k)
        self._paint_labels(p, k)

    def _paint_cells(self, p: QPainter, k: int) -> None:
        _, _, cell = self._grid()
        font = QFont(self.font())
        font.setPixelSize(int(max(7, min(13, cell * 0.38))))
        p.setFont(font)
        for i in range(k):
            for j in range(k):
                rect = self.cell_rect(i, j)
                colour = self.cell_colour(i, j)
                p.fillRect(rect, colour)
                p.setPen(QPen(QColor("#d0d0d0")))
                p.drawRect(rect)
                n = self.matrix[i, j]
                if n and cell >= 14:
                    p.setPen(QColor("white") if colour.lightness() < 140 else QColor("#202020"))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(n))
        if self.selected is not None:
            p.setPen(QPen(QColor("#000000"), 3))
            p.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1, -1))

    def _paint_labels(self, p: QPainter, k: int) -> None:
        left, top, cell = self._grid()
        p.setFont(self.font())
        p.setPen(self.palette().text().color())
        fm = QFontMetrics(self.font())
        label = self._label_px()
        for i, name in enumerate(self.names):
            text = fm.elidedText(name, Qt.TextElideMode.ElideRight, label - 6)
            p.drawText(QRectF(left - label, top + i * cell, label - 6, cell),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            p.save()  # column labels run upwards so long names fit
            p.translate(left + i * cell, top - 6)
            p.rotate(-90)
            p.drawText(QRectF(0, 0, label - 6, cell), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            p.restore()
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRectF(left, 0, k * cell, TITLE_PX), Qt.AlignmentFlag.AlignCenter, "predicted class")
        p.save()
        p.translate(left - label - TITLE_PX, top + k * cell)
        p.rotate(-90)
        p.drawText(QRectF(0, 0, k * cell, TITLE_PX), Qt.AlignmentFlag.AlignCenter, "true class")
        p.restore()

    # ---- mouse -----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        cell = self.cell_at(event.position())
        if cell is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.select(cell)
        self.cellClicked.emit(*cell)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        cell = self.cell_at(event.position())
        if cell is None:
            QToolTip.hideText()
            return
        i, j = cell
        total = int(self.matrix[i].sum())
        share = f" ({100 * self.matrix[i, j] / total:.0f}% of {self.names[i]})" if total else ""
        verdict = "correct" if i == j else "mistakes"
        QToolTip.showText(event.globalPosition().toPoint(),
                          f"true {self.names[i]}, predicted {self.names[j]}: {self.matrix[i, j]} images"
                          f"{share}, {verdict}; click to list them", self)
