"""An image folder of class sub-folders for the tests that import one (the CLI's, the app's):
a unique module name at the top of tests/, importable from every test directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ["circle", "square", "triangle"]


def shapes_folder(root: Path, n: int = 10) -> Path:
    """Colour PNGs (28x28, one colour per class with a noisy band), n per class, under root."""
    from PIL import Image

    rng = np.random.default_rng(3)
    for ci, cls in enumerate(CLASSES):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            a = np.zeros((28, 28, 3), np.uint8)
            a[..., ci] = 200
            a[4 + ci * 6:10 + ci * 6, 4:24] = rng.integers(0, 255, (6, 20, 3))
            Image.fromarray(a).save(root / cls / f"{i:03d}.png")
    return root
