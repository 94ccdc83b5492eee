"""Defects found by using the whole app as a person would: regression tests (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.gui.main_window import DISCARD
from qtwait import settle

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_drawing_count_follows_new_and_open(qtbot, window, state, tmp_path):
    draw = window.panel("drawingDock")
    draw.canvas.draw_stroke([(140, 60), (140, 240)], 24)
    draw.update_drawing()
    draw.add_button.click()
    assert draw.count.text().startswith("1 drawing ")
    path = str(tmp_path / "drawn.cnnproj")
    window.ask_save_path = lambda: path
    assert window.save_as()
    window.ask_unsaved = lambda: DISCARD
    window.new_from_template("mlp")
    assert state.user_dataset is None
    assert draw.count.text().startswith("0 drawings")   # was still "1 drawing" after New
    assert window.open_path(path)
    assert draw.count.text().startswith("1 drawing ")


def test_plot_axes_show_plain_numbers(window):
    # pyqtgraph's SI prefix turned a loss of 0.25-0.5 into "250-500 (x0.001)"
    plots = window.training_panel.plots
    widgets = plots.findChildren(type(plots.lr_plot))
    assert len(widgets) >= 3  # loss, accuracy, learning rate
    for w in widgets:
        for axis in ("left", "bottom"):
            assert not w.getPlotItem().getAxis(axis).autoSIPrefix


def test_enlarged_map_is_in_view_in_the_feature_maps_dock(qtbot, window):
    # A word-wrapped status label made the dock's scroll area give the panel its preferred
    # height (~940 px at 1280x800): the enlarged map sat below the fold, so a click seemed dead.
    window.docks["featureMapsDock"].raise_()
    panel = window.panel("featureMapsDock")
    qtbot.waitUntil(lambda: panel.isVisible() and bool(panel.maps.items), timeout=10_000)
    panel.open_tile(1, 0)
    scroll = window.docks["featureMapsDock"].widget()
    settle(panel, panel.viewer, scroll.viewport())  # the wrong height arrived after the first layout pass
    assert panel.height() <= scroll.viewport().height()
    top = panel.viewer.mapTo(panel, panel.viewer.rect().topLeft()).y()
    assert panel.viewer.height() >= 100 and top + panel.viewer.height() <= scroll.viewport().height()


def test_drawing_panel_follows_a_colour_network_and_names_the_label(qtbot, window, state):
    from cnnstudio.data import Dataset
    from cnnstudio.model import SetInput, SetLayerConfig

    state.new_project("simple-cnn")
    state.document.execute(SetInput(32, 32, 3))
    state.document.execute(SetLayerConfig(4, "units", 3))
    x = np.zeros((6, 32, 32, 3), np.uint8)
    y = np.array([0, 1, 2, 0, 1, 2])
    ds = Dataset("colours", x, y, ["blue", "green", "red"], source="test")
    state.set_dataset((ds, ds))
    draw = window.panel("drawingDock")
    window.docks["drawingDock"].raise_()
    assert "32 x 32 x 3" in draw.seen_caption.text()   # was a fixed "28 x 28"
    draw.canvas.draw_stroke([(140, 60), (140, 240)], 24)
    draw.update_drawing()
    draw.inspector.refresh_now()
    assert draw.preview.pixmap() is not None and not draw.preview.pixmap().isNull()
    draw.label_spin.setValue(2)
    assert draw.label_spin.text().endswith("(red)")


def test_clicking_a_mistake_scrolls_its_details_into_view(qtbot, window, state):
    # stacked in the 1280x800 dock, the example's probabilities sat below the fold
    from cnnstudio.project.session import build_network

    window.docks["evaluationDock"].raise_()
    panel = window.evaluation_panel
    with qtbot.waitSignal(panel.evaluated, timeout=30_000):
        state.set_weights(build_network(state.spec, seed=0).get_weights())  # untrained: many mistakes
    scroll = window.docks["evaluationDock"].widget()
    chart = panel.probs_chart.widget
    settle(chart, scroll.viewport())

    def chart_in_view() -> bool:
        top = chart.mapTo(scroll.viewport(), chart.rect().topLeft()).y()
        return top >= 0 and top + chart.height() <= scroll.viewport().height()

    assert not chart_in_view()  # the premise: below the fold before the click
    panel.show_example(int(panel.result.mistakes()[0]))
    assert chart_in_view()


def test_cancelling_close_keeps_a_paused_run_paused(qtbot, window, monkeypatch):
    from PyQt6.QtWidgets import QMessageBox

    from cnnstudio.data import sample_split

    train, val = sample_split()
    panel = window.training_panel
    panel.epochs.setValue(1)
    assert panel.start(paused=True, datasets=(train.subset(np.arange(64)), val.subset(np.arange(16))))
    c = panel.controller
    qtbot.waitUntil(lambda: c.paused, timeout=10_000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.close()
    assert window.isVisible() and c.running
    assert c.paused  # Cancel used to resume a run the user had paused
    c.shutdown()


def test_the_data_source_row_shows_only_with_a_path(qtbot, window, tmp_path):
    panel = window.training_panel
    window.docks["trainingDock"].raise_()
    assert not panel.source_label.isVisible()  # an empty row used to leave a gap in the form
    panel.ask_data_path = lambda kind: str(tmp_path / "digits.npz")
    index = panel.dataset.findData("<file>")
    panel.dataset.setCurrentIndex(index)
    panel.dataset.activated.emit(index)
    assert panel.source_label.isVisible() and panel.source_label.text().endswith("digits.npz")
    index = panel.dataset.findData("sample")
    panel.dataset.setCurrentIndex(index)
    panel.dataset.activated.emit(index)
    assert not panel.source_label.isVisible()


def test_a_recent_file_that_is_gone_leaves_the_recent_menu(window, state, tmp_path):
    errors = []
    window.show_error = lambda title, text: errors.append(text)
    path = str(tmp_path / "gone.cnnproj")
    window.ask_save_path = lambda: path
    assert window.save_as()
    assert window.menus.recent_files()[0] == path
    import os
    os.remove(path)
    action = next(a for a in window.menus.recent_menu.actions() if a.text() == path)
    action.trigger()
    assert errors and "gone.cnnproj" in errors[0]
    assert path not in window.menus.recent_files()
    assert path not in [a.text() for a in window.menus.recent_menu.actions()]


def test_training_errors_speak_of_the_app_not_of_cli_flags(window, tmp_path):
    # a colour .npz for a grayscale network: the data layer's advice ends "convert with --grayscale"
    rng = np.random.default_rng(0)
    path = tmp_path / "colour.npz"
    np.savez(path, x=rng.integers(0, 255, (40, 28, 28, 3), dtype=np.uint8), y=np.arange(40) % 10)
    panel = window.training_panel
    errors = []
    panel.show_error = lambda title, text: errors.append(text)
    panel.ask_data_path = lambda kind: str(path)
    index = panel.dataset.findData("<file>")
    panel.dataset.setCurrentIndex(index)
    panel.dataset.activated.emit(index)
    assert not panel.start()
    assert errors and "3-channel" in errors[0] and "Input block" in errors[0] and "--" not in errors[0]


def test_saving_after_editing_a_trained_network_gives_a_file_that_opens(window, state, tmp_path):
    # the weights of the network before the edit were saved with the edited network, and the
    # loader then refused the file ("weights.npz does not fit the network"): the work was lost
    from cnnstudio.gui.main_window import STALE_WEIGHTS_NOTE
    from cnnstudio.model import SetLayerConfig
    from cnnstudio.project.session import build_network

    state.set_weights(build_network(state.spec, seed=1).get_weights(), optimizer_state={"steps": np.array(3)})
    state.document.execute(SetLayerConfig(7, "units", 100))  # lenet5's first Dense: 120 -> 100
    assert not state.weights_fit()
    path = str(tmp_path / "edited.cnnproj")
    window.ask_save_path = lambda: path
    errors = []
    window.show_error = lambda title, text: errors.append(text)
    assert window.save_as()
    assert window.statusBar().currentMessage() == STALE_WEIGHTS_NOTE
    edited = state.spec
    assert window.open_path(path), errors
    assert state.spec == edited and state.weights is None and state.optimizer_state is None
