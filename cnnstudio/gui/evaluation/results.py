"""What an evaluation found, and the questions the views ask of it (no widgets here).

``Evaluation`` keeps the validation images next to the engine's ``EvalResult`` so the
views can show which images a confusion-matrix cell or a mistake is made of.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    """images: uint8 (N, H, W, C) as stored; y: int64 (N,); probs: float32 (N, K);
    confusion: int64 (K, K), rows = true class, columns = predicted."""

    images: np.ndarray
    y: np.ndarray
    probs: np.ndarray
    confusion: np.ndarray
    class_names: list[str]
    loss: float
    accuracy: float
    dataset_name: str = ""

    @property
    def predicted(self) -> np.ndarray:
        """int64 (N,): the most probable class of each image."""
        return self.probs.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """float (N,): the probability of the predicted class."""
        return self.probs.max(axis=1)

    def mistakes(self) -> np.ndarray:
        """Indices of misclassified images, most confident mistake first."""
        wrong = np.flatnonzero(self.predicted != self.y)
        return _by_confidence(wrong, self.confidence)

    def cell(self, true: int, pred: int) -> np.ndarray:
        """Indices of images of class ``true`` predicted as ``pred``, most confident first."""
        rows = np.flatnonzero((self.y == true) & (self.predicted == pred))
        return _by_confidence(rows, self.confidence)

    def per_class_accuracy(self) -> np.ndarray:
        """float (K,): correct / images of each true class; NaN for a class with no images."""
        totals = self.confusion.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(self.confusion) / totals, np.nan)

    def name(self, k: int) -> str:
        return str(self.class_names[k]) if 0 <= k < len(self.class_names) else str(k)


def _by_confidence(indices: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    # stable sort: equal confidences keep dataset order, so the gallery is deterministic
    order = np.argsort(-confidence[indices], kind="stable")
    return indices[order]
