"""Layouts (issue 13): Draw & look, nothing clipped at 1280x800 and 1024x640, View > Reset layout.

Each check reads geometry the way a person sees it: a widget counts as seen when it is
shown and its rectangle lies inside every scroll viewport and the window it sits in.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QRect, Qt
from PyQt6.QtGui import QImage, QPainter
from PyQt6.QtWidgets import QAbstractButton, QAbstractScrollArea, QWidget

from cnnstudio.gui import layouts
from tests.gui.qtwait import settle

SIZES = [(1280, 800), (1024, 640)]
#: the learning-rate plot: big enough to read a curve and its axis
MIN_PLOT_W, MIN_PLOT_H = 200, 120


def rect_in_window(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def clipped_by(widget: QWidget) -> str:
    """"" when the widget is shown, inside the window and inside every scroll area's viewport above
    it (nothing cut off); else what hides or cuts it."""
    if not widget.isVisible():
        return "hidden"
    rect = rect_in_window(widget)
    if not widget.window().rect().contains(rect):
        return f"the window: {rect} in {widget.window().rect()}"
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not rect_in_window(parent.viewport()).contains(rect):
            return f"{type(parent).__name__}: {rect} in {rect_in_window(parent.viewport())}"
        parent = parent.parentWidget()
    return ""


def unclipped(widget: QWidget) -> bool:
    return clipped_by(widget) == ""


def drawn_tick_labels(axis) -> list[tuple[str, object]]:
    """(text, rect) of every tick label the pyqtgraph axis paints now."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(text, rect) for rect, _flags, text in texts]


def draw_a_digit(window, qtbot):
    draw = window.panel("drawingDock")
    draw.canvas.draw_stroke([(140, 50), (140, 240)], 24)
    draw.update_drawing()
    window.inspector.refresh_now()
    qtbot.waitUntil(lambda: draw.prediction.probs is not None, timeout=10_000)
    return draw


# ---- Draw & look ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_draw_opens_as_draw_and_look_canvas_beside_the_feature_maps(qtbot, make_window, size):
    window = make_window(*size)
    window.docks["drawingDock"].raise_()      # a click on the Draw tab
    qtbot.waitUntil(lambda: layouts.is_draw_and_look(window), timeout=5_000)
    draw, maps = window.panel("drawingDock"), window.panel("featureMapsDock")
    settle(draw.canvas, maps.maps)
    assert draw.canvas.isVisible() and maps.maps.isVisible()
    canvas, mosaics = rect_in_window(draw.canvas), rect_in_window(maps.maps)
    assert not canvas.intersects(mosaics)
    assert unclipped(draw.canvas) and unclipped(maps.maps)
    assert draw.canvas.width() >= 200 and draw.canvas.height() >= 200   # room to draw a digit
    # the editor keeps the network in view (its palette and inspector folded away)
    from cnnstudio.gui.editor.zoom import MIN_FIT_SCALE

    canvas = window.editor.canvas
    settle(canvas)
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert window.editor.side_column_folded() and canvas.transform().m11() >= MIN_FIT_SCALE
    assert all(seen.contains(card.sceneBoundingRect()) for card in canvas.cards)
    # drawing feeds the maps that are on screen at the same time
    draw_a_digit(window, qtbot)
    assert window.inspector.source == "drawing" and maps.maps.isVisible()


def test_view_menu_arranges_draw_and_look(qtbot, make_window):
    window = make_window(1280, 800)
    assert not layouts.is_draw_and_look(window)
    window.menus.draw_look_action.trigger()
    settle(window.docks["drawingDock"], window.docks["featureMapsDock"])
    assert layouts.is_draw_and_look(window)


# ---- nothing clipped ------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_a_14_block_network_fits_the_editor_legibly(qtbot, make_window, size):
    from cnnstudio.gui.editor.zoom import MIN_FIT_SCALE

    window = make_window(*size, template="lenet5")
    window.new_from_template("mini-vgg")     # 16 blocks and the Input: fitted on New
    canvas = window.editor.canvas
    settle(canvas)
    assert len(canvas.cards) == 17
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    for card in canvas.cards:
        assert seen.contains(card.sceneBoundingRect()), card.info.type_name
    assert canvas.transform().m11() >= MIN_FIT_SCALE
    # Zoom in leaves fitting, Zoom to fit comes back to the whole network
    window.menus.zoom_in_action.trigger()
    assert not canvas.fit and canvas.transform().m11() > MIN_FIT_SCALE
    window.menus.fit_action.trigger()
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert canvas.fit and all(seen.contains(c.sceneBoundingRect()) for c in canvas.cards)


