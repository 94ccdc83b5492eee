"""Health messages in plain language, each with its one-click fixes.

A view only: it shows ``HealthIssue`` objects (engine.health) and emits
``fixRequested(Fix)``; the TrainingController carries the fix out. Fixes that edit
the network are disabled while training runs, with the reason in the tooltip.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cnnstudio.engine.health import Fix, HealthIssue

_COLOURS = {"error": ("#fdecea", "#b3261e"), "warning": ("#fff8e1", "#8a6d00")}


class IssueCard(QFrame):
    """One issue: its message and a button per fix."""

    def __init__(self, issue: HealthIssue, on_fix, on_dismiss, parent: QWidget | None = None):
        super().__init__(parent)
        self.issue = issue
        bg, fg = _COLOURS.get(issue.severity, _COLOURS["warning"])
        self.setObjectName("healthIssue")
        self.setStyleSheet(f"#healthIssue {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self.label = QLabel(issue.message)
        self.label.setWordWrap(True)
        self.label.setStyleSheet(f"color: {fg};")
        layout.addWidget(self.label)
        # One fix per line: labels are sentences, and the dock is narrow.
        self.buttons: dict[str, QPushButton] = {}
        for fix in issue.fixes:
            button = QPushButton(fix.label)
            button.setToolTip(fix.label)
            button.clicked.connect(lambda _=False, f=fix: on_fix(self, f))
            layout.addWidget(button)
            self.buttons[fix.action] = button
        row = QHBoxLayout()
        row.addStretch(1)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(lambda: on_dismiss(self))
        row.addWidget(dismiss)
        layout.addLayout(row)

    def set_training(self, running: bool) -> None:
        for fix in self.issue.fixes:
            button = self.buttons[fix.action]
            blocked = fix.needs_stopped and running
            button.setEnabled(not blocked)
            button.setToolTip("Stop training first: this fix edits the network" if blocked else fix.label)


class HealthView(QWidget):
    """A column of issue cards, newest first, with a one-line status of the last fix."""

    fixRequested = pyqtSignal(object)  # Fix

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("healthView")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("No problems seen.")
        self.status.setWordWrap(True)
        self._layout.addWidget(self.status)
        self.cards: list[IssueCard] = []
        self._running = False

    def add_issues(self, issues: list[HealthIssue]) -> None:
        """Show new issues; a ``resolved`` one takes the card with its key down and says so."""
        resolved: list[str] = []
        for issue in issues:
            self.cards = [c for c in self.cards if c.issue.key != issue.key or self._drop(c)]
            if issue.resolved:
                resolved.append(issue.message)
                continue
            card = IssueCard(issue, self._on_fix, self._on_dismiss, self)
            card.set_training(self._running)
            self.cards.insert(0, card)
            self._layout.insertWidget(1, card)
        if not issues:
            return
        count = f"{len(self.cards)} health message(s):" if self.cards else "No problems now."
        self.status.setText(" ".join(resolved + [count]) if resolved else count)

    def set_training(self, running: bool) -> None:
        self._running = running
        for card in self.cards:
            card.set_training(running)

    def show_result(self, text: str) -> None:
        self.status.setText(text)

    def clear(self) -> None:
        for card in list(self.cards):
            self._drop(card)
        self.cards = []
        self.status.setText("No problems seen.")

    def _on_fix(self, card: IssueCard, fix: Fix) -> None:
        self.fixRequested.emit(fix)
        if not (fix.needs_stopped and self._running):
            self._on_dismiss(card)

    def _on_dismiss(self, card: IssueCard) -> None:
        if card in self.cards:
            self.cards.remove(card)
        self._drop(card)

    def _drop(self, card: IssueCard) -> bool:
        card.hide()
        card.setParent(None)
        card.deleteLater()
        return False
