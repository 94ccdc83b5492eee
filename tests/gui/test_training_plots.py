"""The live plots: buffered, throttled updates and long runs."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.gui.common.buffers import EMA, Series
from cnnstudio.gui.training.plots import TrainingPlots


def test_series_grows_without_losing_points():
    s = Series(capacity=4)
    for i in range(1000):
        s.append(i, 2 * i)
    s.extend(np.arange(1000, 1500), np.zeros(500))
    assert len(s) == 1500
    np.testing.assert_array_equal(s.x[:1000], np.arange(1000))
    np.testing.assert_array_equal(s.y[:1000], 2 * np.arange(1000))
    assert (s.y[1000:] == 0).all()


def test_ema_is_bias_corrected_and_skips_nan():
    ema = EMA(alpha=0.1)
    assert ema.update(2.0) == pytest.approx(2.0)  # the first value is not pulled towards 0
    assert np.isnan(ema.update(float("nan")))
    assert ema.update(2.0) == pytest.approx(2.0)
    assert 2.0 < ema.update(4.0) < 3.0


def steps(n, start=0):
    return [{"global_step": start + i, "loss": 2.0 / (1 + i), "accuracy": min(1.0, i / n), "lr": 1e-3}
            for i in range(n)]


def test_curves_are_redrawn_by_the_timer_not_per_update(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    before = plots.redraws
    curve = plots.curves["loss"]
    for chunk in range(50):
        plots.add_steps(steps(10, start=10 * chunk))
    assert plots.redraws == before  # nothing drawn yet: updates only fill buffers
    assert curve.getData()[0] is None or len(curve.getData()[0]) == 0
    qtbot.waitUntil(lambda: plots.redraws > before, timeout=5000)
    x, y = curve.getData()
    assert len(x) == 500 and y[0] == 2.0
    drawn = plots.redraws
    for _ in range(5):
        plots.refresh()  # what the timer calls: with nothing new, nothing is redrawn
    assert plots.redraws == drawn  # nothing new, nothing redrawn


def test_long_run_of_100k_points_uses_downsampling_and_clip_to_view(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 300)
    plots.show()
    n = 100_000
    plots.add_steps(steps(n))
    plots.add_epoch({"global_step": n, "train_loss": 0.1, "train_acc": 0.9, "val_loss": 0.2, "val_acc": 0.85})
    plots.refresh()
    item = plots.loss_plot.getPlotItem()
    assert item.ctrl.downsampleCheck.isChecked() and item.ctrl.autoDownsampleCheck.isChecked()
    assert item.ctrl.peakRadio.isChecked() and item.ctrl.clipToViewCheck.isChecked()
    assert len(plots.curves["loss"].getData()[0]) == n
    # What is painted is downsampled: far fewer points than the data (once the view has its range).
    painted = plots.curves["loss"].curve  # the PlotCurveItem holds what is painted
    qtbot.waitUntil(lambda: painted.getData()[0] is not None and len(painted.getData()[0]) < n / 10,
                    timeout=10_000)
    shown_x, _ = painted.getData()
    assert shown_x is not None and 0 < len(shown_x) < n / 10
    assert plots.series["epoch_val_acc"].y[-1] == 85.0


def test_nan_loss_is_shown_as_a_gap_not_a_crash(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_steps([{"global_step": 0, "loss": 2.0, "accuracy": 0.1, "lr": 1.0},
                     {"global_step": 1, "loss": float("inf"), "accuracy": 0.1, "lr": 1.0},
                     {"global_step": 2, "loss": float("nan"), "accuracy": 0.1, "lr": 1.0}])
    plots.refresh()
    y = plots.curves["loss"].getData()[1]
    assert y[0] == 2.0 and np.isnan(y[1]) and np.isnan(y[2])


def test_load_history_shows_saved_epochs(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_steps(steps(20))
    epochs = [{"epoch": 1, "global_step": 10, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.6,
               "val_acc": 0.75, "lr": 1e-3},
              {"epoch": 2, "global_step": 20, "train_loss": 0.3, "train_acc": 0.9, "val_loss": 0.4,
               "val_acc": 0.85, "lr": 5e-4}]
    plots.load_history(epochs)
    assert plots.series["loss"].n == 0  # batch curves belong to the live run only
    np.testing.assert_allclose(plots.series["epoch_val_acc"].y, [75.0, 85.0])
    np.testing.assert_allclose(plots.series["lr"].y, [1e-3, 5e-4])


def test_load_history_draws_the_saved_per_batch_learning_rate(qtbot):
    """QA (issue 13): a reopened project's LR plot showed one dot per epoch though the run had
    drawn the per-batch cosine with a live change; saved steps now carry their rate."""
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    saved = [{"global_step": i, "loss": 1.0, "accuracy": 0.5, "lr": 0.002 if i < 6 else 0.0005} for i in range(10)]
    epochs = [{"epoch": 1, "global_step": 5, "train_loss": 0.5, "lr": 0.002},
              {"epoch": 2, "global_step": 10, "train_loss": 0.4, "lr": 0.0005}]
    plots.load_history(epochs, [{"epoch": 2, "step": 6, "lr": 0.0005}], saved)
    np.testing.assert_allclose(plots.series["lr"].x, np.arange(10))   # per batch, not the epochs' 5 and 10
    np.testing.assert_allclose(plots.series["lr"].y, [0.002] * 6 + [0.0005] * 4)
    assert plots.curves["lr"].opts["symbol"] is None        # a line, as the live run drew it
    # steps saved before their rate was kept: the epochs' rates, with markers, as before
    plots.load_history(epochs, [], [{**s, "lr": None} for s in saved])
    np.testing.assert_allclose(plots.series["lr"].x, [5, 10])
    assert plots.curves["lr"].opts["symbol"] == "o" and plots.series["loss"].n == 10


def test_saved_learning_rate_has_markers_and_a_live_run_does_not(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.load_history([{"epoch": 1, "global_step": 8, "train_loss": 0.5, "train_acc": 0.8, "lr": 1e-3}])
    lr = plots.curves["lr"]
    assert lr.opts["symbol"] == "o" and list(lr.getData()[1]) == [1e-3]  # one epoch: one visible marker
    plots.clear()
    plots.add_steps(steps(20))
    assert lr.opts["symbol"] is None  # one LR per batch: a line
