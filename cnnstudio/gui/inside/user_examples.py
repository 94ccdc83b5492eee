"""Drawn digits kept as the project's user dataset (``AppState.user_dataset``, saved with the project)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.data import Dataset

USER_DATASET_NAME = "my drawings"


def user_dataset(state: Any) -> Dataset | None:
    """The drawn-digit dataset of the open project, or None when nothing was added yet."""
    return state.user_dataset


def add_user_example(state: Any, image: np.ndarray, label: int, class_names: list[str]) -> int:
    """Append image: uint8 (H, W, C) with ``label`` to the state's user dataset; returns its size.

    Raises ValueError when the image size differs from the drawings stored so far.
    """
    img = np.asarray(image, dtype=np.uint8)[None]
    old = user_dataset(state)
    if old is not None and old.x.shape[1:] != img.shape[1:]:
        h, w, c = old.x.shape[1:]
        raise ValueError(f"The drawings stored so far are {h} x {w} x {c} but this one is "
                         f"{' x '.join(map(str, img.shape[1:]))} (the network input changed); "
                         "change the input back to add more to them")
    if old is None:
        ds = Dataset(USER_DATASET_NAME, img, np.array([label]), list(class_names), source="drawn")
    else:
        ds = Dataset(old.name, np.concatenate([old.x, img]), np.concatenate([old.y, [label]]),
                     list(old.class_names), source=old.source, meta=dict(old.meta))
    state.set_user_dataset(ds)
    return len(ds)
