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


# ---- Start on a trained network asks --------------------------------------------------------
from PyQt6.QtCore import QSettings, Qt, QTimer  # noqa: E402

from tests.gui.test_training import TIMEOUT, panel, start  # noqa: E402,F401 - the panel fixture


def answer_start_dialog(panel, button_text, remember=False):
    """Answer the dialog Start opens (from inside its own event loop: no sleep, no race)."""
    seen = {}

    def click():
        box = panel.start_dialog
        assert box is not None and box.isVisible(), "Start did not ask"
        seen["text"] = box.text()
        box.checkBox().setChecked(remember)
        button = next(b for b in box.buttons() if b.text() == button_text)
        button.click()

    QTimer.singleShot(0, click)
    return seen


def train(qtbot, panel, data, epochs=1):
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        start(panel, data, epochs=epochs)


def test_start_on_a_trained_network_asks_continue_or_start_over(qtbot, panel, small_data, tmp_path):
    panel.settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert not panel.is_trained()
    train(qtbot, panel, small_data)          # untrained: no question
    assert panel.is_trained() and len(panel.state.history.epochs) == 1
    trained = {k: v.copy() for k, v in panel.state.weights.items()}

    # "Continue training": from the trained weights, its epochs numbered after the first
    seen = answer_start_dialog(panel, "Continue training")
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(datasets=small_data)
    assert "trained for 1 epoch" in seen["text"]
    assert panel.controller.run.epoch_offset == 1
    assert [e.epoch for e in panel.state.history.epochs] == [1, 2]
    assert any((panel.state.weights[k] != trained[k]).any() for k in trained)
    assert panel.start_choice() is None      # not remembered

    # "Start over" (remembered): random weights, the history starts again at epoch 1
    answer_start_dialog(panel, "Start over", remember=True)
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(paused=False, datasets=small_data)
    assert panel.controller.run.epoch_offset == 0
    assert [e.epoch for e in panel.state.history.epochs] == [1]
    # from random weights with the same seed: exactly the first run again, not the continued one
    assert all((panel.state.weights[k] == trained[k]).all() for k in trained)
    assert panel.settings.value("training/startOnTrained") == "restart"
    assert not panel.remembered.isHidden() and "starts over" in panel.remembered_label.text()

    # remembered: no question
    panel.ask_start_trained = lambda: pytest.fail("asked although the choice was remembered")
    with qtbot.waitSignal(panel.controller.finished, timeout=TIMEOUT):
        assert panel.start(datasets=small_data)
    assert [e.epoch for e in panel.state.history.epochs] == [1]

    # "Ask again" forgets it; Cancel then starts nothing
    del panel.ask_start_trained
    panel.ask_again_button.click()
    assert panel.start_choice() is None and panel.settings.value("training/startOnTrained") is None
    assert panel.remembered.isHidden()
    answer_start_dialog(panel, "Cancel")
    assert not panel.start(datasets=small_data) and not panel.controller.running


# ---- a new project starts clean -----------------------------------------------------------
def test_a_new_project_starts_clean_after_a_trained_one(qtbot, panel, small_data, tmp_path):
    from cnnstudio.model import TrainingConfig

    panel.lr.setValue(0.0123)
    panel.lr.editingFinished.emit()
    train(qtbot, panel, small_data)
    assert panel.state.training_config.lr == pytest.approx(0.0123) and panel.is_trained()
    assert panel.epoch_button.isEnabled()  # the finished run could go on
    from cnnstudio.engine.health import plateau_issue
    panel.health.add_issues([plateau_issue([{"epoch": 0, "train_loss": 1.0, "train_acc": 0.5},
                                            {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5}], [], 0.01, 10, 0.01)])
    panel.state.save(str(tmp_path / "kept.cnnproj"))
    assert len(panel.health.cards) == 1      # saving the same project keeps its warnings
    panel.state.new_project("mlp")         # File > New > mlp (unsaved before: path and project stay None)
    state = panel.state
    assert state.weights is None and state.history.epochs == [] and not state.is_dirty()
    assert state.training_config.lr == TrainingConfig().lr and panel.lr.value() == pytest.approx(TrainingConfig().lr)
    assert state.training_config.epochs == TrainingConfig().epochs
    assert panel.speed_label.text() == "Not started."        # no "trained for 1 epoch(s)"
    assert panel.health.cards == []                          # nor the last project's warnings
    assert not panel.epoch_button.isEnabled() and panel.controller.run is None
    assert not panel.is_trained()                            # Start does not ask: nothing to continue
    assert all(series.n == 0 for series in panel.plots.series.values())   # the old curves are gone
    assert all(c.getData()[0] is None or len(c.getData()[0]) == 0 for c in panel.plots.curves.values())


