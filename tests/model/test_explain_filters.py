"""Hand-set filter presets and writing one into the weights."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.model.filters import PRESETS, preset, with_filter


def test_presets():
    assert preset("Sobel x", 3, 3).tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert preset("Sobel y", 3, 3).T.tolist() == preset("Sobel x", 3, 3).tolist()
    assert preset("Laplacian", 3, 3).sum() == 0 and preset("Sharpen", 3, 3).sum() == 1
    assert preset("Box blur", 5, 5).sum() == pytest.approx(1) and preset("Identity", 5, 5)[2, 2] == 1
    assert len(PRESETS) == 6
    with pytest.raises(ValueError, match="3x3; this layer's kernel is 5x5"):
        preset("Sobel x", 5, 5)


def test_with_filter_copies_and_checks():
    w = {"0.W": np.zeros((2, 3, 3, 3), np.float32), "0.b": np.zeros(2, np.float32)}
    new = with_filter(w, 0, 1, 2, preset("Sobel x", 3, 3))
    assert new["0.W"][1, 2].tolist() == preset("Sobel x", 3, 3).tolist() and w["0.W"].sum() == 0
    assert new["0.b"] is w["0.b"]
    with pytest.raises(ValueError, match="filter 2 / channel 0 outside its 2 filters x 3 channels"):
        with_filter(w, 0, 2, 0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="3x3 is needed"):
        with_filter(w, 0, 0, 0, np.zeros((5, 5)))
    with pytest.raises(ValueError, match="no convolution kernels"):
        with_filter(w, 1, 0, 0, np.zeros((3, 3)))
