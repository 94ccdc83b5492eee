"""A branching template trains in the app: mini-resnet (residual blocks, BatchNorm, Add)
through the training panel and its worker thread (pytest-qt, offscreen, small slice)."""

from __future__ import annotations

import numpy as np

from cnnstudio.gui.state import AppState
from cnnstudio.gui.training.panel import TrainingPanel
from cnnstudio.model.templates import get_template

TIMEOUT = 120_000  # ms; generous for a shared 2-core machine (never a speed assertion)


def test_mini_resnet_trains_in_the_app_and_keeps_every_branch_weights(qtbot, small_data):
    state = AppState(template="mini-resnet")
    panel = TrainingPanel(state)
    qtbot.addWidget(panel)
    qtbot.addWidget(panel.plots)
    errors: list = []
    panel.show_error = lambda title, text: errors.append((title, text))
    panel.batch_size.setValue(32)
    panel.augment.setChecked(False)
    panel.epochs.setValue(2)
    try:
        with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT) as blocker:
            assert panel.start(datasets=small_data), errors
        assert blocker.args == ["completed"], errors
        epochs = panel.controller.history["epochs"]
        assert [e["epoch"] for e in epochs] == [1, 2]
        assert all(np.isfinite(e["train_loss"]) and 0 <= e["val_acc"] <= 1 for e in epochs)
        # 256 images over 2 epochs of a fresh net: better than chance (10%) on the 64 held out
        assert epochs[-1]["val_acc"] > 0.2, epochs
        spec = get_template("mini-resnet")
        # the 1x1 projection shortcuts of blocks 2 and 3 (layers read by their Adds) trained too
        projections = [i for i, layer in enumerate(spec.layers)
                       if layer.type == "Conv2D" and layer.config["kernel_size"] == [1, 1]]
        assert len(projections) == 2
        for i in projections:
            assert f"{i}.W" in state.weights
        assert any(k.endswith("running_mean") for k in state.weights), sorted(state.weights)
    finally:
        if panel.controller.running:
            panel.controller.shutdown()
