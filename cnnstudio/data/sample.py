"""The bundled MNIST sample: 5,000 real digits, 500 per class, works offline.

File: ``resources/datasets/mnist_sample.npz`` (x: uint8 (5000, 28, 28, 1),
y: int64 (5000,), rows sorted by label); provenance in resources/datasets/README.md.
"""

from __future__ import annotations

import numpy as np

from cnnstudio.data.dataset import Dataset, split
from cnnstudio.data.errors import DataFormatError
from cnnstudio.resources import resource_path

DIGITS = [str(d) for d in range(10)]
#: THE fixed split of the sample: 10% of each class (50) to validation, seed 0.
SAMPLE_VAL_FRACTION = 0.1
SAMPLE_SPLIT_SEED = 0


def load_sample() -> Dataset:
    """All 5,000 sample digits: x uint8 (5000, 28, 28, 1), y int64 (5000,), sorted by label."""
    path = resource_path("datasets", "mnist_sample.npz")
    if not path.is_file():
        raise DataFormatError(path, "the bundled MNIST sample is missing; reinstall CNN Studio "
                              "or run scripts/make_mnist_sample.py")
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if x.shape != (5000, 28, 28, 1) or x.dtype != np.uint8:
        raise DataFormatError(path, f"expected uint8 images (5000, 28, 28, 1), got {x.dtype} {x.shape}")
    return Dataset("MNIST sample", x, y.astype(np.int64), list(DIGITS), "sample")


def sample_split() -> tuple[Dataset, Dataset]:
    """THE documented fixed split of the sample: (train 4,500, validation 500).

    Stratified: per class, the 500 rows are shuffled with
    ``numpy.random.default_rng(0)`` (classes in order 0..9, one generator) and the
    first 50 go to validation, the other 450 to training; each part is then
    shuffled with the same generator so batches mix the digits. Identical on every
    machine and run (see :func:`cnnstudio.data.dataset.split`).
    """
    train, val = split(load_sample(), SAMPLE_VAL_FRACTION, SAMPLE_SPLIT_SEED)
    train.name, val.name = "MNIST sample (train)", "MNIST sample (validation)"
    return train, val
