"""The Explain view: a click on a map pixel opens it for the image on show, with the engine's numbers;
play / step / scrub move a convolution's kernel; lessons show their numbers; the "?" glossary."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.gui.explain.glossary import help_button, show_entry
from cnnstudio.gui.explain.view import ExplainView
from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
from cnnstudio.project import lessons, session
from cnnstudio.project.glossary import terms

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def lesson_view(qtbot, slug, index=0, at=(0, 0, 0)):
    item = lessons.lesson(slug)
    p = lessons.load_project(item)
    net = session.build_with_weights(p.network, p.weights)
    view = ExplainView(net, p.network.input.prepare(item.image()[None])[0], index, at)
    qtbot.addWidget(view)
    return view


def test_convolution_by_hand_shows_149_and_steps_over_every_position(qtbot):
    view = lesson_view(qtbot, "convolution-by-hand")
    assert view.title.text() == "Layer 1 Conv2D: cell (0, 0, 0) = 149"
    assert view.formula.text().endswith("= 149")
    assert not view.controls.isHidden() and view.slider.maximum() == 3
    seen = []
    for _ in range(4):
        seen.append(view.explanation["value"])
        view.step(1)
    assert seen == [149, 95, 117, 153] and view.at == (0, 0, 0)   # wrapped round
    view.slider.setValue(3)
    assert view.at == (0, 1, 1) and view.title.text().endswith("= 153")


def test_play_runs_to_the_last_position_and_stops(qtbot):
    view = lesson_view(qtbot, "edge-detection")
    view.timer.setInterval(1)
    view.play.setChecked(True)
    qtbot.waitUntil(lambda: not view.play.isChecked(), timeout=5000)
    assert view.at == (0, 3, 3)


def test_click_on_an_enlarged_map_pixel_opens_explain_for_the_image_on_show(qtbot, state):
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    inspector.refresh_now()
    panel.open_tile(1, 2)                        # layer 1 (Conv2D), map 2
    panel.viewer.cellClicked.emit(1, 2, 5, 7)    # what a click on pixel (5, 7) emits
    dialog = panel.explain_dialog
    qtbot.addWidget(dialog)
    e = dialog.view.explanation
    assert (e["layer"], e["type"], e["at"]) == (1, "Conv2D", [2, 5, 7])
    assert e["value"] == float(inspector.activations[1][2, 5, 7])   # the number the map shows
    assert e["patch"][0] == [[float(v) for v in row] for row in
                             np.pad(inspector.image[0], 2)[5:10, 7:12]]   # 'same' padding of 2
    last = len(inspector.activations) - 1        # the softmax strip: index = row * width + column
    panel.open_tile(last, 0)
    panel.viewer.cellClicked.emit(last, 0, 0, 3)
    qtbot.addWidget(panel.explain_dialog)
    assert panel.explain_dialog.view.explanation["kind"] == "softmax"
    assert panel.explain_dialog.view.explanation["at"] == [3]


def test_viewer_emits_the_clicked_pixel(qtbot, state):
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    inspector.refresh_now()
    panel.open_tile(1, 0)
    hit = panel.viewer.value_at(7.5, 5.2)
    assert hit is not None and hit[:2] == (5, 7)


def test_every_kind_renders(qtbot):
    from cnnstudio.engine.layers import LAYER_TYPES as L
    from cnnstudio.engine.network import Network

    layers = [L["Conv2D"](filters=2, kernel_size=3), L["BatchNorm"](), L["ReLU"](), L["MaxPool2D"](),
              L["Flatten"](), L["Dropout"](), L["Dense"](units=3), L["Softmax"]()]
    net = Network(layers, (1, 6, 6))
    x = np.random.default_rng(0).uniform(0, 1, (1, 6, 6)).astype(np.float32)
    view = ExplainView(net, x, 0, (0, 0, 0))
    qtbot.addWidget(view)
    for i, at in enumerate([(0, 1, 1), (1, 2, 2), (1, 3, 0), (0, 1, 1), (5,), (2,), (1,), (2,)]):
        view.set_cell(i, at)
        assert view.explanation["layer"] == i + 1 and view.body_host.widget() is not None
        assert view.controls.isHidden() == (view.explanation["kind"] not in ("convolution", "pooling"))


def test_glossary_is_data_and_every_button_key_exists(qtbot):
    assert {"explain", "receptive_field", "grad_cam", "occlusion", "padding"} <= set(terms())
    button = help_button("padding")
    qtbot.addWidget(button)
    box = show_entry(button, "padding")
    qtbot.addWidget(box)
    assert "zeros" in box.informativeText()
    with pytest.raises(KeyError, match="it has:"):
        help_button("nope")


def test_a_deeper_cell_outlines_what_it_sees_of_the_input_image(qtbot, state):
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    inspector.refresh_now()
    panel.viewer.cellClicked.emit(4, 3, 5, 5)    # layer 4 (the second Conv2D), map 3, cell (5, 5)
    qtbot.addWidget(panel.explain_dialog)
    view = panel.explain_dialog.view
    assert view.window_plot is not None
    assert view.window_plot.box.rect().width() == 14.0   # lenet5's layer 4 sees 14 x 14 pixels
    (r0, r1), (c0, c1) = view.explainer.input_window(3, (3, 5, 5))
    rect = view.window_plot.box.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (c0, r0, c1 - c0 + 1, r1 - r0 + 1)
    view.set_cell(0, (0, 3, 3))                   # the first layer reads the image itself
    assert view.window_plot is None


def _mini_resnet_view(qtbot, index, at):
    from cnnstudio.model.build import build_network
    from cnnstudio.model.templates import get_template

    net = build_network(get_template("mini-resnet"), seed=3)
    image = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    view = ExplainView(net, image, index, at)
    qtbot.addWidget(view)
    return view


def _texts(view):
    from PyQt6.QtWidgets import QLabel, QTableWidget

    labels = [w.text() for w in view.body_host.widget().findChildren(QLabel)]
    tables = view.body_host.widget().findChildren(QTableWidget)
    return labels, tables


def test_batchnorm_add_and_flatten_are_laid_out_in_words_not_as_a_key_dump(qtbot):
    """BatchNorm, Add and Flatten showed 'running_var: ...', 'kind: merge', 'index: 9' (internal
    names), and Add showed neither its values nor where they came from."""
    from cnnstudio.engine.layers.explaining import fmt

    bn = _mini_resnet_view(qtbot, 1, (3, 10, 10))   # layer 2: BatchNorm
    labels, _ = _texts(bn)
    e = bn.explanation
    assert "running variance" in labels and fmt(e["running_var"]) in labels
    assert "output: gamma * normalised + beta" in labels and fmt(e["value"]) in labels
    assert not any(t.startswith(("kind", "index", "running_var")) for t in labels)
    add = _mini_resnet_view(qtbot, 9, (4, 6, 6))     # layer 10: Add of layers 9 and 4
    labels, _ = _texts(add)
    e = add.explanation
    assert "layer 9, cell (4, 6, 6)" in labels and "layer 4, cell (4, 6, 6)" in labels
    assert [fmt(v) for v in e["values"]] == [labels[labels.index(n) + 1] for n in
                                             ("layer 9, cell (4, 6, 6)", "layer 4, cell (4, 6, 6)")]
    assert labels[labels.index("sum of the values") + 1] == fmt(e["total"])
    assert not any("kind" in t for t in labels)


def test_dense_and_softmax_tables_have_headers_and_whole_input_numbers(qtbot):
    dense = _mini_resnet_view(qtbot, 30, (4,))      # layer 31: Dense
    _, (table,) = _texts(dense)
    heads = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    assert heads == ["input number", "input", "weight", "input x weight"]
    assert table.item(0, 0).text() == str(dense.explanation["top"][0]["index"])   # 49, not 49.000
    soft = _mini_resnet_view(qtbot, 31, (2,))       # layer 32: Softmax, class 2
    _, (table,) = _texts(soft)
    assert [table.verticalHeaderItem(i).text() for i in range(3)] == ["logit", "e^(logit - max)", "probability"]
    assert [table.horizontalHeaderItem(j).text() for j in range(10)] == [str(k) for k in range(10)]
    assert table.item(2, 2).background().color().name() == "#ffe082"   # the explained class's probability


def test_a_six_channel_convolution_fits_the_dialog_without_scrolling_sideways(qtbot):
    """lenet5's layer 4 (6 input channels, 5x5): each channel's 'sum = ...' beside its products went
    past the right edge of the 1180 px dialog at 1280 x 800; it is now in the products' title."""
    from PyQt6.QtWidgets import QLabel

    from cnnstudio.gui.explain.view import ExplainDialog
    from cnnstudio.model.build import build_network
    from cnnstudio.model.templates import get_template

    net = build_network(get_template("lenet5"), seed=1)
    image = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32) - 0.5
    dialog = ExplainDialog(net, image, 3, (3, 0, 0))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view = dialog.view
    sums = [lab.text() for lab in view.body_host.widget().findChildren(QLabel) if "products: sum =" in lab.text()]
    assert len(sums) == 6
    body = view.body_host.widget()
    qtbot.waitUntil(lambda: body.width() > 0)
    assert body.minimumSizeHint().width() <= view.body_host.viewport().width()
    assert view.body_host.horizontalScrollBar().maximum() == 0   # nothing to scroll sideways to


