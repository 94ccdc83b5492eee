"""A grid of example thumbnails painted by one widget (not one QLabel per image).

Each tile: the image scaled up, "true -> predicted" and the confidence. Clicking a
tile emits ``exampleClicked(dataset_index)``. At most ``MAX_SHOWN`` tiles are shown;
the caption says how many there are in all. Tiles are as wide as the longest caption
needs (up to ``MAX_TILE_W``): a fixed 72 px cut "square -> circle" to "squar…ircle".
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QEvent, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PyQt6.QtWidgets import QSizePolicy, QToolTip, QWidget

THUMB = 56
TILE_W, TILE_H = 72, 94
#: the widest a tile grows for its caption; past it the caption is elided (the tooltip has it all)
MAX_TILE_W = 200
CAPTION_PX = 11
MAX_SHOWN = 200


def to_qimage(img: np.ndarray) -> QImage:
    """img: uint8 (H, W, 1) or (H, W, 3) -> a QImage owning a copy of the pixels."""
    img = np.ascontiguousarray(img)
    h, w, c = img.shape
    if c == 1:
        return QImage(img.tobytes(), w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(np.ascontiguousarray(img[..., :3]).tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class Gallery(QWidget):
    """``set_examples(indices, images, y, predicted, confidence, class_names)``."""

    exampleClicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.indices = np.zeros(0, dtype=np.int64)   # dataset indices, in display order
        self._tiles: list[tuple[QImage, str, str, bool]] = []
        self.current: int | None = None              # dataset index of the highlighted tile
        self.empty_text = "No examples"
        self.tile_w = TILE_W
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(TILE_W + 8, TILE_H + 8)

    def set_examples(self, indices: np.ndarray, images: np.ndarray, y: np.ndarray, predicted: np.ndarray,
                     confidence: np.ndarray, class_names: list[str]) -> None:
        """indices: dataset rows to show, in order; images: uint8 (N, H, W, C) of the whole set."""
        self.indices = np.asarray(indices, dtype=np.int64)
        name = (lambda k: str(class_names[k]) if k < len(class_names) else str(k))
        self._tiles = []
        for idx in self.indices[:MAX_SHOWN]:
            t, p = int(y[idx]), int(predicted[idx])
            self._tiles.append((to_qimage(images[idx]), f"{name(t)} → {name(p)}",
                                f"{100 * float(confidence[idx]):.0f}%", t == p))
        self.current = None
        fm = QFontMetrics(self.caption_font())
        widest = max((fm.horizontalAdvance(names) for _, names, _, _ in self._tiles), default=0)
        self.tile_w = int(min(MAX_TILE_W, max(TILE_W, widest + 8)))
        self.setMinimumWidth(self.tile_w + 8)
        self._fit_height()
        self.update()

    def caption_font(self) -> QFont:
        small = QFont(self.font())
        small.setPixelSize(CAPTION_PX)
        return small

    def clear(self, text: str = "No examples") -> None:
        self.empty_text = text
        self.indices = np.zeros(0, dtype=np.int64)
        self._tiles = []
        self._fit_height()
        self.update()

    @property
    def shown(self) -> list[int]:
        """Dataset indices of the tiles on screen, in order."""
        return [int(i) for i in self.indices[:MAX_SHOWN]]

    # ---- geometry --------------------------------------------------------------
    def _columns(self) -> int:
        return max(1, (self.width() - 4) // self.tile_w)

    def _fit_height(self) -> None:
        rows = max(1, -(-len(self._tiles) // self._columns()))
        self.setMinimumHeight(rows * TILE_H + 8)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_height()

    def tile_rect(self, k: int) -> QRectF:
        cols = self._columns()
        return QRectF(4 + (k % cols) * self.tile_w, 4 + (k // cols) * TILE_H, self.tile_w, TILE_H)

    def tile_at(self, x: float, y: float) -> int | None:
        cols = self._columns()
        col, row = int((x - 4) // self.tile_w), int((y - 4) // TILE_H)
        k = row * cols + col
        return k if 0 <= col < cols and row >= 0 and k < len(self._tiles) else None

    def caption_text(self, k: int, fm: QFontMetrics | None = None) -> str:
        """Tile ``k``'s "true → predicted" as painted (elided only past MAX_TILE_W)."""
        fm = fm if fm is not None else QFontMetrics(self.caption_font())
        return fm.elidedText(self._tiles[k][1], Qt.TextElideMode.ElideMiddle, self.tile_w - 2)

    # ---- painting and mouse ----------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self._tiles:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        small = self.caption_font()
        p.setFont(small)
        fm = QFontMetrics(small)
        for k, (img, names, conf, right) in enumerate(self._tiles):
            r = self.tile_rect(k)
            if not r.intersects(QRectF(event.rect())):
                continue
            img_rect = QRectF(r.x() + (self.tile_w - THUMB) / 2, r.y() + 2, THUMB, THUMB)
            p.drawImage(img_rect, img)
            p.setPen(QColor("#2a7a2a") if right else QColor("#b03a10"))
            p.drawText(QRectF(r.x(), r.y() + THUMB + 3, self.tile_w, 16), Qt.AlignmentFlag.AlignCenter,
                       self.caption_text(k, fm))
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(r.x(), r.y() + THUMB + 18, self.tile_w, 16), Qt.AlignmentFlag.AlignCenter, conf)
            if self.current is not None and int(self.indices[k]) == self.current:
                p.setPen(QPen(QColor("#1060d0"), 2))
                p.drawRect(r.adjusted(1, 1, -1, -1))

    def event(self, event: QEvent) -> bool:  # noqa: D401 - Qt override: a tooltip per tile
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)   # Qt sends ToolTip as a QHelpEvent
            k = self.tile_at(event.pos().x(), event.pos().y())
            if k is None:
                QToolTip.hideText()
            else:
                _, names, conf, _ = self._tiles[k]
                QToolTip.showText(event.globalPos(), f"Validation image {int(self.indices[k])}: {names} "
                                  f"({conf}); click for its probabilities", self)
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        k = self.tile_at(event.position().x(), event.position().y())
        if k is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.current = int(self.indices[k])
        self.update()
        self.exampleClicked.emit(self.current)
