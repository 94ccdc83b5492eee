"""A learning rate changed mid-run scales the schedule from that step on (issue 13: the
cosine went off while the form still said "cosine")."""

import math

import pytest

from cnnstudio.engine.schedules import ConstantSchedule, CosineSchedule, StepSchedule, rescaled_at
from tests.engine.test_trainer import make_trainer


def test_cosine_rescaled_gives_the_new_rate_then_keeps_its_shape():
    s = CosineSchedule(0.01, min_lr=0.001, total_steps=100)
    at = 40
    before = s.lr_at(at)
    r = rescaled_at(s, at, 0.002)
    assert isinstance(r, CosineSchedule) and r.total_steps == 100
    assert r.lr_at(at) == pytest.approx(0.002)
    f = 0.002 / before
    for step in (41, 60, 99, 100, 150):  # every later step: the old rate times the same factor
        assert r.lr_at(step) == pytest.approx(s.lr_at(step) * f)
    assert r.lr_at(100) == pytest.approx(0.001 * f)  # the floor scales too
    assert r.lr_at(60) < r.lr_at(41)  # still decaying


def test_warmup_and_step_and_constant_rescale():
    w = CosineSchedule(0.1, warmup_steps=10, total_steps=50)
    r = rescaled_at(w, 4, 0.01)
    assert r.lr_at(4) == pytest.approx(0.01) and r.lr_at(9) == pytest.approx(w.lr_at(9) * 0.01 / w.lr_at(4))
    st = StepSchedule(1.0, step_size=3, gamma=0.5, unit="step")
    r2 = rescaled_at(st, 4, 0.1)   # 0.5 there -> 0.1: factor 0.2
    assert [r2.lr_at(i) for i in (4, 5, 6, 9)] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert rescaled_at(ConstantSchedule(0.3), 7, 0.02).lr_at(1000) == pytest.approx(0.02)


def test_a_cosine_at_zero_cannot_be_scaled():
    s = CosineSchedule(0.01, min_lr=0.0, total_steps=10)
    assert s.lr_at(10) == 0.0 and rescaled_at(s, 10, 0.005) is None
    with pytest.raises(ValueError, match="learning rate"):
        rescaled_at(s, 3, -1)


def test_trainer_keeps_the_cosine_after_a_change_and_add_epochs_still_stretches_it():
    # 100 images, batch 10: 10 steps an epoch, 3 epochs = 30 steps of cosine from 0.1 to 0
    tr = make_trainer(epochs=3, n=100, batch_size=10, schedule=CosineSchedule(0.1))
    gen = tr.run()
    for _ in range(12):  # 10 steps, the EpochReport, 1 step
        next(gen)
    old = CosineSchedule(0.1, total_steps=30)
    at = tr.global_step  # 11
    tr.set_lr(0.01, keep_schedule=True)
    assert tr.follows_schedule and tr.lr_changes == [(at, 0.01)]
    f = 0.01 / old.lr_at(at)
    got = [next(gen).lr for _ in range(5)]
    assert got == pytest.approx([old.lr_at(s) * f for s in range(at, at + 5)])
    assert got[0] == pytest.approx(0.01) and got[4] < got[0]   # decays on, not constant
    tr.add_epochs(1)   # the scaled cosine is stretched over 40 steps, like the original would be
    assert tr.current_lr() == pytest.approx(CosineSchedule(0.1 * f, total_steps=40).lr_at(tr.global_step))


def test_plain_set_lr_still_holds_the_rate():
    tr = make_trainer(epochs=2, n=100, batch_size=10, schedule=CosineSchedule(0.1))
    gen = tr.run()
    next(gen)
    tr.set_lr(0.02)
    assert not tr.follows_schedule
    assert [next(gen).lr for _ in range(3)] == [0.02, 0.02, 0.02]
    assert not math.isnan(tr.current_lr())