@pytest.mark.parametrize("size", SIZES)
def test_the_palette_shows_every_block_without_scrolling(make_window, size):
    from cnnstudio.engine.layers import LAYER_TYPES

    window = make_window(*size)
    palette = window.editor.layer_palette
    assert not palette.verticalScrollBar().isVisible()
    for name in LAYER_TYPES:
        rect = palette.visualItemRect(palette.type_item(name))
        assert palette.viewport().rect().contains(rect), name
    assert unclipped(palette.search)


def test_the_palette_search_narrows_the_rows(editor):
    palette = editor.layer_palette
    palette.search.setText("pool")
    shown = [palette.topLevelItem(i).text(0) for i in range(palette.topLevelItemCount())
             if not palette.topLevelItem(i).isHidden()]
    assert shown == ["MaxPool2D", "AvgPool2D", "SumPool2D", "GlobalAveragePool2D"]
    palette.search.clear()
    assert not any(palette.topLevelItem(i).isHidden() for i in range(palette.topLevelItemCount()))


@pytest.mark.parametrize("size", SIZES)
def test_the_learning_rate_plot_is_whole(make_window, size):
    window = make_window(*size)
    window.docks["plotsDock"].raise_()
    plots = window.training_panel.plots
    settle(plots, plots.lr_plot)
    for plot in (plots.loss_plot, plots.acc_plot, plots.lr_plot):
        assert unclipped(plot)
    assert plots.lr_plot.width() >= MIN_PLOT_W and plots.lr_plot.height() >= MIN_PLOT_H
    assert not rect_in_window(plots.lr_plot).intersects(rect_in_window(plots.acc_plot))


@pytest.mark.parametrize("size", SIZES)
def test_the_probability_chart_names_every_class(qtbot, make_window, size):
    window = make_window(*size)
    window.docks["drawingDock"].raise_()
    qtbot.waitUntil(lambda: layouts.is_draw_and_look(window), timeout=5_000)
    draw = draw_a_digit(window, qtbot)
    chart = draw.prediction.plot
    settle(chart)
    assert clipped_by(chart) == ""
    labels = drawn_tick_labels(chart.getPlotItem().getAxis("left"))
    assert [text for text, _ in labels] == [str(i) for i in range(10)]
    rects = [rect for _, rect in labels]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])   # readable
    # and no button on the chart (its "?") covers a name
    axis = chart.getPlotItem().getAxis("left")
    on_screen = [chart.mapFromScene(axis.mapRectToScene(rect)).boundingRect() for rect in rects]
    for button in chart.findChildren(QAbstractButton):
        if button.isVisible():
            assert not any(button.geometry().intersects(r) for r in on_screen), button.toolTip()


def test_the_probability_chart_names_long_class_names(qtbot):
    from cnnstudio.gui.inside.prediction import PredictionView

    view = PredictionView()
    qtbot.addWidget(view)
    view.resize(300, 260)
    view.show()
    names = ["circle", "square", "triangle"]
    view.set_probs(np.array([0.1, 0.7, 0.2]), names)
    settle(view.plot)
    labels = drawn_tick_labels(view.plot.getPlotItem().getAxis("left"))
    assert [text for text, _ in labels] == names
    axis = view.plot.getPlotItem().getAxis("left")
    assert all(axis.boundingRect().contains(rect) for _, rect in labels)


@pytest.mark.parametrize("size", SIZES)
def test_mistake_captions_keep_whole_class_names(qtbot, make_window, size):
    window = make_window(*size)
    window.docks["evaluationDock"].raise_()
    gallery = window.evaluation_panel.gallery
    names = ["circle", "square", "triangle"]
    images = np.zeros((6, 28, 28, 1), np.uint8)
    y = np.array([1, 0, 2, 1, 2, 0])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    gallery.set_examples(np.arange(6), images, y, predicted, np.full(6, 0.9), names)
    settle(gallery)
    for k in range(6):
        assert gallery.caption_text(k) == f"{names[y[k]]} → {names[predicted[k]]}"
        assert gallery.rect().contains(gallery.tile_rect(k).toRect())


