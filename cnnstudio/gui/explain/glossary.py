"""The "?" buttons: each opens its glossary entry (``project.glossary``) in a small window.

Widgets never carry the explanation's text: they name an entry by key (``project.glossary``'s
``layer_key``/``hyper_key``/``setting_key`` or a ``plot.*`` key) and these helpers make the "?":

- ``help_button(key)``: a small "?" tool button, for forms and bars;
- ``with_help(widget, key)``: ``widget`` with a "?" after it (a form row's field);
- ``help_label(text, key)``: a form row's label with a "?" after it (where the fields may be
  scrolled out of a narrow dock, the label column stays in view);
- ``attach_corner_help(widget, key)``: a "?" floating in ``widget``'s top-left corner (plots; the
  top-right one holds the Export button);
- ``HelpBadge(key, parent_item)``: a "?" drawn on a graphics item (the editor's cards);
- ``add_palette_help(tree)``: a "?" beside every block of the layer palette.

Every "?" keeps its key in the ``glossaryKey`` property, so tests and the teacher's layout
find them without knowing the widgets.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QEvent, QObject, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PyQt6.QtWidgets import (QGraphicsItem, QGraphicsSceneMouseEvent, QHBoxLayout, QLabel, QMessageBox,
                             QStyleOptionGraphicsItem, QToolButton, QTreeWidget, QWidget)

from cnnstudio.gui.common import plot_export
from cnnstudio.project.glossary import entry, has_entry, layer_key

KEY_PROPERTY = "glossaryKey"
BUTTON_PX = 18
BADGE_R = 7.0


def show_entry(parent: QWidget | None, key: str) -> QMessageBox:
    """Open entry ``key`` in a small non-modal window (closing it deletes it)."""
    e = entry(key)
    box = QMessageBox(parent)
    box.setWindowTitle(f"What is {e['title']}?")
    box.setText(f"<b>{e['title']}</b>")
    box.setInformativeText(e["text"])
    box.setObjectName(f"glossary-{key}")
    box.setProperty(KEY_PROPERTY, key)
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def help_button(key: str, parent: QWidget | None = None) -> QToolButton:
    """A "?" that explains ``key`` in plain words."""
    title = entry(key)["title"]   # an unknown key fails where the button is made, not when clicked
    button = QToolButton(parent)
    button.setText("?")
    button.setObjectName(f"help-{key}")
    button.setProperty(KEY_PROPERTY, key)
    button.setToolTip(f"What is {title}?")
    button.setFixedSize(BUTTON_PX, BUTTON_PX)
    button.setAutoRaise(True)
    button.setStyleSheet("QToolButton { font-weight: bold; color: #1565c0; }")
    button.clicked.connect(lambda: show_entry(button.window(), key))
    return button


def with_help(widget: QWidget, key: str) -> QWidget:
    """``widget`` followed by a "?" for ``key``, as one widget (for a form row's field)."""
    host = QWidget()
    row = QHBoxLayout(host)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(2)
    row.addWidget(widget, 1)
    row.addWidget(help_button(key))
    return host


class HelpLabel(QWidget):
    """A form label followed by a "?"; ``label`` is the QLabel with the text."""

    def __init__(self, text: str, key: str):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.label = QLabel(text)
        row.addWidget(self.label)
        row.addWidget(help_button(key))
        row.addStretch(1)


def help_label(text: str, key: str) -> HelpLabel:
    """A form label ``text`` followed by a "?" for glossary entry ``key``."""
    return HelpLabel(text, key)


class _Corner(QObject):
    """Keeps a "?" in its host's top-left corner, above the host's other children."""

    def __init__(self, host: QWidget, button: QToolButton):
        super().__init__(host)
        self.host, self.button = host, button
        host.installEventFilter(self)
        self.place()

    def place(self) -> None:
        self.button.move(2, 2)
        self.button.raise_()

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:  # noqa: N802 - Qt override
        if obj is self.host and event is not None and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.place()
        return False


def attach_corner_help(widget: QWidget, key: str) -> QToolButton:
    """A "?" for ``key`` floating in ``widget``'s top-left corner (over a plot)."""
    button = help_button(key, widget)
    button.setAutoRaise(False)
    button.setStyleSheet("QToolButton { font-weight: bold; color: #1565c0; background: #f4f7fb; "
                         "border: 1px solid #90a4ae; border-radius: 8px; }")
    _Corner(widget, button)
    button.show()
    plot_export.reserve_corner_row(widget)   # a plot's title and axes start under the "?"
    return button


class HelpBadge(QGraphicsItem):
    """A round "?" on a graphics item (a card of the editor); a click opens entry ``key``."""

    def __init__(self, key: str, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        entry(key)
        self.key = key
        self.setToolTip(f"What is {entry(key)['title']}?")
        self.setCursor(Qt.CursorShape.WhatsThisCursor)
        self.setZValue(2)
        self.box: QMessageBox | None = None

    def boundingRect(self) -> QRectF:
        return QRectF(-BADGE_R - 1, -BADGE_R - 1, 2 * BADGE_R + 2, 2 * BADGE_R + 2)

    def paint(self, painter: QPainter | None, option: QStyleOptionGraphicsItem | None,
              widget: QWidget | None = None) -> None:
        assert painter is not None
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#90a4ae"), 1))
        painter.setBrush(QBrush(QColor("#f4f7fb")))
        painter.drawEllipse(QRectF(-BADGE_R, -BADGE_R, 2 * BADGE_R, 2 * BADGE_R))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(11)
        painter.setFont(font)
        painter.setPen(QColor("#1565c0"))
        painter.drawText(QRectF(-BADGE_R, -BADGE_R, 2 * BADGE_R, 2 * BADGE_R), Qt.AlignmentFlag.AlignCenter, "?")

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent | None) -> None:  # noqa: N802 - Qt override
        if event is None or event.button() != Qt.MouseButton.LeftButton:
            return
        event.accept()
        scene = self.scene()
        views = scene.views() if scene is not None else []
        self.box = show_entry(views[0].window() if views else None, self.key)


def add_palette_help(tree: QTreeWidget, type_role: Any) -> None:
    """A "?" in a new last column beside every block of the palette (the items whose column 0
    carries a type name under ``type_role``); the column before it takes the spare width."""
    column = tree.columnCount()
    tree.setColumnCount(column + 1)
    header = tree.header()
    if header is not None:
        header.setStretchLastSection(False)
        if column > 0:
            header.setSectionResizeMode(column - 1, header.ResizeMode.Stretch)
        header.setSectionResizeMode(column, header.ResizeMode.Fixed)
        header.resizeSection(column, BUTTON_PX + 6)
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        stack.extend(item.child(j) for j in range(item.childCount()))
        name = item.data(0, type_role)
        if name and has_entry(layer_key(str(name))):
            tree.setItemWidget(item, column, help_button(layer_key(str(name))))
