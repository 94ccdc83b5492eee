"""Typed errors raised by the engine.

Every error carries the structured facts (layer type, field, value) so the
model layer can add context (layer index, suggested fix) without parsing text.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class LayerConfigError(EngineError, ValueError):
    """A hyperparameter has an impossible value.

    Attributes: ``layer_type`` ("Conv2D"), ``field`` ("filters"), ``value`` (what was received).
    """

    def __init__(self, layer_type: str, field: str, value: Any, requirement: str):
        self.layer_type = layer_type
        self.field = field
        self.value = value
        self.requirement = requirement
        super().__init__(f"{layer_type}: {field_words(layer_type, field)} must be {requirement}, got {value!r}")


def field_words(layer_type: str, field: str) -> str:
    """A hyperparameter as a person sees it: its schema label (``Hyper.label``) without the
    "(h x w)" note, in lower case: Conv2D's ``kernel_size`` is "kernel", a pool's
    ``pool_size`` "window", ``use_bias`` "bias". The name itself when the type or field is
    not declared (e.g. a misspelt keyword, which is then the user's own word)."""
    import re

    try:
        from cnnstudio.engine.layers import LAYER_TYPES   # here: the layers import this module
    except ImportError:   # pragma: no cover - only while the registry itself is being imported
        return field
    cls = LAYER_TYPES.get(layer_type)
    for h in getattr(cls, "hyperparameters", ()):
        if h.name == field:
            return re.sub(r"\s*\(.*\)\s*$", "", h.label).lower() or field
    return field


class ShapeError(EngineError, ValueError):
    """A layer cannot accept the shape that reaches it.

    ``reason`` is a stable code the model uses to pick a suggested fix:
    ``"window_too_large"``, ``"needs_spatial"``, ``"needs_flat"``, ``"empty_output"``.
    ``details`` holds the numbers (window, input size, ...).
    """

    def __init__(self, layer_type: str, reason: str, message: str, **details: Any):
        self.layer_type = layer_type
        self.reason = reason
        self.details = details
        super().__init__(f"{layer_type}: {message}")