def test_the_project_name_follows_the_template_then_the_file(qtbot, tmp_path):
    from cnnstudio.gui.state import AppState
    from cnnstudio.model import RemoveLayer

    state = AppState(template="mlp")
    assert state.project_name == "mlp"
    state.document.execute(RemoveLayer(1))     # rebuilt into something else: no longer "mlp"
    assert state.project_name == "untitled"
    state.document.undo()
    assert state.project_name == "mlp"
    state.document.execute(RemoveLayer(1))
    state.save(str(tmp_path / "digits.cnnproj"))
    assert state.project_name == "digits"
    state.new_project("blank")
    assert state.project_name == "blank" and [layer.type for layer in state.spec.layers] == ["Flatten", "Dense",
                                                                                          "Softmax"]


# ---- a dataset whose class count does not fit shows in the editor at once ------------------
def _three_class_pair():
    import numpy as np

    from cnnstudio.data import Dataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (30, 28, 28, 1), dtype=np.uint8)
    y = np.arange(30) % 3
    names = ["circle", "square", "triangle"]
    return (Dataset("shapes (train)", x[:24], y[:24], names, "/data/shapes"),
            Dataset("shapes (validation)", x[24:], y[24:], names, "/data/shapes"))


def problem_texts(editor):
    return [editor.problems.item(i).text() for i in range(editor.problems.count())]


def test_a_dataset_with_another_class_count_is_a_problem_with_a_one_click_fix(qtbot, editor):
    state = editor.state        # lenet5: its last Dense (layer 12) gives 10 scores
    assert any("fits 'MNIST sample' (10 classes)" in t for t in problem_texts(editor))
    # the Dataset panel loads a 3-class folder and the training settings choose it: through the state only
    pair = _three_class_pair()
    state.set_dataset(pair)
    state.update_training_config(dataset="/data/shapes")
    texts = problem_texts(editor)
    assert any("Layer 12 Dense: gives 10 class scores but 'shapes' has 3 classes" in t for t in texts), texts
    assert not any("every shape fits" in t for t in texts)
    [button] = editor.problems.fix_buttons
    assert button.text() == "Set layer 12 Dense to 3 units" and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert state.spec.layers[11].config["units"] == 3
    assert any("fits 'shapes' (3 classes)" in t for t in problem_texts(editor))
    assert state.document.undo_text == "Undo Change Dense units"
    state.document.undo()                                      # undoable: the problem is back
    assert state.spec.layers[11].config["units"] == 10
    assert any("'shapes' has 3 classes" in t for t in problem_texts(editor))
    # while training runs the fix waits (the network is read-only)
    state.set_training(True)
    assert not editor.problems.fix_buttons[0].isEnabled()
    state.set_training(False)
    # back to the sample: it fits again
    state.update_training_config(dataset="sample")
    assert any("fits 'MNIST sample'" in t for t in problem_texts(editor))


def test_a_standard_dataset_is_checked_before_it_is_downloaded(qtbot, editor):
    editor.state.update_training_config(dataset="cifar10")   # 32x32 colour: lenet5 takes grayscale
    texts = problem_texts(editor)
    assert any("expects 1-channel (grayscale) images but CIFAR-10 has 3-channel" in t for t in texts), texts
    qtbot.mouseClick(editor.problems.fix_buttons[0], Qt.MouseButton.LeftButton)
    assert editor.state.spec.input.channels == 3
    assert any("fits CIFAR-10 (10 classes)" in t for t in problem_texts(editor))