# ---- Reset layout ---------------------------------------------------------------------------
@pytest.mark.qt_log_ignore("This plugin does not support raise")   # offscreen: a floating dock's raise
def test_reset_layout_restores_the_default(qtbot, make_window, settings):
    window = make_window(1024, 640)
    default_width = window.docks["trainingDock"].width()
    editor_sizes = window.editor.splitter.sizes()
    assert abs(default_width - layouts.dock_width(1024)) <= 12
    # a person rearranges: Draw & look, the plots under the editor, a wider palette, zoomed in
    window.draw_and_look()
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.docks["plotsDock"])
    window.docks["datasetDock"].setFloating(True)
    window.docks["evaluationDock"].hide()
    window.editor.splitter.setSizes([400, 200])
    window.editor.zoom_in()
    settle(window.docks["trainingDock"], window.editor)
    assert layouts.is_draw_and_look(window)
    window.save_layout()   # remembered as it is (closing saves it too)

    window.menus.reset_layout_action.trigger()
    settle(window.docks["trainingDock"], window.editor, window.editor.canvas)
    training = window.docks["trainingDock"]
    tabbed = set(d.objectName() for d in window.tabifiedDockWidgets(training))
    assert tabbed == set(window.docks) - {"trainingDock"}
    for dock in window.docks.values():
        assert not dock.isFloating() and not dock.isHidden()
        assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert training.isVisible() and window.rect().contains(training.geometry())   # in front of its tabs
    assert abs(training.width() - default_width) <= 12
    assert not layouts.is_draw_and_look(window)
    assert window.editor.splitter.sizes() == editor_sizes and window.editor.canvas.fit
    assert not window.editor.side_column_folded()
    # the reset layout is what is remembered now (no need to close first: a crash keeps it too)
    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.gui.state import AppState

    again = MainWindow(AppState(template="lenet5"), settings=settings)
    qtbot.addWidget(again)
    again.show()
    settle(again.docks["trainingDock"])
    assert set(d.objectName() for d in again.tabifiedDockWidgets(again.docks["trainingDock"])) == tabbed
    assert not again.docks["datasetDock"].isFloating() and not again.docks["evaluationDock"].isHidden()
    again.ask_unsaved = lambda: "discard"


@pytest.mark.parametrize("size", SIZES)
def test_dock_tabs_show_their_whole_titles(make_window, size):
    from PyQt6.QtWidgets import QTabBar

    window = make_window(*size)
    bars = [b for b in window.findChildren(QTabBar) if b.parent() is window and b.isVisible()]
    assert bars, "the docks are tabbed by default"
    for bar in bars:
        for i in range(bar.count()):
            assert bar.rect().contains(bar.tabRect(i)), bar.tabText(i)   # every tab in view ...
            text_px = bar.fontMetrics().horizontalAdvance(bar.tabText(i))
            assert bar.tabRect(i).width() > text_px, bar.tabText(i)      # ... its title not cut ("Traini...")


def test_layouts_keep_what_the_teacher_layout_hides(qtbot, make_window):
    pytest.importorskip("cnnstudio.gui.teacher_layout")
    window = make_window(1280, 800)
    if getattr(window, "teaching", None) is None:
        pytest.skip("the teacher layout is not hooked into this window")
    window.teaching.apply({"format": 1, "hidden": ["panel.feature_maps", "panel.plots"]})
    window.docks["drawingDock"].raise_()          # Draw opens, but not into Draw & look: no maps to show
    settle(window.docks["drawingDock"])
    window.menus.draw_look_action.trigger()
    settle(window.docks["drawingDock"])
    assert window.docks["featureMapsDock"].isHidden() and "teacher layout" in window.statusBar().currentMessage()
    window.menus.reset_layout_action.trigger()
    settle(window.docks["trainingDock"])
    assert window.docks["featureMapsDock"].isHidden() and window.docks["plotsDock"].isHidden()
    assert window.docks["trainingDock"].isVisible() and window.rect().contains(window.docks["trainingDock"].geometry())
    window.teaching.show_all()                    # back, in the default tab group
    assert {"featureMapsDock", "plotsDock"} <= {d.objectName() for d in
                                                window.tabifiedDockWidgets(window.docks["trainingDock"])}


