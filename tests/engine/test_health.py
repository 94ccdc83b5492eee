"""Health-check rules on crafted report sequences (no engine, no Qt)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from cnnstudio.engine import health
from cnnstudio.engine.health import HealthMonitor, HealthThresholds

LENET_LIKE = ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "ReLU", "Dense", "Softmax"]


def step(loss, lr=0.01, stats=None, finite=True, epoch=0):
    return SimpleNamespace(loss=loss, lr=lr, layer_stats=stats, finite=finite, epoch=epoch,
                           accuracy=0.5)


def epoch_report(epoch, train_loss, train_acc, val_loss=None, val_acc=None, lr=0.01):
    return SimpleNamespace(epoch=epoch, train_loss=train_loss, train_acc=train_acc,
                           val_loss=val_loss, val_acc=val_acc, lr=lr)


def fixes_by_action(issue):
    return {f.action: f for f in issue.fixes}


# ---- NaN / inf -----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_step_loss_raises_pausing_error_with_restore_fix(bad):
    mon = HealthMonitor(LENET_LIKE)
    assert mon.observe(step(2.3, lr=0.8)) == []
    issues = mon.observe(step(bad, lr=0.8))
    assert [i.kind for i in issues] == ["nan"]
    issue = issues[0]
    assert issue.pause and issue.severity == "error"
    fix = fixes_by_action(issue)[health.RESTORE_AND_HALVE_LR]
    assert fix.params["lr"] == pytest.approx(0.4)
    assert not fix.needs_stopped
    assert ("infinite" if math.isinf(bad) else "NaN") in issue.message


def test_finite_flag_false_counts_as_diverged_even_with_a_number():
    mon = HealthMonitor()
    assert [i.kind for i in mon.observe(step(1.0, finite=False))] == ["nan"]


def test_nan_fires_once_until_reset():
    mon = HealthMonitor()
    assert len(mon.observe(step(math.nan))) == 1
    assert mon.observe(step(math.nan)) == []
    mon.reset("nan")
    assert len(mon.observe(step(math.nan))) == 1


def test_healthy_falling_loss_raises_nothing():
    mon = HealthMonitor(LENET_LIKE, num_classes=10)
    issues = []
    for e in range(3):
        for s in range(20):
            issues += mon.observe(step(2.0 / (1 + e * 20 + s)))
        issues += mon.observe(epoch_report(e, 1.0 / (e + 1), 0.5 + 0.1 * e, 1.1 / (e + 1), 0.5 + 0.1 * e))
    assert issues == []


# ---- plateau -------------------------------------------------------------------------
def test_loss_not_falling_between_epochs_suggests_lower_lr():
    mon = HealthMonitor(LENET_LIKE, num_classes=10)
    assert mon.observe(epoch_report(0, 0.9, 0.6, lr=0.03)) == []
    issues = mon.observe(epoch_report(1, 0.95, 0.6, lr=0.03))
    assert [i.kind for i in issues] == ["plateau"]
    fix = fixes_by_action(issues[0])[health.SET_LR]
    assert fix.params["lr"] == pytest.approx(0.01)
    assert "not falling" in issues[0].message and "epoch 1 to epoch 2" in issues[0].message


def test_flat_loss_at_chance_accuracy_suggests_higher_lr():
    mon = HealthMonitor(LENET_LIKE, num_classes=10)
    mon.observe(epoch_report(0, 2.30, 0.10, lr=1e-5))
    issues = mon.observe(epoch_report(1, 2.30, 0.11, lr=1e-5))
    assert fixes_by_action(issues[0])[health.SET_LR].params["lr"] == pytest.approx(3e-5)
    assert "chance" in issues[0].message


def test_flat_loss_within_first_epoch_is_detected_from_step_losses():
    mon = HealthMonitor(LENET_LIKE)
    for _ in range(30):
        mon.observe(step(2.3))
    issues = mon.observe(epoch_report(0, 2.3, 0.1))
    assert [i.kind for i in issues] == ["plateau"]
    assert "first epoch" in issues[0].message


def test_a_converged_network_is_not_told_its_loss_plateaus():
    # an MLP at 99% training accuracy was told "the learning rate may be too high"
    mon = HealthMonitor(LENET_LIKE, num_classes=10)
    mon.observe(epoch_report(0, 0.030, 0.990, lr=0.01))
    assert mon.observe(epoch_report(1, 0.031, 0.991, lr=0.01)) == []
    assert [i.kind for i in mon.observe(epoch_report(2, 0.032, 0.97, lr=0.01))] == ["plateau"]


def test_small_drop_below_threshold_still_counts_as_plateau_and_big_drop_does_not():
    mon = HealthMonitor(thresholds=HealthThresholds(min_relative_drop=0.05))
    mon.observe(epoch_report(0, 1.0, 0.5))
    assert [i.kind for i in mon.observe(epoch_report(1, 0.97, 0.5))] == ["plateau"]
    mon2 = HealthMonitor(thresholds=HealthThresholds(min_relative_drop=0.05))
    mon2.observe(epoch_report(0, 1.0, 0.5))
    assert mon2.observe(epoch_report(1, 0.90, 0.5)) == []


# ---- overfitting ---------------------------------------------------------------------
def feed(mon, rows):
    """rows: (train_acc, val_acc) or (train_loss, train_acc, val_loss, val_acc) per epoch; all issues raised."""
    issues = []
    for n, row in enumerate(rows):
        if len(row) == 2:
            row = (1.0 - row[0], row[0], 1.0 - row[1], row[1])
        issues += mon.observe(epoch_report(n, *row))
    return issues


def test_realistic_overfitting_curve_warns_at_the_epoch_validation_turns():
    # QA's run: 99% train / 94% validation never warned under the old two-drops-in-a-row rule
    mon = HealthMonitor(LENET_LIKE)
    assert feed(mon, [(0.96, 0.95), (0.98, 0.964)]) == []
    issues = mon.observe(epoch_report(2, 0.02, 0.995, 0.2, 0.952))
    assert [i.kind for i in issues] == ["overfitting"]
    assert issues[0].epoch == 2
    assert "96.4%" in issues[0].message and "95.2%" in issues[0].message  # best so far and now
    fixes = fixes_by_action(issues[0])
    dropout = fixes[health.INSERT_DROPOUT]
    assert dropout.params["index"] == 6  # the last Dense in LENET_LIKE
    assert dropout.needs_stopped and "stopped" in dropout.label
    assert health.ENABLE_AUGMENTATION in fixes


def test_overfitting_warns_once_per_run_not_every_epoch():
    mon = HealthMonitor(LENET_LIKE)
    issues = feed(mon, [(0.96, 0.95), (0.98, 0.964), (0.99, 0.952), (0.995, 0.945), (0.998, 0.94)])
    assert [i.kind for i in issues] == ["overfitting"]
    mon.reset()  # a new run may warn again
    assert [i.kind for i in feed(mon, [(0.96, 0.95), (0.98, 0.964), (0.99, 0.952)])] == ["overfitting"]


def test_normal_noisy_progress_stays_silent():
    mon = HealthMonitor(LENET_LIKE)
    rows = [(0.95, 0.95), (0.97, 0.958), (0.98, 0.956), (0.985, 0.962), (0.99, 0.954)]
    assert [i.kind for i in feed(mon, rows)] == []  # dips of 0.2 and 0.8 points: below the 1-point margin


def test_validation_below_best_while_training_accuracy_also_falls_is_not_overfitting():
    mon = HealthMonitor(LENET_LIKE)
    assert "overfitting" not in [i.kind for i in feed(mon, [(0.96, 0.96), (0.98, 0.97), (0.97, 0.95)])]


def test_validation_loss_rising_two_epochs_while_training_loss_falls_warns():
    # accuracies flat (a saturated classifier) but the validation loss turns: still memorising
    mon = HealthMonitor(LENET_LIKE)
    rows = [(0.30, 0.95, 0.20, 0.95), (0.20, 0.95, 0.18, 0.95), (0.15, 0.95, 0.19, 0.95)]
    assert feed(mon, rows) == []  # one rise is noise
    issues = mon.observe(epoch_report(3, 0.10, 0.95, 0.21, 0.95))
    assert [i.kind for i in issues] == ["overfitting"]
    assert "0.18" in issues[0].message and "0.21" in issues[0].message


def test_overfitting_does_not_offer_augmentation_when_it_is_on():
    mon = HealthMonitor(LENET_LIKE, augmenting=True)
    mon.observe(epoch_report(0, 0.5, 0.90, 0.4, 0.92))
    issues = mon.observe(epoch_report(1, 0.3, 0.97, 0.5, 0.90))
    assert set(fixes_by_action(issues[0])) == {health.INSERT_DROPOUT}


def test_overfitting_threshold_scales_with_the_validation_set_size():
    # the issue's case: a 1.4-point dip on the sample's 500 validation images is 7 images
    rows = [(0.96, 0.975), (0.98, 0.980), (0.99, 0.966)]
    small = HealthMonitor(LENET_LIKE, val_size=500)
    assert [i.kind for i in feed(small, rows)] == []  # 2 SE of a difference at 98% on 500 images: 1.8 points
    big = HealthMonitor(LENET_LIKE, val_size=10_000)
    assert [i.kind for i in feed(big, rows)] == ["overfitting"]  # on 10 000 images: 0.4 points
    assert [i.kind for i in feed(HealthMonitor(LENET_LIKE), rows)] == ["overfitting"]  # no size: the 1-point margin


def test_val_drop_threshold_is_two_binomial_standard_errors_or_the_margin():
    assert health.val_drop_threshold(0.98, 0.01, None) == 0.01
    assert health.val_drop_threshold(0.98, 0.01, 500) == pytest.approx(2 * math.sqrt(2 * 0.98 * 0.02 / 500))
    assert health.val_drop_threshold(0.5, 0.01, 200) == pytest.approx(0.10)
    assert health.val_drop_threshold(0.98, 0.01, 1_000_000) == 0.01  # never below the margin
    assert health.val_drop_threshold(1.0, 0.0, 50) > 0  # a perfect score still has noise


def test_dropout_fix_is_not_offered_where_a_dropout_already_feeds_the_last_dense():
    layers = ["Conv2D", "ReLU", "Flatten", "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    mon = HealthMonitor(layers)
    issues = feed(mon, [(0.96, 0.95), (0.98, 0.964), (0.99, 0.94)])
    assert [i.kind for i in issues] == ["overfitting"]
    assert health.INSERT_DROPOUT not in fixes_by_action(issues[0])
    assert health.ENABLE_AUGMENTATION in fixes_by_action(issues[0])


def test_both_accuracies_falling_is_not_overfitting():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(overfit_patience=1))
    mon.observe(epoch_report(0, 0.4, 0.90, 0.4, 0.92))
    kinds = [i.kind for i in mon.observe(epoch_report(1, 0.5, 0.88, 0.5, 0.90))]
    assert "overfitting" not in kinds


def test_last_dense_index():
    assert health.last_dense_index(LENET_LIKE) == 6
    assert health.last_dense_index(["Conv2D", "ReLU"]) is None


# ---- dead ReLU -----------------------------------------------------------------------
def test_mostly_dead_relu_reported_after_patience_with_leaky_fix():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=3))
    stats = {1: {"dead_fraction": 0.7}, 5: {"dead_fraction": 0.1}}
    assert mon.observe(step(1.0, stats=stats)) == []
    assert mon.observe(step(0.9, stats=stats)) == []
    issues = mon.observe(step(0.8, lr=0.03, stats=stats))
    assert [(i.kind, i.layer_index) for i in issues] == [("dead_relu", 1)]
    fixes = fixes_by_action(issues[0])
    assert fixes[health.REPLACE_WITH_LEAKY_RELU].params["index"] == 1
    assert fixes[health.REPLACE_WITH_LEAKY_RELU].needs_stopped
    assert fixes[health.SET_LR].params["lr"] == pytest.approx(0.01)
    assert "70%" in issues[0].message and "Layer 2 ReLU" in issues[0].message


def test_layers_dying_together_offer_one_learning_rate_fix():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=1))
    issues = mon.observe(step(0.8, lr=3.0, stats={1: {"dead_fraction": 1.0}, 5: {"dead_fraction": 0.9}}))
    assert [i.layer_index for i in issues] == [1, 5]
    assert [health.SET_LR in fixes_by_action(i) for i in issues] == [True, False]
    assert all(health.REPLACE_WITH_LEAKY_RELU in fixes_by_action(i) for i in issues)


def test_dead_streak_resets_when_units_recover():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=2))
    mon.observe(step(1.0, stats={1: {"dead_fraction": 0.8}}))
    mon.observe(step(1.0, stats={1: {"dead_fraction": 0.2}}))
    assert mon.observe(step(1.0, stats={1: {"dead_fraction": 0.8}})) == []


def test_dead_units_in_a_non_relu_layer_are_ignored():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=1))
    assert mon.observe(step(1.0, stats={0: {"dead_fraction": 0.9}})) == []


def test_layer_stats_as_list_with_types():
    report = step(1.0, stats=[None, {"type": "ReLU", "dead_fraction": 0.9}])
    assert list(health.layer_stats_of(report)) == [1]
    mon = HealthMonitor(thresholds=HealthThresholds(dead_patience=1))
    assert [i.layer_index for i in mon.observe(report)] == [1]


def test_reset_all_lets_every_issue_fire_again():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=1))
    stats = {1: {"dead_fraction": 0.9}}
    assert len(mon.observe(step(1.0, stats=stats))) == 1
    assert mon.observe(step(1.0, stats=stats)) == []
    mon.reset()
    assert len(mon.observe(step(1.0, stats=stats))) == 1
