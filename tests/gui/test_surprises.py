"""No silent surprises (issue 13): health warnings that take themselves down, Start on a trained
network asks, a new project starts clean, Paused/ETA, the class-count problem and its fix."""

from __future__ import annotations

import pytest

from cnnstudio.engine.health import HealthMonitor
from cnnstudio.gui.training.health_view import HealthView

LAYERS = ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "Softmax"]


def epoch(mon, n, train_acc, val_acc):
    return mon.observe_epoch(n, 1.0 - train_acc, train_acc, 1.0 - val_acc, val_acc, 0.01)


def test_health_view_takes_a_warning_down_when_it_is_resolved(qtbot):
    view = HealthView()
    qtbot.addWidget(view)
    mon = HealthMonitor(LAYERS, val_size=500)
    for n, (t, v) in enumerate([(0.96, 0.95), (0.98, 0.98), (0.99, 0.955)]):
        view.add_issues(epoch(mon, n, t, v))
    assert [c.issue.kind for c in view.cards] == ["overfitting"]
    assert "1 health message" in view.status.text()
    view.add_issues(epoch(mon, 3, 0.992, 0.968))  # back within the noise of 500 images
    assert view.cards == []
    assert "Resolved in epoch 4" in view.status.text() and "No problems now" in view.status.text()
