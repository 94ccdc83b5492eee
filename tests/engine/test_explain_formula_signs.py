"""Formula lines write a negative number after an operator in parentheses, as a textbook does:
"50 + 170 + (-44)", "x - (-0.09)", "1.5*(-0.26)"; they read "50 + 170 + -44", "x - -0.09" before."""

from __future__ import annotations

import re

import numpy as np

from cnnstudio.engine.explain import Explainer
from cnnstudio.engine.layers.explaining import plus_join, signed
from cnnstudio.model.build import build_network
from cnnstudio.model.templates import get_template
from cnnstudio.project import lessons, session


def test_signed_and_plus_join():
    assert (signed(-0.5), signed(2), signed(0)) == ("(-0.5)", "2", "0")
    assert plus_join([50, 170, -44]) == "50 + 170 + (-44)" and plus_join([-3, 4]) == "-3 + 4"


def test_counting_parameters_channel_sums_read_as_written_by_hand():
    item = lessons.lesson("counting-parameters")
    p = lessons.load_project(item)
    net = session.build_with_weights(p.network, p.weights)
    e = Explainer(net, p.network.input.prepare(item.image()[None])[0]).cell(0, (0, 0, 0))
    assert e["formula"] == "sum(patch x kernel) = 50 + 170 + (-44); + bias 1 = 177"


def test_no_formula_of_a_real_network_has_an_operator_before_a_bare_minus():
    net = build_network(get_template("mini-resnet"), seed=0)
    ex = Explainer(net, np.random.default_rng(0).random((1, 28, 28)).astype(np.float32) - 0.5)
    for i, out in enumerate(ex.outputs):
        at = tuple(int(v) for v in np.unravel_index(int(np.argmin(out)), out.shape))   # a negative cell where any
        formula = ex.cell(i, at)["formula"]
        assert not re.search(r"[-+*/] -\d", formula), formula