def test_a_zero_product_shows_as_zero_not_minus_zero(qtbot):
    from PyQt6.QtWidgets import QTableWidget

    from cnnstudio.gui.explain.view import number_grid

    grid = number_grid([[0.0 * -0.191, 0.25], [-0.0004, 1.5]])   # -0.0, as a zero pixel times a negative weight
    qtbot.addWidget(grid)
    table = grid.findChild(QTableWidget)
    assert [table.item(0, j).text() for j in range(2)] == ["0.000", "0.250"]
    assert table.item(1, 0).text() == "-0.000"   # a small negative number keeps its sign (exact in the tooltip)


def test_the_left_map_can_show_any_input_channel_of_a_convolution(qtbot):
    """A six-channel Conv2D cell drew only input channel 0 with the patch outlined; the others were
    only in the tables. The channel box picks which one is drawn; one-channel layers have none."""
    from cnnstudio.gui.explain.view import MapPlot
    from cnnstudio.model.build import build_network
    from cnnstudio.model.templates import get_template

    net = build_network(get_template("lenet5"), seed=1)
    image = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    view = ExplainView(net, image, 3, (3, 2, 2))   # layer 4: Conv2D on 6 channels
    qtbot.addWidget(view)
    assert not view.channel_spin.isHidden() and view.channel_spin.maximum() == 5
    view.channel_spin.setValue(4)
    left = view.body_host.widget().findChildren(MapPlot)[0]
    assert left.plotItem.titleLabel.text == "input channel 4 of 6"
    np.testing.assert_array_equal(left.image.image, view.explainer.inputs[3][4])
    view.step(1)                                    # moving on keeps the chosen channel
    left = view.body_host.widget().findChildren(MapPlot)[0]
    assert left.plotItem.titleLabel.text == "input channel 4 of 6" and view.at == (3, 2, 3)
    first = ExplainView(net, image, 0, (0, 5, 5))   # layer 1 reads the one-channel image
    qtbot.addWidget(first)
    assert first.channel_spin.isHidden()
