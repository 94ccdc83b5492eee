"""Explainer.input_window: the part of the input image a cell is computed from, checked against
real forward passes (pixels outside it never change the cell; the window is the receptive field)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.explain import Explainer
from cnnstudio.model.templates import get_template
from cnnstudio.project.session import build_network


@pytest.fixture(scope="module")
def lenet():
    net = build_network(get_template("lenet5"), seed=1)
    x = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    return net, x


@pytest.mark.parametrize("index,at,size", [
    (0, (2, 14, 14), 5),      # Conv2D 5x5 'same'
    (2, (1, 7, 7), 6),        # MaxPool2D after it: 5 + (2 - 1) * 1
    (3, (4, 5, 5), 14),       # Conv2D 5x5 'valid' on the pooled maps: 6 + (5 - 1) * 2
    (5, (3, 2, 2), 16),       # the last MaxPool2D: 14 + (2 - 1) * 2
])
def test_window_is_the_receptive_field_away_from_the_border(lenet, index, at, size):
    net, x = lenet
    (r0, r1), (c0, c1) = Explainer(net, x).input_window(index, at)
    assert (r1 - r0 + 1, c1 - c0 + 1) == (size, size)


@pytest.mark.parametrize("index,at", [(3, (4, 0, 0)), (3, (0, 9, 3)), (4, (7, 4, 9)), (5, (3, 4, 0))])
def test_pixels_outside_the_window_never_change_the_cell(lenet, index, at):
    net, x = lenet
    ex = Explainer(net, x)
    (r0, r1), (c0, c1) = ex.input_window(index, at)
    outside = np.ones((28, 28), bool)
    outside[r0:r1 + 1, c0:c1 + 1] = False
    y = x.copy()
    y[0][outside] = np.random.default_rng(1).random(outside.sum())
    assert Explainer(net, y).outputs[index][at] == ex.outputs[index][at]
    z = x.copy()
    z[0, r0:r1 + 1, c0:c1 + 1] = np.random.default_rng(2).random((r1 - r0 + 1, c1 - c0 + 1))
    assert Explainer(net, z).outputs[index][at] != ex.outputs[index][at]   # and inside it does


def test_no_window_for_a_flat_cell(lenet):
    net, x = lenet
    assert Explainer(net, x).input_window(7, (3,)) is None
