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
        super().__init__(f"{layer_type}: {field} must be {requirement}, got {value!r}")


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