def test_the_default_docks_follow_a_resized_window_until_dragged(qtbot, make_window):
    window = make_window(1280, 800)
    training = window.docks["trainingDock"]
    assert abs(training.width() - layouts.dock_width(1280)) <= 12
    window.resize(1024, 640)                       # e.g. a window put on a smaller screen
    qtbot.waitUntil(lambda: abs(training.width() - layouts.dock_width(1024)) <= 12, timeout=5_000)
    window.resizeDocks([training], [700], Qt.Orientation.Horizontal)   # a person drags the edge
    settle(training)
    window.resize(1000, 640)
    settle(training, window.editor)
    assert abs(training.width() - 700) <= 40      # theirs stays (less only what the window lost)


def test_the_view_menu_lists_every_dock(make_window):
    window = make_window(1280, 800)
    menu = window.menus.view_menu
    menu.aboutToShow.emit()      # what opening it does
    listed = set(menu.actions())
    for dock in window.docks.values():   # the Runs dock too, added after the menus were built
        assert dock.toggleViewAction() in listed, dock.objectName()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dock", ["trainingDock", "datasetDock"])
def test_draw_and_look_middle_panels_fit_their_column(qtbot, make_window, size, dock):
    """QA: in Draw & look at 1024x640 the Training form's "?" column and Augment label, and the
    Dataset panel's "Import folder..." and info line were cut: the form needed 425 px and the
    Dataset panel 416 px in a column of ~400 px that also holds a vertical scroll bar."""
    from PyQt6.QtWidgets import QStyle

    window = make_window(*size)
    window.docks["drawingDock"].raise_()      # Draw & look
    qtbot.waitUntil(lambda: layouts.is_draw_and_look(window), timeout=5_000)
    window.docks[dock].raise_()               # then Training or Dataset in the middle column
    panel = window.panel(dock)
    settle(window.docks[dock], panel)
    scroll = window.docks[dock].widget()
    bar = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)   # both panels scroll down
    if dock == "trainingDock":
        needed = window.training_panel.form.minimumSizeHint().width()
        seen = [window.training_panel.form.augment] + [b for b in panel.findChildren(QAbstractButton)
                                                       if b.text() == "?"]
    else:
        needed = panel.minimumSizeHint().width()
        seen = [panel.import_button, panel.download_button, panel.info, panel.flip]
    column = round(window.width() * layouts.MAPS_SHARE)   # the width Draw & look gives the column
    assert needed + bar <= column, (needed, bar, column)
    assert window.docks[dock].width() <= column + 12      # it did not push the editor aside instead
    assert not scroll.horizontalScrollBar().isVisible()
    view = rect_in_window(scroll.viewport())
    for widget in seen:
        if widget.isVisible():
            rect = rect_in_window(widget)
            assert view.left() <= rect.left() and rect.right() <= view.right(), (widget, rect, view)


@pytest.mark.parametrize("size", SIZES)
def test_draw_and_look_confusion_matrix_last_row_is_whole(qtbot, make_window, size):
    """QA: in Draw & look at 1024x640 the confusion matrix's last row was cut: the result's status
    wraps to two lines, the panel got the height of one, and the chart below overlapped the matrix."""
    window = make_window(*size)
    window.docks["drawingDock"].raise_()
    qtbot.waitUntil(lambda: layouts.is_draw_and_look(window), timeout=5_000)
    window.docks["evaluationDock"].raise_()
    panel = window.evaluation_panel
    rng = np.random.default_rng(0)
    panel.matrix.set_matrix(rng.integers(0, 5, (10, 10)) + 45 * np.eye(10, dtype=np.int64),
                            [str(i) for i in range(10)])
    panel.status.setText("MNIST sample (validation): 500 images, accuracy 92.2%, loss 0.284, 39 mistakes")
    settle(window.docks["evaluationDock"], panel)
    qtbot.waitUntil(lambda: panel.status.height() >= panel.status.heightForWidth(panel.status.width()),
                    timeout=5_000)
    matrix, chart = rect_in_window(panel.matrix), rect_in_window(panel.class_chart.widget)
    assert not matrix.intersects(chart), (matrix, chart)
    last = panel.matrix.cell_rect(9, 9).toAlignedRect()
    assert panel.matrix.rect().contains(last), (last, panel.matrix.rect())
    assert not rect_in_window(panel.status).intersects(matrix)


