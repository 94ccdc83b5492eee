import math

import pytest

from cnnstudio.engine.schedules import ConstantSchedule, CosineSchedule, StepSchedule, schedule_from_config


def test_constant():
    s = ConstantSchedule(0.3)
    assert [s.lr_at(i) for i in (0, 5, 10_000)] == [0.3, 0.3, 0.3]


def test_step_in_steps():
    s = StepSchedule(1.0, step_size=3, gamma=0.5, unit="step")
    assert [s.lr_at(i) for i in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_step_in_epochs_needs_binding():
    s = StepSchedule(1.0, step_size=2, gamma=0.1)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        s.lr_at(0)
    bound = s.bind(steps_per_epoch=4, total_steps=100)
    assert bound.lr_at(7) == 1.0
    assert bound.lr_at(8) == pytest.approx(0.1)
    assert bound.lr_at(16) == pytest.approx(0.01)


def test_cosine_values():
    s = CosineSchedule(0.1, min_lr=0.01, total_steps=10)
    assert s.lr_at(0) == pytest.approx(0.1)
    assert s.lr_at(5) == pytest.approx(0.01 + 0.5 * 0.09 * (1 + math.cos(math.pi * 0.5)))
    assert s.lr_at(10) == pytest.approx(0.01)
    assert s.lr_at(50) == pytest.approx(0.01)


def test_cosine_warmup_is_linear_then_peaks():
    s = CosineSchedule(0.2, warmup_steps=4, total_steps=14)
    assert [s.lr_at(i) for i in range(4)] == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert s.lr_at(4) == pytest.approx(0.2)
    assert s.lr_at(9) == pytest.approx(0.1)


def test_bind_keeps_explicit_numbers():
    s = CosineSchedule(0.1, total_steps=7)
    assert s.bind(steps_per_epoch=3, total_steps=99).total_steps == 7
    assert CosineSchedule(0.1).bind(3, 99).total_steps == 99


@pytest.mark.parametrize("schedule", [ConstantSchedule(0.5), StepSchedule(0.1, 3, 0.5, "step"),
                                      CosineSchedule(0.1, 0.001, 5, 100)])
def test_config_round_trip(schedule):
    cfg = schedule.get_config()
    assert schedule_from_config(cfg) == schedule
    assert cfg["type"] == schedule.name


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="learning rate"):
        ConstantSchedule(0.0)
    with pytest.raises(ValueError, match="gamma"):
        StepSchedule(0.1, 2, gamma=2.0)
    with pytest.raises(ValueError, match="min_lr"):
        CosineSchedule(0.1, min_lr=0.5)
    with pytest.raises(ValueError, match="unknown type 'linear'"):
        schedule_from_config({"type": "linear"})
