"""The overfitting rule's validation-loss branch needs a rise beyond the noise of the validation set
(QA of issue 13: 40 epochs on 18 validation images at 100% accuracy warned "Overfitting" because the
validation loss went 0.03432 -> 0.03432 -> 0.03433)."""

from __future__ import annotations

import math

from cnnstudio.engine.health import HealthMonitor, still_overfitting, val_loss_rise_threshold

LENET_LIKE = ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "ReLU", "Dense", "Softmax"]


def feed(mon, rows):
    out = []
    for i, (tl, ta, vl, va) in enumerate(rows):
        out += mon.observe_epoch(i, tl, ta, vl, va, 0.002)
    return out


def test_a_rise_in_the_fourth_digit_at_full_accuracy_is_not_overfitting():
    rows = [(0.000313, 1.0, 0.034310, 1.0), (0.000312, 1.0, 0.034315, 1.0), (0.000311, 1.0, 0.034319, 1.0)]
    for size in (None, 18, 500):
        assert feed(HealthMonitor(LENET_LIKE, val_size=size), rows) == [], size


def test_the_rise_needed_scales_with_the_validation_set_size():
    assert math.isclose(val_loss_rise_threshold(0.2, 0.02, None), 0.004)       # 2% with no size
    assert math.isclose(val_loss_rise_threshold(0.2, 0.02, 500), 0.2 * 2 * math.sqrt(2 / 500))  # 12.6%
    assert math.isclose(val_loss_rise_threshold(0.2, 0.02, 10_000), 0.2 * 2 * math.sqrt(2 / 10_000))
    # a 10% rise over two epochs warns on 10 000 images, not on 500 (noise there)
    rows = [(0.30, 0.95, 0.200, 0.95), (0.20, 0.95, 0.210, 0.95), (0.15, 0.95, 0.220, 0.95)]
    assert [i.kind for i in feed(HealthMonitor(LENET_LIKE, val_size=10_000), rows)] == ["overfitting"]
    assert feed(HealthMonitor(LENET_LIKE, val_size=500), rows) == []


def test_still_overfitting_uses_the_same_threshold():
    e = [{"epoch": i, "train_loss": tl, "train_acc": 1.0, "val_loss": vl, "val_acc": 1.0}
         for i, (tl, vl) in enumerate([(0.30, 0.0343), (0.20, 0.03431), (0.15, 0.03432)])]
    assert not still_overfitting(e, val_size=18)
    e[-1]["val_loss"] = 0.08   # more than doubled on 18 images: real
    assert still_overfitting(e, val_size=18)