# ---- Evaluation's "Feature maps" button opens the Feature maps sub-tab -----------------------
def test_evaluations_feature_maps_button_opens_the_maps_not_the_filters(qtbot, qapp, settings):
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    win = MainWindow(AppState(template="simple-cnn"), settings=settings)
    win.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(win)
    win.show()
    maps_panel = win.panel("featureMapsDock")
    maps_panel.tabs.setCurrentWidget(maps_panel.filters)      # the user last looked at the filters
    panel = win.panel("evaluationDock")
    win.docks["evaluationDock"].raise_()
    from tests.gui.test_evaluation import _weights
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        win.state.set_weights(_weights(win.state))
    panel.show_example(panel.gallery.shown[0])                # the button needs an example
    qtbot.mouseClick(panel.maps_button, Qt.MouseButton.LeftButton)
    assert maps_panel.tabs.currentWidget() is maps_panel.split
    assert maps_panel.tabs.tabText(maps_panel.tabs.currentIndex()) == "Feature maps"


# ---- "Paused" label, and an ETA that stands still while paused ---------------------------------
def test_paused_label_and_an_eta_that_stops_while_paused(qtbot, panel, small_data):
    from tests.gui.test_training import wait_paused_after, wait_worker_cycles

    c = start(panel, small_data, epochs=2, paused=True)
    wait_paused_after(qtbot, c, 0)
    panel.step_button.click()                        # one batch, then paused again
    wait_paused_after(qtbot, c, 1)
    qtbot.waitUntil(lambda: panel._last_progress is not None and not panel.paused_label.isHidden(), timeout=TIMEOUT)
    text = panel.speed_label.text()
    assert text.startswith("Paused in epoch 1") and "ETA" in text and "once resumed" in text, text
    wait_worker_cycles(qtbot, c)                     # the worker wakes and sleeps again
    c.drain()
    assert panel.speed_label.text() == text          # nothing ran on
    with qtbot.waitSignal(c.finished, timeout=TIMEOUT):
        panel.resume_button.click()
    assert panel.paused_label.isHidden() and "Paused" not in panel.speed_label.text()


# ---- deleted arrows leave nothing behind; the canvas stays put when the selection changes ------
def _render(scene, image, rect):
    from PyQt6.QtGui import QColor, QPainter

    painter = QPainter(image)
    painter.fillRect(rect, QColor("#fafafa"))
    scene.render(painter, rect, rect)
    painter.end()


def test_a_deleted_selected_wire_leaves_no_half_arrow_head(qtbot, editor):
    from PyQt6.QtGui import QImage

    from cnnstudio.gui.editor.cards import CardItem, EdgeItem

    canvas = editor.canvas
    edge = canvas.edges[3]
    canvas.select_wire((edge.src, edge.dst))
    assert edge.selected and edge.pen().widthF() == 3
    # what paint draws (the head, stroked by the 3 px pen) lies inside the rect the view repaints
    pad = edge.pen().widthF() / 2
    assert edge.boundingRect().contains(edge.head().boundingRect().adjusted(-pad, -pad, pad, pad))
    # the view's own way: paint everything, remove the wire, repaint only its rect ...
    scene = canvas.scene()
    full = scene.sceneRect().toAlignedRect()
    image = QImage(full.size(), QImage.Format.Format_ARGB32)
    _render(scene, image, scene.sceneRect())
    gone = edge.sceneBoundingRect()
    scene.removeItem(edge)
    _render(scene, image, gone)
    fresh = QImage(full.size(), QImage.Format.Format_ARGB32)
    _render(scene, fresh, scene.sceneRect())
    assert image == fresh   # ... and nothing of it is left
    scene.addItem(edge)
    # deleted through the editor (Delete on the selected wire): no item of it left in the scene
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert (edge.src, edge.dst) not in [(e.src, e.dst) for e in canvas.edges]
    edges = [i for i in scene.items() if isinstance(i, EdgeItem)]
    assert sorted((e.src, e.dst) for e in edges) == sorted((e.src, e.dst) for e in canvas.edges)
    assert len([i for i in scene.items() if isinstance(i, CardItem)]) == len(canvas.cards)
    # every other item belongs to a card (its "?" badge): nothing stray is left
    assert all(isinstance(i, (CardItem, EdgeItem)) or isinstance(i.parentItem(), CardItem) for i in scene.items())


