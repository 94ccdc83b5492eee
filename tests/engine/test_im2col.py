"""col2im: the compiled loops (numba) and the NumPy slice adds give the same sums bit for bit,
and both equal a brute-force scatter of the columns."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine import jit
from cnnstudio.engine.im2col import col2im, im2col, make_plan

CASES = [
    # (H, W), (kh, kw), (sh, sw), (top, left) padding, (OH, OW)
    ((14, 14), (5, 5), (1, 1), (0, 0), (10, 10)),
    ((28, 28), (5, 5), (1, 1), (2, 2), (28, 28)),
    ((9, 8), (3, 2), (2, 1), (1, 1), (5, 9)),
    ((7, 7), (3, 3), (3, 2), (0, 1), (2, 4)),
    ((5, 6), (4, 4), (1, 1), (3, 3), (8, 9)),   # some offsets only ever read padding
]


def brute(dcols, shape, stride, pad):
    c, kh, kw, n, oh, ow = dcols.shape
    dx = np.zeros((c, n, shape[0] + 2 * kh + 2 * pad[0], shape[1] + 2 * kw + 2 * pad[1]), dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            for r in range(oh):
                for q in range(ow):
                    dx[:, :, r * stride[0] + i - pad[0] + kh, q * stride[1] + j - pad[1] + kw] += dcols[:, i, j, :, r, q]
    return dx[:, :, kh:kh + shape[0], kw:kw + shape[1]]


@pytest.mark.parametrize("hw,kernel,stride,pad,out", CASES)
def test_col2im_compiled_equals_slice_adds_and_brute_force(hw, kernel, stride, pad, out):
    rng = np.random.default_rng(0)
    c, n = 3, 4
    plan = make_plan(hw, out, kernel, stride, pad)
    dcols = rng.standard_normal((c, *kernel, n, *out)).astype(np.float32)
    results = {}
    modes = [False] + ([True] if jit.HAVE_NUMBA else [])
    for on in modes:
        with jit.use_numba(on):
            dx = np.zeros((c, n, *hw), np.float32)
            results[on] = col2im(dcols, dx, plan).copy()
            # a strided part of a larger buffer, as Conv2D passes its sample ranges
            big = np.zeros((c, n + 2, *hw), np.float32)
            col2im(dcols, big[:, 1:n + 1], plan)
            np.testing.assert_array_equal(big[:, 1:n + 1], results[on])
            assert not big[:, 0].any() and not big[:, -1].any()
    for on in modes:
        np.testing.assert_array_equal(results[on], results[False])
    np.testing.assert_allclose(results[False], brute(dcols.astype(np.float64), hw, stride, pad), rtol=1e-5, atol=1e-5)


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(1)
    hw, kernel, stride, pad, out = CASES[2]
    plan = make_plan(hw, out, kernel, stride, pad)
    x = rng.standard_normal((2, 3, *hw))
    cols = im2col(x, np.zeros((2, *kernel, 3, *out)), plan)
    d = rng.standard_normal(cols.shape)
    for on in [False] + ([True] if jit.HAVE_NUMBA else []):
        with jit.use_numba(on):
            dx = col2im(d, np.zeros_like(x), plan)
        assert np.sum(cols * d) == pytest.approx(np.sum(x * dx), rel=1e-12)
