"""A panel for a dock: two parts side by side when the dock is wide, stacked when narrow."""

from __future__ import annotations

from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QBoxLayout, QWidget

#: dock width (pixels) from which the two parts of ``body`` go side by side
SIDE_BY_SIDE_PX = 760


class ResponsivePanel(QWidget):
    """Subclasses build ``self.body`` (a QBoxLayout holding the two parts) in their constructor."""

    body: QBoxLayout

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        # The dock's scroll area takes this as the least height; the layout's answer is the
        # preferred height (pyqtgraph hints are tall), which made the panel scroll in a dock
        # that had room for it. The minimum is what the panel really needs, at this width: a
        # wrapped label (Evaluation's two-line status at 1024x640) needs more lines than the width-free
        # minimum counts, and short of them the layout overlapped the confusion matrix's last row.
        least = self.minimumSizeHint().height()
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            least = max(least, layout.minimumHeightForWidth(width))
        return least

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        wide = event.size().width() >= SIDE_BY_SIDE_PX
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        body = getattr(self, "body", None)  # a resize can come before the subclass built it
        if body is not None and body.direction() != direction:
            body.setDirection(direction)
        super().resizeEvent(event)
