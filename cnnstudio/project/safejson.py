"""Parsing untrusted JSON with bounded depth and numbers.

``json.loads`` raises RecursionError on deep nesting (5,000 levels), Python's int-digits
ValueError on integers over 4,300 digits, and accepts ``NaN``/``Infinity`` and ``1e999``
(infinite). :func:`loads` turns all of these into :class:`JsonLimitError` with a message
that says what was wrong, and checks the parsed tree's depth against ``MAX_JSON_DEPTH``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cnnstudio.project import limits


class JsonLimitError(ValueError):
    """The JSON text is malformed or exceeds a limit."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > limits.MAX_INT_DIGITS:
        raise JsonLimitError(f"an integer with {digits:,} digits (at most {limits.MAX_INT_DIGITS} are read)")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 64:
        raise JsonLimitError(f"a number written with {len(text):,} characters (at most 64 are read)")
    value = float(text)
    if not math.isfinite(value):
        raise JsonLimitError(f"the number {text} is too large for a float")
    return value


def _parse_constant(text: str) -> Any:
    raise JsonLimitError(f"{text} is not a JSON number")


def loads(raw: bytes, max_depth: int = limits.MAX_JSON_DEPTH) -> Any:
    """The parsed document; JsonLimitError for invalid UTF-8 or JSON, deep nesting or odd numbers."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonLimitError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except JsonLimitError:
        raise
    except RecursionError:
        raise JsonLimitError(f"nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JsonLimitError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit that slipped past the hook
        raise JsonLimitError(f"not valid JSON ({exc})"[:200]) from None
    check_depth(doc, max_depth)
    return doc


def check_depth(doc: Any, max_depth: int) -> None:
    """JsonLimitError if ``doc`` nests lists/objects more than ``max_depth`` deep. Iterative, and
    its memory grows with the depth only (one iterator per open container)."""
    if not isinstance(doc, (dict, list)):
        return
    stack = [iter(doc.values() if isinstance(doc, dict) else doc)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, (dict, list)):
                if len(stack) >= max_depth:
                    raise JsonLimitError(f"nested more than {max_depth} levels deep")
                stack.append(iter(child.values() if isinstance(child, dict) else child))
                break
        else:
            stack.pop()
