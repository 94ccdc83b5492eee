"""Turn a hand-drawn digit into what an MNIST network expects (plain NumPy + Pillow, no Qt).

MNIST's digits were made this way (LeCun et al.): the ink is cropped to its
bounding box, scaled so that its longer side fills a 20x20 box (aspect ratio
kept, anti-aliased), and pasted into a 28x28 field so that its centre of mass
sits at the centre. A network trained on MNIST sees a drawing "the same way"
only if the drawing gets the same treatment; otherwise a small digit in a
corner is a different picture altogether.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: size of the field the digit is placed in, and of the box its ink is scaled into
FIELD = 28
BOX = 20


def preprocess_drawing(canvas: np.ndarray, field: int = FIELD, box: int = BOX) -> np.ndarray | None:
    """MNIST-style normalisation of a drawing.

    canvas: (H, W) ink image, white ink on black; uint8 in [0, 255] or float in
        [0, 1] (floats above 1 are read as 0-255). Ink is every pixel > 0.
    Returns uint8 (field, field) with the strongest ink at 255, or None when the
    canvas has no ink (nothing to predict).
    """
    ink = _as_unit_float(canvas)
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        return None
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scaled = _scale_into_box(crop, box)
    peak = float(scaled.max())
    if peak <= 0.0:
        return None
    # MNIST's strokes are saturated; a thin brush averaged down would otherwise look faint.
    scaled = scaled / peak
    out = _place_by_centre_of_mass(scaled, field)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def _as_unit_float(canvas: np.ndarray) -> np.ndarray:
    """canvas: (H, W) uint8 or float -> float32 (H, W) in [0, 1]."""
    a = np.asarray(canvas)
    if a.ndim != 2:
        raise ValueError(f"The drawing must be a 2-D (height, width) array; got shape {a.shape}. "
                         "Pass a single grey channel.")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    if a.size and float(a.max()) > 1.0:
        a = a / 255.0
    return np.clip(a, 0.0, 1.0)


def _scale_into_box(crop: np.ndarray, box: int) -> np.ndarray:
    """crop: (h, w) float -> (h', w') with max(h', w') == box, aspect kept, anti-aliased."""
    h, w = crop.shape
    factor = box / max(h, w)
    new_w = max(1, int(round(w * factor)))
    new_h = max(1, int(round(h * factor)))
    # Area averaging (BOX) when shrinking is exact anti-aliasing; bilinear when a tiny mark grows.
    resample = Image.Resampling.BOX if factor < 1.0 else Image.Resampling.BILINEAR
    img = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32))
    return np.clip(np.asarray(img.resize((new_w, new_h), resample=resample), dtype=np.float32), 0.0, 1.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """image: (H, W) non-negative -> (row, col) intensity-weighted mean position (pixel indices)."""
    img = np.asarray(image, dtype=np.float64)
    total = img.sum()
    if total <= 0:
        return ((img.shape[0] - 1) / 2.0, (img.shape[1] - 1) / 2.0)
    rows = np.arange(img.shape[0], dtype=np.float64)
    cols = np.arange(img.shape[1], dtype=np.float64)
    return (float(img.sum(axis=1) @ rows / total), float(img.sum(axis=0) @ cols / total))


def _place_by_centre_of_mass(digit: np.ndarray, field: int) -> np.ndarray:
    """digit: (h, w) -> (field, field) with the centre of mass moved to (field/2, field/2).

    The shift is rounded to whole pixels, as in the original MNIST code; it is
    clamped so that no ink falls off the field (matters only for odd shapes).
    """
    h, w = digit.shape
    cy, cx = centre_of_mass(digit)
    top = int(np.clip(round(field / 2.0 - cy), 0, field - h))
    left = int(np.clip(round(field / 2.0 - cx), 0, field - w))
    out = np.zeros((field, field), dtype=np.float32)
    out[top:top + h, left:left + w] = digit
    return out


def fit_to_input(digit: np.ndarray, height: int, width: int, channels: int) -> np.ndarray:
    """Adapt a preprocessed digit to a network's input.

    digit: uint8 (28, 28). Returns uint8 (height, width, channels): resized
    (anti-aliased) when the network's input is not 28x28, and the grey ink
    replicated into every channel for colour networks.
    """
    img = np.asarray(digit, dtype=np.uint8)
    if img.shape != (height, width):
        img = np.asarray(Image.fromarray(img).resize((width, height), Image.Resampling.LANCZOS),
                         dtype=np.uint8)
    return np.repeat(img[:, :, None], channels, axis=2)
