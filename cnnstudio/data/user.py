"""The user's own drawn digits: a Dataset that grows one drawing at a time.

Stored in the project file by the project package as plain arrays
(``to_arrays()`` -> {"x", "y"}; :meth:`UserDataset.from_arrays` back).
"""

from __future__ import annotations

import numpy as np

from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import DataFormatError

DIGITS = [str(d) for d in range(10)]


class UserDataset(Dataset):
    """x: uint8 (N, 28, 28, 1) drawings; y: int64 (N,) digit labels. A Dataset like any other."""

    def __init__(self, x: np.ndarray | None = None, y: np.ndarray | None = None,
                 class_names: list[str] | None = None, name: str = "my drawings",
                 image_shape: tuple[int, int, int] = (28, 28, 1)):
        if x is None:
            x = np.zeros((0, *image_shape), np.uint8)
            y = np.zeros(0, np.int64)
        super().__init__(name, x, np.zeros(0, np.int64) if y is None else y,
                         list(class_names or DIGITS), "user")

    def add(self, image: np.ndarray, label: int) -> None:
        """Append one drawing: image (H, W), (H, W, C) uint8, or float in [0, 1]."""
        img = np.asarray(image)
        if img.dtype.kind == "f":
            if not (np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1):
                raise DataFormatError(None, "a float drawing must have values in [0, 1]")
            img = np.rint(img * 255).astype(np.uint8)
        if img.ndim == 2:
            img = img[..., None]
        if img.shape != self.x.shape[1:] or img.dtype != np.uint8:
            raise DataFormatError(None, f"drawing must be uint8 {self.x.shape[1:]}, got "
                                  f"{img.dtype} {img.shape}; scale it to the network input first")
        if not isinstance(label, (int, np.integer)) or not 0 <= int(label) < self.num_classes:
            raise DataFormatError(None, f"label must be a class index 0..{self.num_classes - 1}, "
                                  f"got {label!r}")
        self.x = np.concatenate([self.x, img[None]])
        self.y = np.concatenate([self.y, np.array([int(label)], np.int64)])

    def remove(self, index: int) -> None:
        """Delete drawing ``index`` (0 .. len - 1); IndexError otherwise (it used to do nothing)."""
        if not 0 <= index < len(self):
            raise IndexError(f"drawing {index} does not exist; there are {len(self)} (0 .. {len(self) - 1})")
        keep = np.arange(len(self)) != index
        self.x, self.y = self.x[keep], self.y[keep]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """{"x": uint8 (N, H, W, C), "y": int64 (N,)}: what the project file stores."""
        return {"x": self.x, "y": self.y}

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, class_names: list[str] | None = None,
                    name: str = "my drawings") -> "UserDataset":
        """Rebuild from stored arrays; validates dtypes, shapes and labels (DataFormatError)."""
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 3:
            x = x[..., None]
        if y.dtype.kind not in "iu":
            raise DataFormatError(None, f"user dataset labels must be integers, got {y.dtype}")
        return cls(x, y, class_names, name, tuple(x.shape[1:]) if x.ndim == 4 else (28, 28, 1))
