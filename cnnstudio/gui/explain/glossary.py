"""The "?" button: opens the glossary entry (``project.glossary``) in a small window."""

from __future__ import annotations

from PyQt6.QtWidgets import QMessageBox, QToolButton, QWidget

from cnnstudio.project.glossary import entry


def show_entry(parent: QWidget | None, key: str) -> QMessageBox:
    e = entry(key)
    box = QMessageBox(parent)
    box.setWindowTitle(f"What is {e['title']}?")
    box.setText(f"<b>{e['title']}</b>")
    box.setInformativeText(e["text"])
    box.setObjectName(f"glossary-{key}")
    box.setModal(False)
    box.show()
    return box


def help_button(key: str, parent: QWidget | None = None) -> QToolButton:
    """A "?" that explains ``key`` in plain words."""
    entry(key)   # an unknown key fails where the button is made, not when clicked
    button = QToolButton(parent)
    button.setText("?")
    button.setToolTip(f"What is {entry(key)['title']}?")
    button.clicked.connect(lambda: show_entry(button.window(), key))
    return button
