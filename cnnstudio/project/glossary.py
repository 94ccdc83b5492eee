"""The glossary behind every "?" button: short plain-words explanations, shipped as data
(``resources/glossary/glossary.json``), never strings scattered through widgets.

Keys follow what the "?" sits on, so a widget never spells an entry out itself:

- ``layer.<type>``: a block (editor card, palette entry), ``layer.Input`` for the Input block;
- ``hyper.<name>``: a layer hyperparameter, shared by every layer type that has one of that
  name; ``hyper.<type>.<name>`` overrides it where the meaning differs (a pooling stride);
- ``setting.<name>``: a training setting (``model.training_config.SETTINGS``);
- ``plot.<name>``: a plot or picture of a panel;
- plain words (``convolution``, ``saliency``...) for topics.
"""

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


def layer_key(type_name: str) -> str:
    """The entry of a block: ``layer.Conv2D``; the Input block (no type) is ``layer.Input``."""
    return f"layer.{type_name or 'Input'}"


def hyper_key(type_name: str, name: str) -> str:
    """The entry of hyperparameter ``name`` of ``type_name``: its own if the type has one, else the shared one."""
    own = f"hyper.{type_name}.{name}"
    return own if own in terms() else f"hyper.{name}"


def setting_key(name: str) -> str:
    """The entry of training setting ``name``."""
    return f"setting.{name}"


def has_entry(key: str) -> bool:
    return key in terms()
