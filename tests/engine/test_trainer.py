import numpy as np
import pytest

from cnnstudio.engine.layers import Dense, Dropout, Flatten, ReLU, Softmax
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD, Adam
from cnnstudio.engine.schedules import StepSchedule
from cnnstudio.engine.trainer import EpochReport, StepReport, Trainer, evaluate


def data(n=100, seed=0):
    """A learnable toy problem: class = which half of the 8 features has the larger sum."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 2, 4)).astype(np.float32)
    y = (x[:, 0, 0].sum(1) > x[:, 0, 1].sum(1)).astype(np.int64)
    return x, y


def make_net(seed=0, dropout=False):
    layers = [Flatten(), Dense(16), ReLU()] + ([Dropout(0.2)] if dropout else []) + [Dense(2), Softmax()]
    return Network(layers, (1, 2, 4), seed=seed)


def make_trainer(epochs=2, n=100, batch_size=32, seed=0, **kw):
    x, y = data(n)
    return Trainer(make_net(seed, kw.pop("dropout", False)), kw.pop("optimizer", SGD()), x, y,
                   batch_size=batch_size, epochs=epochs, seed=seed, **kw)


def test_yields_steps_then_epoch_reports():
    tr = make_trainer(epochs=2, n=100, batch_size=32)
    reports = list(tr.run())
    kinds = [type(r).__name__ for r in reports]
    assert kinds == ["StepReport"] * 4 + ["EpochReport"] + ["StepReport"] * 4 + ["EpochReport"]
    steps = [r for r in reports if isinstance(r, StepReport)]
    assert [s.global_step for s in steps] == list(range(8))
    assert [s.step_in_epoch for s in steps] == [0, 1, 2, 3] * 2
    assert all(s.steps_per_epoch == 4 and s.finite and s.images_per_sec > 0 for s in steps)
    assert [s.batch_size for s in steps[:4]] == [32, 32, 32, 4]
    epochs = [r for r in reports if isinstance(r, EpochReport)]
    assert [e.epoch for e in epochs] == [0, 1]
    assert epochs[0].val_loss is None
    # Mean over the epoch's samples, weighted by batch size (last batch has 4 samples).
    sizes = np.array([32, 32, 32, 4])
    first = np.array([s.loss for s in steps[:4]])
    assert epochs[0].train_loss == pytest.approx((first * sizes).sum() / 100)


def test_stats_every_k_steps():
    tr = make_trainer(epochs=1, n=100, batch_size=10, stats_every=3)
    steps = [r for r in tr.run() if isinstance(r, StepReport)]
    with_stats = [s.global_step for s in steps if s.layer_stats is not None]
    assert with_stats == [0, 3, 6, 9]
    assert steps[3].layer_stats[2].layer_type == "ReLU"


def test_stop_returns_after_current_step_and_run_resumes():
    tr = make_trainer(epochs=2, n=100, batch_size=32)
    gen = tr.run()
    got = [next(gen), next(gen)]
    tr.stop()
    assert list(gen) == []
    assert [r.global_step for r in got] == [0, 1]
    rest = list(tr.run())
    assert isinstance(rest[0], StepReport) and rest[0].global_step == 2
    assert sum(isinstance(r, EpochReport) for r in rest) == 2


def test_interrupted_run_equals_uninterrupted():
    a = make_trainer(epochs=2)
    list(a.run())
    b = make_trainer(epochs=2)
    gen = b.run()
    for _ in range(3):
        next(gen)
    b.stop()
    list(gen)
    list(b.run())
    for k, v in a.network.get_weights().items():
        np.testing.assert_array_equal(v, b.network.get_weights()[k])


def test_set_lr_takes_effect_next_step_and_is_recorded():
    tr = make_trainer(epochs=1, n=100, batch_size=10, lr=0.1)
    gen = tr.run()
    assert next(gen).lr == 0.1
    tr.set_lr(0.02)
    assert next(gen).lr == 0.02
    assert tr.lr_changes == [(1, 0.02)]
    with pytest.raises(ValueError, match="learning rate"):
        tr.set_lr(-1)


def test_schedule_is_used_until_overridden():
    tr = make_trainer(epochs=3, n=40, batch_size=20, schedule=StepSchedule(0.1, step_size=1, gamma=0.5))
    lrs = [r.lr for r in tr.run() if isinstance(r, StepReport)]
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_add_epochs_extends_the_run():
    tr = make_trainer(epochs=1, n=40, batch_size=20)
    gen = tr.run()
    next(gen)
    tr.add_epochs(2)
    rest = list(gen)
    assert sum(isinstance(r, EpochReport) for r in rest) == 3
    assert tr.finished and tr.global_step == 6


def test_add_epochs_stretches_a_bound_cosine_schedule():
    from cnnstudio.engine.schedules import CosineSchedule

    tr = make_trainer(epochs=2, n=40, batch_size=20, schedule=CosineSchedule(0.1))
    assert tr.schedule.total_steps == 4
    tr.add_epochs(2)
    assert tr.schedule.total_steps == 8
    lrs = [r.lr for r in tr.run() if isinstance(r, StepReport)]
    assert lrs[4] > 0.01 and lrs == sorted(lrs, reverse=True)
    fixed = make_trainer(epochs=2, n=40, batch_size=20, schedule=CosineSchedule(0.1, total_steps=3))
    fixed.add_epochs(1)
    assert fixed.schedule.total_steps == 3


def test_batch_transform_sees_batches_and_rng():
    seen = []

    def flip(x, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(x.shape)
        return x[..., ::-1]

    tr = make_trainer(epochs=1, n=50, batch_size=20)
    gen = tr.run()
    next(gen)
    tr.set_batch_transform(flip)
    list(gen)
    assert seen == [(20, 1, 2, 4), (10, 1, 2, 4)]


@pytest.mark.parametrize("optimizer", [lambda: SGD(momentum=0.9), lambda: Adam()])
def test_same_seed_is_bit_for_bit_repeatable(optimizer):
    runs = []
    for _ in range(2):
        tr = make_trainer(epochs=2, dropout=True, optimizer=optimizer())
        losses = [r.loss for r in tr.run() if isinstance(r, StepReport)]
        runs.append((losses, tr.network.get_weights()))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        np.testing.assert_array_equal(v, runs[1][1][k])
    other = make_trainer(epochs=2, dropout=True, seed=1, optimizer=optimizer())
    list(other.run())
    assert not np.array_equal(other.network.get_weights()["1.W"], runs[0][1]["1.W"])


def test_loss_decreases_on_a_learnable_problem():
    x, y = data(200)
    tr = Trainer(make_net(), Adam(), x, y, x_val=x[:50], y_val=y[:50], batch_size=20, epochs=15, lr=0.01)
    epochs = [r for r in tr.run() if isinstance(r, EpochReport)]
    assert epochs[-1].train_loss < 0.5 * epochs[0].train_loss
    assert epochs[-1].train_acc > 0.9 and epochs[-1].val_acc > 0.85


def test_huge_lr_is_flagged_and_last_good_weights_kept():
    tr = make_trainer(epochs=3, n=40, batch_size=20, lr=1e30)
    start = tr.last_good_weights
    steps = [r for r in tr.run() if isinstance(r, StepReport)]
    assert any(not s.finite for s in steps)
    assert all(np.isfinite(v).all() for v in tr.last_good_weights.values())
    assert set(tr.last_good_weights) == set(start)


def test_threads_option_trains_identically():
    a = make_trainer(epochs=1, threads=1)
    b = make_trainer(epochs=1, threads=None)
    list(a.run())
    list(b.run())
    for k, v in a.network.get_weights().items():
        np.testing.assert_allclose(v, b.network.get_weights()[k], rtol=1e-5, atol=1e-7)


def test_bad_inputs_are_explained():
    x, y = data(10)
    with pytest.raises(ValueError, match="x_train has 10 samples and y_train 9 labels"):
        Trainer(make_net(), SGD(), x, y[:9])
    with pytest.raises(ValueError, match="x_val and y_val"):
        Trainer(make_net(), SGD(), x, y, x_val=x)
    with pytest.raises(ValueError, match=r"validation data has 10 samples and 9 labels"):
        Trainer(make_net(), SGD(), x, y, x_val=x, y_val=y[:9])
    with pytest.raises(ValueError, match=r"class 2 is outside 0\.\.1"):
        Trainer(make_net(), SGD(), x, np.where(y == 1, 2, y))
    with pytest.raises(ValueError, match=r"shape \(1, 4, 2\) per sample but the network takes \(1, 2, 4\)"):
        Trainer(make_net(), SGD(), x.reshape(10, 1, 4, 2), y)
    with pytest.raises(ValueError, match="threads"):
        Trainer(make_net(), SGD(), x, y, threads="many")


def test_evaluate_confusion_on_a_crafted_example():
    # Identity-like network: input features are the logits.
    net = Network([Dense(3, use_bias=False), Softmax()], (3,))
    net.set_weights({"0.W": np.eye(3, dtype=np.float32)})
    x = np.array([[5, 0, 0], [0, 5, 0], [0, 5, 0], [0, 0, 5], [5, 0, 0]], np.float32)
    y = np.array([0, 1, 0, 2, 2])
    res = evaluate(net, x, y, batch_size=2)
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(res.confusion, expected)
    assert res.accuracy == pytest.approx(3 / 5)
    p_right = np.exp(5) / (np.exp(5) + 2)
    p_wrong = 1 / (np.exp(5) + 2)
    assert res.loss == pytest.approx(-(3 * np.log(p_right) + 2 * np.log(p_wrong)) / 5, rel=1e-5)
    assert res.probs.shape == (5, 3)
    np.testing.assert_allclose(res.probs.sum(1), 1, rtol=1e-6)
    assert evaluate(net, x, y, num_classes=4).confusion.shape == (4, 4)
    with pytest.raises(ValueError, match="class 3 is outside"):
        evaluate(net, x, np.array([0, 1, 3, 2, 2]))


def test_conv_network_repeatable_and_learns():
    from cnnstudio.engine.layers import Conv2D, MaxPool2D

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (0.5 * rng.random((60, 1, 6, 6))).astype(np.float32)
    x[y == 1, :, :3] += 0.5  # class 1: a bright top half

    def train():
        net = Network([Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dropout(0.1),
                       Dense(2), Softmax()], (1, 6, 6), seed=2)
        tr = Trainer(net, Adam(), x, y, batch_size=16, epochs=8, lr=0.01, seed=2)
        return [r for r in tr.run() if isinstance(r, EpochReport)], net.get_weights()

    (ep_a, w_a), (ep_b, w_b) = train(), train()
    for k in w_a:
        np.testing.assert_array_equal(w_a[k], w_b[k])
    assert ep_a[-1].train_loss < 0.7 * ep_a[0].train_loss
