"""Messages from the layers below, in the app's terms.

The data and project layers advise with the command line's flags (``--data sample``,
``--grayscale``); a person in the app has buttons instead, so their messages are reworded
here before a dialog shows them. Unknown text passes through unchanged.
"""

from __future__ import annotations

import re

_RULES = [
    (re.compile(r"\(--data sample\)"), "('Bundled sample' in the Dataset panel)"),
    (re.compile(r"use --data sample"), "use the bundled sample"),
    (re.compile(r", or convert the images with --(grayscale|rgb)"),
     " (select the Input block in the editor)"),
    (re.compile(r"pass --labels FILE"), "put its labels file next to it"),
]


def in_app_terms(message: str) -> str:
    """``message`` with command-line advice replaced by what to do in the app."""
    for pattern, replacement in _RULES:
        message = pattern.sub(replacement, message)
    return message