# ---- corner buttons and legends (QA F) -------------------------------------------------------
def _on_widget(widget, graphics_item) -> QRect:
    """The rectangle a pyqtgraph item takes in ``widget``'s (a PlotWidget's) pixels."""
    return widget.mapFromScene(graphics_item.mapRectToScene(graphics_item.boundingRect())).boundingRect()


def _corner_buttons(widget) -> list[QAbstractButton]:
    return [b for b in widget.findChildren(QAbstractButton) if b.isVisible() and b.parentWidget() is widget]


def test_corner_buttons_never_cover_a_plots_title_or_legend(qtbot, make_window):
    """QA: at 1280x800 the Runs panel's 'Training loss per batch (smoothed)' ran under its export button."""
    import pyqtgraph as pg

    window = make_window(1280, 800)
    window.docks["runsDock"].raise_()
    panel = window.runs_panel
    settle(window.docks["runsDock"], panel)
    plots = [w for w in panel.findChildren(pg.PlotWidget) if w.isVisible()]
    assert plots
    for plot in plots:
        item = plot.getPlotItem()
        settle(plot)
        buttons = _corner_buttons(plot)
        assert len(buttons) >= 2, [b.toolTip() for b in buttons]   # the export button and the "?"
        covered = [_on_widget(plot, item.titleLabel)] if item.titleLabel.isVisible() else []
        if item.legend is not None:
            covered.append(_on_widget(plot, item.legend))
        covered.append(_on_widget(plot, item.getViewBox()))
        for button in buttons:
            for rect in covered:
                assert not button.geometry().intersects(rect), (button.toolTip(), button.geometry(), rect)


def test_a_legend_moves_off_the_curves(qtbot):
    """A legend goes to the corner where it covers no data: a rising curve ends in the top-right."""
    import pyqtgraph as pg

    from cnnstudio.gui.common import plot_export

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(300, 220)
    legend = plot.addLegend(offset=(-5, 5))
    x = np.linspace(0, 10, 60)
    for k in range(3):
        plot.plot(x, 1 - np.exp(-x / (1 + k)), name=f"Run {k + 1}")
    plot_export.install(plot, "Accuracy")
    plot.show()
    qtbot.waitExposed(plot)
    view = plot.getPlotItem().getViewBox()

    def covered() -> int:
        box = legend.mapRectToScene(legend.boundingRect())
        return sum(int(box.contains(view.mapViewToScene(pg.Point(float(a), float(b)))))
                   for curve in plot.getPlotItem().listDataItems() for a, b in zip(*curve.getData()))

    qtbot.waitUntil(lambda: covered() == 0, timeout=5_000)


def test_the_images_per_class_key_does_not_cover_the_bars(qtbot):
    """QA: the Dataset panel's 'Images per class' legend sat on the bars: the key is in the title row."""
    from cnnstudio.gui.datasets.charts import ClassCountsChart

    chart = ClassCountsChart()
    qtbot.addWidget(chart.widget)
    chart.widget.resize(360, 150)
    chart.set_counts(np.full(10, 450), np.full(10, 50), [str(i) for i in range(10)])
    chart.widget.show()
    qtbot.waitExposed(chart.widget)
    settle(chart.widget)
    item = chart.widget.getPlotItem()
    assert item.legend is None and "training" in item.titleLabel.text and "validation" in item.titleLabel.text
    key, view = _on_widget(chart.widget, item.titleLabel), _on_widget(chart.widget, item.getViewBox())
    bars = _on_widget(chart.widget, chart.train_bars)
    assert key.bottom() <= view.top() + 1 and key.bottom() < bars.top(), (key, view, bars)   # above the plot area
    assert not any(b.geometry().intersects(key) for b in _corner_buttons(chart.widget))
