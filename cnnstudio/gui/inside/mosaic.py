"""Pack many small maps into one 2-D array, so one image item can show a whole layer.

One ImageItem per layer mosaic updates about 7x faster than one item per tile
(DESIGN.md). Gaps between tiles are NaN, which pyqtgraph draws transparent, so
the view background shows as a thin separator line. Plain NumPy, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: preferred width / height of a layer's mosaic: rows in the panel are wide and short
TARGET_ASPECT = 6.0
#: longest vector shown on one line of a strip; longer vectors wrap
STRIP_WIDTH = 128


@dataclass(frozen=True)
class MosaicLayout:
    """Where each of ``count`` tiles of ``tile_h x tile_w`` lies in the packed array."""

    count: int
    tile_h: int
    tile_w: int
    cols: int
    gap: int = 1

    @property
    def rows(self) -> int:
        return max(1, math.ceil(self.count / self.cols))

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the packed array in pixels."""
        return (self.rows * (self.tile_h + self.gap) - self.gap,
                self.cols * (self.tile_w + self.gap) - self.gap)

    def origin(self, k: int) -> tuple[int, int]:
        """(row, col) pixel of tile k's top-left corner."""
        r, c = divmod(k, self.cols)
        return r * (self.tile_h + self.gap), c * (self.tile_w + self.gap)

    def tile_at(self, row: float, col: float) -> int | None:
        """Index of the tile under pixel (row, col) of the packed array, or None (gap/outside)."""
        if row < 0 or col < 0:
            return None
        r, dr = divmod(int(row), self.tile_h + self.gap)
        c, dc = divmod(int(col), self.tile_w + self.gap)
        if dr >= self.tile_h or dc >= self.tile_w or c >= self.cols:
            return None
        k = r * self.cols + c
        return k if k < self.count else None


def layout_for(count: int, tile_h: int, tile_w: int, gap: int = 1,
               aspect: float = TARGET_ASPECT) -> MosaicLayout:
    """Choose the grid whose packed shape is closest to ``aspect`` (width / height).

    Grids are balanced (16 maps: 8 x 2, not 12 + 4) so no row is left nearly empty.
    """
    best, best_err = max(1, count), math.inf
    for rows in range(1, count + 1):
        cols = math.ceil(count / rows)
        lay = MosaicLayout(count, tile_h, tile_w, cols, gap)
        h, w = lay.shape
        err = abs(math.log((w / h) / aspect))
        if err < best_err - 1e-9:
            best, best_err = cols, err
    return MosaicLayout(count, tile_h, tile_w, best, gap)


def pack(maps: np.ndarray, layout: MosaicLayout, out: np.ndarray | None = None,
         fill: float = np.nan) -> np.ndarray:
    """maps: (C, H, W[, 3]) -> float32 (rows_px, cols_px[, 3]) with ``fill`` (NaN) in the gaps.

    ``out`` (from an earlier call with the same layout) is reused to avoid allocating.
    """
    shape = layout.shape + tuple(maps.shape[3:])
    if out is None or out.shape != shape:
        out = np.full(shape, fill, dtype=np.float32)
    for k in range(layout.count):
        r, c = layout.origin(k)
        out[r:r + layout.tile_h, c:c + layout.tile_w] = maps[k]
    return out


def unpack(mosaic: np.ndarray, layout: MosaicLayout, k: int) -> np.ndarray:
    """The (tile_h, tile_w) tile k of a packed array (a view)."""
    r, c = layout.origin(k)
    return mosaic[r:r + layout.tile_h, c:c + layout.tile_w]


def strip_shape(features: int, width: int = STRIP_WIDTH) -> tuple[int, int]:
    """(rows, cols) of the strip that shows a vector of ``features`` values, wrapping long ones."""
    rows = max(1, math.ceil(features / width))
    return rows, math.ceil(features / rows)


def vector_strip(v: np.ndarray, width: int = STRIP_WIDTH) -> np.ndarray:
    """v: (F,) -> float32 (rows, cols) in reading order, NaN after the last value."""
    rows, cols = strip_shape(v.shape[0], width)
    out = np.full(rows * cols, np.nan, dtype=np.float32)
    out[:v.shape[0]] = v
    return out.reshape(rows, cols)


def as_maps(activation: np.ndarray) -> np.ndarray:
    """One sample's activation -> (C, H, W) maps: images as they are, vectors as one strip tile.

    activation: (C, H, W) or (F,).
    """
    a = np.asarray(activation, dtype=np.float32)
    if a.ndim == 3:
        return a
    if a.ndim == 1:
        return vector_strip(a)[None]
    raise ValueError(f"An activation must be (C, H, W) or (F,) per sample; got shape {a.shape}")


def normalise_each(maps: np.ndarray) -> np.ndarray:
    """maps: (C, H, W) -> each map scaled to [0, 1] by its own min/max (flat maps -> 0)."""
    lo = np.nanmin(maps, axis=(1, 2), keepdims=True)
    hi = np.nanmax(maps, axis=(1, 2), keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return ((maps - lo) / span).astype(np.float32)


def levels_of(values: np.ndarray) -> tuple[float, float]:
    """(low, high) colour levels covering ``values`` (NaN ignored); never an empty range."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return (lo, hi)
