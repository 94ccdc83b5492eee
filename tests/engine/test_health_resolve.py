"""Health warnings take themselves down when their condition ends (issue 13: a stale "loss
is not falling" after the loss fell; an overfitting warning after accuracy recovered), with
thresholds that scale with the validation set's size."""

from __future__ import annotations

from tests.engine.test_health import LENET_LIKE, epoch_report, feed, step

from cnnstudio.engine.health import HealthMonitor, HealthThresholds, still_overfitting


def kinds(issues):
    return [(i.kind, i.resolved) for i in issues]


def test_plateau_warning_is_resolved_when_the_loss_falls_again_and_may_come_back():
    mon = HealthMonitor(LENET_LIKE, num_classes=10)
    assert mon.observe(epoch_report(0, 1.0, 0.5)) == []
    raised = mon.observe(epoch_report(1, 1.0, 0.5))
    assert kinds(raised) == [("plateau", False)]
    done = mon.observe(epoch_report(2, 0.8, 0.6))
    assert kinds(done) == [("plateau", True)]
    assert done[0].key == "plateau" and done[0].fixes == () and "epoch 3" in done[0].message
    assert "1 -> 0.8" in done[0].message
    assert mon.observe(epoch_report(3, 0.6, 0.7)) == []          # resolved once, not every epoch
    assert kinds(mon.observe(epoch_report(4, 0.6, 0.7))) == [("plateau", False)]  # back: warns again


def test_overfitting_on_a_small_validation_set_clears_when_accuracy_recovers():
    # 500 images at ~97%: two standard errors of a difference are ~2 points
    mon = HealthMonitor(LENET_LIKE, val_size=500)
    raised = feed(mon, [(0.96, 0.95), (0.98, 0.98), (0.99, 0.955)])    # 2.5 points down
    assert kinds(raised) == [("overfitting", False)]
    # 1.2 points below the best: noise on 500 images (threshold 1.8), so the warning goes
    assert kinds(mon.observe(epoch_report(3, 0.008, 0.992, 0.032, 0.968))) == [("overfitting", True)]


def test_the_same_recovery_on_a_large_validation_set_is_not_enough():
    # 10 000 images: 1.2 points below the best is still a real drop (threshold: the 1-point margin)
    mon = HealthMonitor(LENET_LIKE, val_size=10_000)
    assert kinds(feed(mon, [(0.96, 0.95), (0.98, 0.98), (0.99, 0.955)])) == [("overfitting", False)]
    assert mon.observe(epoch_report(3, 0.008, 0.992, 0.032, 0.968)) == []
    assert kinds(mon.observe(epoch_report(4, 0.007, 0.993, 0.022, 0.978))) == [("overfitting", True)]


def test_the_issues_run_the_lenet5_case_ends_without_a_stale_warning():
    # no size known: the 1-point margin; a dip that recovers to within it clears by the last epoch
    mon = HealthMonitor(LENET_LIKE)
    issues = feed(mon, [(0.96, 0.975), (0.98, 0.980), (0.99, 0.966), (0.992, 0.978), (0.994, 0.980)])
    assert kinds(issues) == [("overfitting", False), ("overfitting", True)]
    assert issues[1].epoch == 4


def test_still_overfitting_follows_validation_loss_too():
    e = [{"epoch": i, "train_loss": tl, "train_acc": 0.95, "val_loss": vl, "val_acc": 0.95}
         for i, (tl, vl) in enumerate([(0.30, 0.20), (0.20, 0.18), (0.15, 0.19), (0.10, 0.21)])]
    assert still_overfitting(e)
    e.append({"epoch": 4, "train_loss": 0.09, "train_acc": 0.95, "val_loss": 0.17, "val_acc": 0.95})
    assert not still_overfitting(e)


def test_dead_relu_warning_clears_after_as_many_healthy_reports():
    mon = HealthMonitor(LENET_LIKE, thresholds=HealthThresholds(dead_patience=2))
    dead, alive = {1: {"dead_fraction": 0.9}}, {1: {"dead_fraction": 0.1}}
    mon.observe(step(1.0, stats=dead))
    assert kinds(mon.observe(step(1.0, stats=dead))) == [("dead_relu", False)]
    assert mon.observe(step(1.0, stats=alive)) == []
    done = mon.observe(step(1.0, stats=alive))
    assert kinds(done) == [("dead_relu", True)] and done[0].key == "dead_relu:1" and done[0].layer_index == 1
    assert "layer 2 ReLU" in done[0].message
