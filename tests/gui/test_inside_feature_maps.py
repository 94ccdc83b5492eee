"""Feature-map panel: the shown tiles are the engine's activations; tile clicks; filters; throttled refresh."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtWidgets import QApplication

from cnnstudio.data import to_float_nchw
from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
from cnnstudio.gui.inside.mosaic import as_maps, layout_for, pack, unpack, vector_strip
from cnnstudio.gui.state import AppState
from qtwait import settle

# Offscreen Qt says this when a top-level window is shown; it is harmless.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def state(qtbot):
    return AppState(template="lenet5")


@pytest.fixture
def panel(qtbot, state):
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    inspector.refresh_now()
    return panel


def test_mosaic_pack_unpack_round_trip_and_tile_lookup():
    maps = np.random.default_rng(0).normal(size=(6, 5, 4)).astype(np.float32)
    lay = layout_for(6, 5, 4)
    mosaic = pack(maps, lay)
    assert mosaic.shape == lay.shape
    for k in range(6):
        assert np.array_equal(unpack(mosaic, lay, k), maps[k])
        r, c = lay.origin(k)
        assert lay.tile_at(r + 2, c + 1) == k
    assert np.isnan(mosaic).sum() == mosaic.size - maps.size  # everything else is a gap
    assert lay.tile_at(lay.tile_h, 0) is None                   # the gap row below the first tile


def test_vector_strip_keeps_values_in_reading_order():
    v = np.arange(300, dtype=np.float32)
    strip = vector_strip(v)
    assert np.array_equal(strip.ravel()[:300], v) and np.all(np.isnan(strip.ravel()[300:]))


def test_shown_tiles_equal_the_engine_forward_pass(panel):
    ins = panel.inspector
    ins.set_validation_index(7)
    ins.refresh_now()
    val = ins.validation_set()
    x = to_float_nchw(val.x[7:8])
    expected = ins.network.forward_activations(x)
    view = panel.maps
    assert len(view.items) == len(expected) + 1        # the input row, then one row per layer
    np.testing.assert_array_equal(view.tile(0, 0), x[0, 0])
    for i, act in enumerate(expected):
        maps = as_maps(act[0])
        shown = view.items[i + 1].image   # what the image item actually draws
        for k in range(maps.shape[0]):
            np.testing.assert_allclose(unpack(shown, view.layouts[i + 1], k), maps[k], rtol=1e-6, atol=1e-7)


def test_labels_name_layer_and_shape(panel):
    labels = panel.inspector.labels
    assert labels[0] == "input  28 x 28 x 1"
    # numbered from 1, like the editor's blocks
    assert labels[1] == "1 Conv2D  28 x 28 x 6"
    assert labels[4] == "4 Conv2D  10 x 10 x 16"
    assert labels[7] == "7 Flatten  400" and labels[8] == "8 Dense  120"
    assert "untrained" in panel.status.text()


def test_arrows_step_through_validation_images(qtbot, panel):
    ins = panel.inspector
    before = panel.maps.tile(0, 0).copy()
    qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    ins.refresh_now()
    assert ins.val_index == 1 and panel.index.value() == 1
    assert not np.array_equal(before, panel.maps.tile(0, 0))
    np.testing.assert_allclose(panel.maps.tile(0, 0), ins.validation_set().x[1, :, :, 0] / 255.0, atol=1e-6)
    panel.index.setValue(42)
    assert ins.val_index == 42


def _click_tile(qtbot, view, row: int, k: int) -> None:
    item = view.items[row]
    r, c = view.layouts[row].origin(k)
    lay = view.layouts[row]
    scene = item.mapToScene(QPointF(c + lay.tile_w / 2, r + lay.tile_h / 2))
    gv = view.graphics
    qtbot.mouseClick(gv.viewport(), Qt.MouseButton.LeftButton, pos=gv.mapFromScene(scene))


def tile_places(view):
    """Where the mosaics are on screen: what mapping a tile to a pixel depends on."""
    gv = view.graphics
    return [tuple(gv.mapFromScene(item.sceneBoundingRect()).boundingRect().getRect()) for item in view.items]


def test_clicking_a_tile_enlarges_that_map(qtbot, panel):
    settle(panel.maps.graphics, key=lambda: tile_places(panel.maps))  # before mapping tiles to pixels
    ins = panel.inspector
    _click_tile(qtbot, panel.maps, 1, 4)  # layer 0 (Conv2D), map 4
    assert panel.selected() == (1, 4)
    np.testing.assert_array_equal(panel.viewer.map, ins.activations[1][4])
    assert "map 4" in panel.viewer.title.text()
    r, c, v = panel.viewer.value_at(3.5, 2.5)
    assert (r, c) == (2, 3) and v == pytest.approx(float(ins.activations[1][4][2, 3]))


def test_colour_scale_per_map_or_per_layer(qtbot, panel):
    ins = panel.inspector
    panel.open_tile(1, 2)
    layer = ins.activations[1]
    assert panel.viewer.bar.levels() == pytest.approx((float(layer.min()), float(layer.max())))
    panel.per_map.setChecked(True)
    panel.open_tile(1, 2)
    one = layer[2]
    lo, hi = panel.viewer.bar.levels()
    assert lo == pytest.approx(float(one.min()))
    assert hi == pytest.approx(float(one.max()) if one.max() > one.min() else float(one.min()) + 1)
    # in the mosaic each map is scaled to [0, 1] on its own
    tile = panel.maps.tile(1, 2)
    assert np.nanmax(tile) <= 1.0 and np.nanmin(tile) >= 0.0


def test_filters_view_shows_every_conv_kernel(panel):
    ins = panel.inspector
    w = ins.network.get_weights()
    filters = panel.filters
    assert len(filters.items) == 2                       # lenet5 has two Conv2D layers
    first = filters.layouts[0]
    assert first.count == 6 and (first.tile_h, first.tile_w) == (5, 5)
    np.testing.assert_array_equal(unpack(filters.mosaics[0], first, 3), w["0.W"][3, 0])
    second = filters.layouts[1]                          # a column per filter (16), a row per channel (6)
    assert second.count == 16 * 6 and second.cols == 16 and second.rows == 6
    np.testing.assert_array_equal(unpack(filters.mosaics[1], second, 5 * 16 + 2), w["3.W"][2, 5])


def test_hidden_panel_waits_until_shown(qtbot, state, panel):
    ins = panel.inspector
    panel.hide()
    state.set_weights({k: v * 3.0 for k, v in ins.network.get_weights().items()})
    qtbot.waitUntil(lambda: ins._pending, timeout=5000)  # the timer fired and found no visible view
    assert not ins.trained                                # nothing was computed for a hidden panel
    with qtbot.waitSignal(ins.activationsChanged, timeout=5000):
        panel.show()
    assert ins.trained


def test_new_weights_refresh_the_maps_throttled(qtbot, state, panel):
    ins = panel.inspector
    before = panel.maps.tile(1, 0).copy()
    refreshes = []
    ins.activationsChanged.connect(lambda: refreshes.append(1))
    weights = ins.network.get_weights()
    weights = {k: v * 2.0 for k, v in weights.items()}
    with qtbot.waitSignal(ins.activationsChanged, timeout=5000):
        for _ in range(5):  # a burst of updates: only the latest is drawn
            state.set_weights(weights)
    assert ins.trained and "trained" in panel.status.text()
    assert not np.array_equal(before, panel.maps.tile(1, 0))
    np.testing.assert_allclose(ins.network.get_weights()["0.W"], weights["0.W"])
    QApplication.processEvents()
    assert not ins._timer.isActive() and not ins.busy  # no further refresh pending (was a 500 ms wait)
    assert len(refreshes) == 1


def test_hovering_the_enlarged_map_shows_the_value(qtbot, panel):
    ins = panel.inspector
    panel.open_tile(1, 3)
    plot = panel.viewer.plot
    settle(plot, key=lambda: plot.getViewBox().viewRange())  # the plot takes its range before mapping pixels
    scene = panel.viewer.image.mapToScene(QPointF(5.5, 7.5))  # column 5, row 7
    qtbot.mouseMove(plot.viewport(), plot.mapFromScene(scene))
    qtbot.waitUntil(lambda: "row 7, column 5" in panel.viewer.hover.text(), timeout=2000)
    assert f"{float(ins.activations[1][3][7, 5]):.4g}" in panel.viewer.hover.text()


def test_huge_layers_show_only_their_first_maps():
    from cnnstudio.gui.inside.feature_maps import FeatureMapView, shown_count
    assert shown_count(6, 28, 28) == 6
    assert 1 <= shown_count(64, 224, 224) < 64 and shown_count(64, 224, 224) * 224 * 224 <= 400_000
    view = FeatureMapView()
    view.set_rows(["1 Conv2D  224 x 224 x 64"], [(64, 224, 224)])
    n = shown_count(64, 224, 224)
    assert view.layouts[0].count == n and f"first {n}" in view.labels[0].text
    view.set_activations([np.ones((64, 224, 224), np.float32)])
    assert view.mosaics[0].size < 64 * 224 * 224
    view.deleteLater()


def test_mosaics_keep_their_width_when_rows_are_built_while_shown(qtbot, state):
    # Regression: building rows in a visible, unscrolled view once squeezed the layout to its
    # minimum width, leaving every mosaic 0 pixels wide (only the labels showed).
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    panel.resize(1500, 1200)  # wide: the enlarged map beside the mosaics, no scroll bar needed
    panel.show()
    qtbot.waitExposed(panel)
    settle(panel, panel.maps.graphics)
    inspector.refresh_now()
    settle(panel.maps.graphics, key=lambda: [item.getViewBox().width() for item in panel.maps.items])
    widths = [item.getViewBox().width() for item in panel.maps.items]
    assert min(widths) > 0.5 * (panel.maps.graphics.width() - 200), widths


def test_colour_first_layer_filters_are_rgb_tiles():
    from cnnstudio.gui.inside.filters import filter_tiles
    w = np.random.default_rng(1).normal(size=(4, 3, 3, 3)).astype(np.float32)
    tiles, _, note = filter_tiles(w)
    assert tiles.shape == (4, 3, 3, 3) and "RGB" in note
    assert tiles.min() == pytest.approx(0.0) and tiles.max() == pytest.approx(1.0)
    # filter 2's red channel, rescaled: same order as the weights
    red = w[2, 0]
    lo, hi = w[2].min(), w[2].max()
    np.testing.assert_allclose(tiles[2, :, :, 0], (red - lo) / (hi - lo), rtol=1e-5)


def test_validation_images_are_fitted_to_a_colour_network(qtbot, state, panel):
    from cnnstudio.model.spec import NetworkSpec
    state.document.reset(NetworkSpec(name="rgb", input=(32, 32, 3), layers=list(state.spec.layers)))
    ins = panel.inspector
    ins.refresh_now()
    assert ins.activations[0].shape == (3, 32, 32)       # the 28x28 grey digit, resized, in 3 channels
    np.testing.assert_array_equal(ins.activations[0][0], ins.activations[0][2])
    assert panel.maps.labels[0].text.count("32 x 32 x 3") == 1


def test_an_invalid_network_is_explained_not_crashed(qtbot, state, panel):
    from cnnstudio.model.spec import NetworkSpec
    layers = [layer for layer in state.spec.layers if layer.type != "Flatten"]  # Dense on an image
    state.document.reset(NetworkSpec(name="broken", input=(28, 28, 1), layers=layers))
    ins = panel.inspector
    ins.refresh_now()
    assert ins.network is None and ins.activations == []
    assert "Cannot build the network" in panel.status.text() and "Dense" in panel.status.text()
    assert panel.filters.items == []
