"""The glossary behind every "?" button: short plain-words explanations, shipped as data
(``resources/glossary/glossary.json``), never strings scattered through widgets."""

from __future__ import annotations

import json
from functools import lru_cache

from cnnstudio.resources import resource_path


@lru_cache(maxsize=1)
def terms() -> dict[str, dict[str, str]]:
    """key -> {"title", "text"}."""
    doc = json.loads(resource_path("glossary", "glossary.json").read_text(encoding="utf-8"))
    return dict(doc["terms"])


def entry(key: str) -> dict[str, str]:
    """The glossary entry ``key`` (KeyError naming the known keys if there is none)."""
    known = terms()
    if key not in known:
        raise KeyError(f"glossary has no entry {key!r}; it has: {', '.join(sorted(known))}")
    return known[key]