def test_selecting_blocks_does_not_move_the_canvas(qtbot, editor):
    from PyQt6.QtWidgets import QApplication

    canvas = editor.canvas
    editor.select(-2)
    start = canvas.geometry()
    for index in (-1, 0, 2, 6, 11, -2):     # Input, Conv2D (wide fields), pool, Flatten, Dense, none
        editor.select(index)
        QApplication.sendPostedEvents()      # the layout requests it posts, without waiting on time
        editor.layout().activate()
        assert canvas.geometry() == start, (index, canvas.geometry(), start)


# ---- a learning rate changed during a run scales the cosine from there (numbers) ----------------
def test_a_learning_rate_changed_mid_run_keeps_the_cosine_going(qtbot, panel, small_data):
    from cnnstudio.engine.schedules import CosineSchedule
    from tests.gui.test_training import wait_paused_after

    panel.schedule.setCurrentIndex(panel.schedule.findData("cosine"))
    panel.lr.setValue(0.004)
    panel.lr.editingFinished.emit()
    c = start(panel, small_data, epochs=2, paused=True)       # 8 batches an epoch: 16 steps of cosine
    cfg = c.config
    assert cfg.schedule == "cosine"
    wait_paused_after(qtbot, c, 0)
    for n in (1, 2, 3):
        panel.step_button.click()
        wait_paused_after(qtbot, c, n)
    old = CosineSchedule(0.004, min_lr=cfg.schedule_config().get("min_lr", 0.0),
                         warmup_steps=cfg.schedule_config().get("warmup_steps", 0), total_steps=16)
    panel.lr.setValue(0.001)                                   # typed into the form during the run
    panel.lr.editingFinished.emit()
    seen = []
    c.progress.connect(lambda p: seen.append((p["global_step"], p["lr"])))
    for n in (4, 5, 6):
        panel.step_button.click()
        wait_paused_after(qtbot, c, n)
        qtbot.waitUntil(lambda: any(s == n - 1 for s, _ in seen), timeout=TIMEOUT)
    factor = 0.001 / old.lr_at(3)
    got = dict(seen)
    assert got[3] == pytest.approx(0.001)                      # the new rate at the next batch ...
    assert [got[s] for s in (4, 5)] == pytest.approx([old.lr_at(s) * factor for s in (4, 5)])
    assert got[5] < got[4] < got[3]                            # ... and still decaying, not constant
    assert panel.schedule.currentData() == "cosine"            # the form says what the run does
    c.stop()


def test_the_window_title_follows_the_naming_rule(window, state):
    from cnnstudio.model import RemoveLayer

    window.new_from_template("mlp")
    assert window.windowTitle() == "mlp - CNN Studio"
    state.document.execute(RemoveLayer(1))
    assert window.windowTitle() == "untitled* - CNN Studio"


def test_a_dataset_imported_in_the_dataset_panel_reaches_the_editor_through_the_state(qtbot, editor):
    from cnnstudio.gui.training.panel import TrainingPanel

    training = TrainingPanel(editor.state)        # the other view of the same state, no link to the editor
    qtbot.addWidget(training)
    editor.state.set_dataset(_three_class_pair())   # what the Dataset panel's import does
    assert training.dataset.currentData() == "<current>"
    assert editor.state.training_config.dataset == "/data/shapes"
    assert any("'shapes' has 3 classes" in t for t in problem_texts(editor))


def test_a_placeholder_for_data_not_loaded_yet_is_checked_by_its_classes_only(qtbot, editor):
    import numpy as np

    from cnnstudio.data import Dataset

    names = [str(d) for d in range(10)]
    empty = Dataset("digits (train)", np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, np.int64), names, "/gone")
    editor.state.set_dataset((empty, empty))
    editor.state.update_training_config(dataset="/gone")
    texts = problem_texts(editor)
    assert editor.problems.data_problems == [] and any("fits 'digits' (10 classes)" in t for t in texts), texts
