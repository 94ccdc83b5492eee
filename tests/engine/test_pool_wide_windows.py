"""MaxPool2D with wide windows (issue 14, case 14): a window side of 128 or more keeps its winner
indices in a wider integer type than int8; forward and backward must agree with a brute-force
reference at every window side around the type boundaries, square or not, tiling or overlapping.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.layers import MaxPool2D


def brute_force(x: np.ndarray, dy: np.ndarray, pool: tuple[int, int], stride: tuple[int, int]):
    """x: (C, N, H, W), dy: (C, N, OH, OW) -> (y, dx) by looping over every window (distinct values)."""
    c, n, _, _ = x.shape
    _, _, oh, ow = dy.shape
    (ph, pw), (sh, sw) = pool, stride
    y = np.empty_like(dy)
    dx = np.zeros_like(x)
    for ci in range(c):
        for ni in range(n):
            for i in range(oh):
                for j in range(ow):
                    win = x[ci, ni, i * sh:i * sh + ph, j * sw:j * sw + pw]
                    r, q = np.unravel_index(int(np.argmax(win)), win.shape)
                    y[ci, ni, i, j] = win[r, q]
                    dx[ci, ni, i * sh + r, j * sw + q] += dy[ci, ni, i, j]
    return y, dx


CASES = [
    # (input H, W), pool, stride (None: the pool size)
    ((1, 127), (1, 127), None),
    ((1, 128), (1, 128), None),        # the example: dx came back all zeros
    ((1, 255), (1, 255), None),
    ((1, 256), (1, 256), None),
    ((127, 1), (127, 1), None),
    ((128, 3), (128, 1), None),
    ((255, 2), (255, 2), None),
    ((256, 2), (256, 1), None),
    ((128, 128), (128, 128), None),
    ((130, 260), (128, 256), None),    # leftover rows and columns are dropped (floor rule)
    ((256, 5), (128, 3), (64, 1)),     # overlapping windows: gradients add up
    ((3, 300), (2, 129), (1, 85)),
    ((129, 129), (127, 128), (2, 1)),
]


@pytest.mark.parametrize("hw,pool,stride", CASES, ids=[f"{h}x{w}-pool{p[0]}x{p[1]}" for (h, w), p, _ in CASES])
def test_wide_max_pool_matches_brute_force(hw, pool, stride):
    h, w = hw
    c, n = 2, 2
    layer = MaxPool2D(pool_size=pool, stride=stride or pool).build((c, h, w), np, np.float64,
                                                                   np.random.default_rng(0))
    rng = np.random.default_rng(hash((h, w) + pool) % 2**32)
    # a permutation: every value distinct, so the winner of each window is unambiguous
    x = rng.permutation(c * n * h * w).reshape(c, n, h, w).astype(np.float64)
    _, oh, ow = layer.out_shape
    dy = rng.standard_normal((c, n, oh, ow))
    want_y, want_dx = brute_force(x, dy, pool, stride or pool)
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, want_y)
    dx = layer.backward(dy.copy())
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-12)
    assert np.count_nonzero(dx) == np.count_nonzero(want_dx) > 0
