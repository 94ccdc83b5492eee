"""Drawn digits kept as a user dataset, saved with the project (``Project.user_dataset``).

AppState may grow its own ``add_user_example``; until then the dataset lives
on ``state.user_dataset`` and on ``state.project.user_dataset`` when a project
is open, so saving the project writes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.data import Dataset

USER_DATASET_NAME = "my drawings"


def user_dataset(state: Any) -> Dataset | None:
    """The drawn-digit dataset of the open project, or None when nothing was added yet."""
    ds = getattr(state, "user_dataset", None)
    if ds is None and getattr(state, "project", None) is not None:
        ds = getattr(state.project, "user_dataset", None)
    return ds


def add_user_example(state: Any, image: np.ndarray, label: int, class_names: list[str]) -> int:
    """Append image: uint8 (H, W, C) with ``label``; returns how many drawings are stored."""
    own = getattr(state, "add_user_example", None)
    if callable(own):
        return int(own(image, label))
    img = np.asarray(image, dtype=np.uint8)[None]
    old = user_dataset(state)
    if old is not None and old.x.shape[1:] != img.shape[1:]:
        h, w, c = old.x.shape[1:]
        raise ValueError(f"The drawings stored so far are {h} x {w} x {c} but this one is "
                         f"{' x '.join(map(str, img.shape[1:]))} (the network input changed); "
                         "clear the stored drawings or change the input back")
    if old is None:
        ds = Dataset(USER_DATASET_NAME, img, np.array([label]), list(class_names), source="drawn")
    else:
        ds = Dataset(old.name, np.concatenate([old.x, img]), np.concatenate([old.y, [label]]),
                     list(old.class_names), source=old.source, meta=dict(old.meta))
    state.user_dataset = ds
    if getattr(state, "project", None) is not None and hasattr(state.project, "user_dataset"):
        state.project.user_dataset = ds
    changed = getattr(state, "projectChanged", None)
    if changed is not None:
        changed.emit()
    return len(ds)
