"""Locate bundled resources (datasets, icons, templates).

In a source checkout (and an editable install) they sit in ``resources/`` beside the
package. A regular install (``pip install .``) copies them to
``<prefix>/share/cnnstudio/resources`` (``[tool.setuptools.data-files]`` in
pyproject.toml), because the top-level ``resources/`` folder is not a package.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "resources"


def _candidates() -> list[Path]:
    found = [_CHECKOUT_DIR]
    for prefix in (sys.prefix, sysconfig.get_path("data")):
        found.append(Path(prefix) / "share" / "cnnstudio" / "resources")
    return found


def resources_dir() -> Path:
    """The first resources folder that exists (the checkout's one if none does)."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    return _CHECKOUT_DIR


RESOURCES_DIR = resources_dir()


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("datasets", "mnist_sample.npz")``."""
    return RESOURCES_DIR.joinpath(*parts)
