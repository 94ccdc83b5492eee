"""Locate bundled resources (datasets, icons, templates) in ``resources/``."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("datasets", "mnist_sample.npz")``."""
    return RESOURCES_DIR.joinpath(*parts)
