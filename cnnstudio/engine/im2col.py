"""im2col / col2im for the engine's CNHW layout, by looping over kernel offsets.

For a (kh, kw) window there are only kh*kw distinct shifts of the input; each one
is a strided slice copy into a preallocated column buffer
``cols: (C, kh, kw, N, OH, OW)``, which reshapes for free to
``(C*kh*kw, N*OH*OW)`` for one GEMM. Zero padding is never materialised: a
*plan* clips each shift to the part of the output that reads real input, and the
clipped-off cells of the buffer stay zero because the same plan writes the same
cells every step (so the buffer is zeroed once, when it is allocated).
col2im walks the same plan with strided slice adds (no index arrays to build).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Shift(NamedTuple):
    """One kernel offset (i, j): which output cells read which input cells."""

    i: int
    j: int
    out_rows: slice
    out_cols: slice
    in_rows: slice
    in_cols: slice


def _axis(size: int, out: int, offset: int, stride: int, pad_before: int) -> tuple[slice, slice] | None:
    """Output range whose input index ``o*stride + offset - pad_before`` is inside [0, size)."""
    first = offset - pad_before
    lo = max(0, -(first // stride) if first < 0 else 0)  # ceil(-first / stride) for first < 0
    hi = min(out, (size - 1 - first) // stride + 1) if size - 1 - first >= 0 else 0
    if hi <= lo:
        return None
    start = lo * stride + first
    return slice(lo, hi), slice(start, (hi - 1) * stride + first + 1, stride)


def make_plan(in_hw: tuple[int, int], out_hw: tuple[int, int], kernel: tuple[int, int],
              stride: tuple[int, int], pad: tuple[int, int] = (0, 0)) -> list[Shift]:
    """Shifts for every kernel offset, clipped to the unpadded input.

    in_hw, out_hw, kernel, stride: (rows, cols); pad: (top, left) zero padding.
    Offsets whose window only ever sees padding are left out (their columns stay zero).
    """
    plan = []
    for i in range(kernel[0]):
        rows = _axis(in_hw[0], out_hw[0], i, stride[0], pad[0])
        if rows is None:
            continue
        for j in range(kernel[1]):
            cols = _axis(in_hw[1], out_hw[1], j, stride[1], pad[1])
            if cols is not None:
                plan.append(Shift(i, j, rows[0], cols[0], rows[1], cols[1]))
    return plan


def im2col(x: Any, cols: Any, plan: list[Shift]) -> Any:
    """x: (C, N, H, W) -> fills cols: (C, kh, kw, N, OH, OW) in place and returns it."""
    for s in plan:
        cols[:, s.i, s.j, :, s.out_rows, s.out_cols] = x[:, :, s.in_rows, s.in_cols]
    return cols


def col2im(dcols: Any, dx: Any, plan: list[Shift]) -> Any:
    """dcols: (C, kh, kw, N, OH, OW) -> adds every column back into dx: (C, N, H, W).

    dx must be zeroed by the caller; returns dx.
    """
    for s in plan:
        dx[:, :, s.in_rows, s.in_cols] += dcols[:, s.i, s.j, :, s.out_rows, s.out_cols]
    return dx
