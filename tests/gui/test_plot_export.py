"""Export what you see (issue 13): every plot as PNG, SVG and CSV, the confusion matrix as CSV and
PNG, mosaics as PNG. Each export is read back: Pillow opens the PNG, the SVG parses as XML with an
<svg> root, the CSV's rows are the data the view shows."""

from __future__ import annotations

import csv
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QWidget

from cnnstudio.gui.common import plot_export
from tests.gui.qtwait import settle

NAMES = ["circle", "square", "triangle"]


def _show(qtbot, widget, size=(480, 320)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    QWidget.show(widget)   # the saliency overlay's own show(image, heat) shadows QWidget.show
    qtbot.waitExposed(widget)
    settle(widget)
    return widget


def _check_png(path: Path) -> tuple[int, int]:
    assert path.stat().st_size > 0
    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG" and im.width > 0 and im.height > 0
        return im.size


def _check_svg(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg"), root.tag
    return root


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], list(folder.iterdir())


def _export_all(export, tmp_path, stem):
    out = {}
    for kind in export.kinds:
        out[kind] = export.export(kind, tmp_path / f"{stem}.{kind}")
        assert out[kind] == tmp_path / f"{stem}.{kind}"
    _no_temporaries(tmp_path)
    if plot_export.PNG in out:
        _check_png(out[plot_export.PNG])
    if plot_export.SVG in out:
        _check_svg(out[plot_export.SVG])
    return out


# ---- line plots: the training curves and the learning rate ----------------------------------------
@pytest.fixture
def training_plots(qtbot):
    from cnnstudio.gui.training.plots import TrainingPlots

    plots = TrainingPlots()
    plots.add_steps([{"global_step": s, "loss": 2.0 / (s + 1), "accuracy": s / 10, "lr": 0.01 * (1 - s / 20)}
                     for s in range(10)])
    plots.add_epoch({"global_step": 9, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.6, "val_acc": 0.75})
    plots.refresh()
    _show(qtbot, plots, (1000, 300))
    plots.stop_timer()
    return plots


def test_training_curves_export_png_svg_and_csv_of_every_curve(training_plots, tmp_path):
    out = _export_all(training_plots.loss_plot.plot_export, tmp_path, "loss")
    rows = _rows(out["csv"])
    header, body = rows[0], rows[1:]
    # one x and one y column per curve, named after the curve's legend entry
    assert header == ["batch_x", "batch_y", "batch (smoothed)_x", "batch (smoothed)_y",
                      "epoch train_x", "epoch train_y", "epoch validation_x", "epoch validation_y"]
    loss = training_plots.series["loss"]
    assert len(body) == loss.n == 10
    np.testing.assert_allclose([float(r[0]) for r in body], loss.x)
    np.testing.assert_allclose([float(r[1]) for r in body], loss.y, rtol=1e-9)
    ema = training_plots.series["loss_ema"]
    np.testing.assert_allclose([float(r[3]) for r in body], ema.y, rtol=1e-9)
    assert [float(body[0][6]), float(body[0][7])] == [9.0, 0.6]   # the one validation point
    assert body[1][6] == ""                                       # shorter columns are padded


def test_learning_rate_plot_exports_its_step_curve(training_plots, tmp_path):
    training_plots.refresh()
    out = _export_all(training_plots.lr_plot.plot_export, tmp_path, "lr")
    rows = _rows(out["csv"])
    assert rows[0] == ["learning rate_x", "learning rate_y"]
    lr = training_plots.series["lr"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], lr.y, rtol=1e-9)


def test_accuracy_plot_png_has_the_widgets_size(training_plots, tmp_path):
    plot = training_plots.acc_plot
    path = plot.plot_export.export("png", tmp_path / "acc.png")
    w, h = _check_png(path)
    item = plot.getPlotItem()
    assert (w, h) == (int(item.sceneBoundingRect().width()), int(item.sceneBoundingRect().height()))


def test_training_plots_offer_the_exports_on_right_click_and_on_their_button(training_plots):
    for plot in (training_plots.loss_plot, training_plots.acc_plot, training_plots.lr_plot):
        export = plot.plot_export
        # pyqtgraph's own plot menu is on here: the entries go into it (one menu, not two)
        menu_texts = [a.text() for a in plot.getPlotItem().getViewBox().menu.actions()]
        for kind in ("png", "svg", "csv"):
            assert plot_export.LABELS[kind] in menu_texts
        assert export.button is not None and export.button.isVisible()
        assert export.button.menu() is export.menu
        # top-right corner of the plot
        assert export.button.geometry().right() <= plot.width() and export.button.y() < 10


# ---- bar charts ------------------------------------------------------------------------------------
def test_evaluation_accuracy_chart_csv_names_each_class(qtbot, tmp_path):
    from cnnstudio.gui.evaluation.charts import ClassAccuracyChart

    chart = ClassAccuracyChart()
    chart.set_values(np.array([0.5, np.nan, 1.0]), NAMES)
    _show(qtbot, chart.widget)
    out = _export_all(chart.widget.plot_export, tmp_path, "acc")
    assert _rows(out["csv"]) == [["class", "accuracy"], ["circle", "0.5"], ["square", ""], ["triangle", "1"]]
    # a right-click menu of its own (pyqtgraph's is switched off on this chart)
    assert chart.widget.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu


def test_evaluation_probability_chart(qtbot, tmp_path):
    from cnnstudio.gui.evaluation.charts import ProbabilityChart

    chart = ProbabilityChart()
    chart.set_probs(np.array([0.1, 0.7, 0.2]), 1, NAMES)
    _show(qtbot, chart.widget)
    out = _export_all(chart.widget.plot_export, tmp_path, "probs")
    assert _rows(out["csv"]) == [["class", "probability"], ["circle", "0.1"], ["square", "0.7"],
                                 ["triangle", "0.2"]]


def test_dataset_class_counts_chart(qtbot, tmp_path):
    from cnnstudio.gui.datasets.charts import ClassCountsChart

    chart = ClassCountsChart()
    chart.set_counts(np.array([40, 35, 50]), np.array([10, 9, 12]), NAMES)
    _show(qtbot, chart.widget)
    out = _export_all(chart.widget.plot_export, tmp_path, "counts")
    assert _rows(out["csv"]) == [["class", "training images", "validation images"], ["circle", "40", "10"],
                                 ["square", "35", "9"], ["triangle", "50", "12"]]


def test_drawing_prediction_chart(qtbot, tmp_path):
    from cnnstudio.gui.inside.prediction import PredictionView

    view = PredictionView()
    view.set_probs(np.array([0.25, 0.05, 0.7]), NAMES)
    _show(qtbot, view)
    out = _export_all(view.plot.plot_export, tmp_path, "prediction")
    rows = _rows(out["csv"])
    assert rows[0] == ["class", "probability"] and [r[0] for r in rows[1:]] == NAMES
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], view.probs)


def test_a_bar_chart_without_its_own_table_exports_its_bars(qtbot, tmp_path):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    widget.addItem(pg.BarGraphItem(x=np.arange(3), height=[3, 1, 2], width=0.5, name="counts"))
    _show(qtbot, widget)
    export = plot_export.install(widget, "Counts")
    path = export.export("csv", tmp_path / "bars.csv")
    assert _rows(path) == [["x", "counts"], ["0", "3"], ["1", "1"], ["2", "2"]]


# ---- the confusion matrix ----------------------------------------------------------------------------
def test_confusion_matrix_csv_has_class_headers_and_the_counts(qtbot, tmp_path):
    from cnnstudio.gui.evaluation.confusion_view import ConfusionMatrixView

    view = ConfusionMatrixView()
    matrix = np.array([[8, 1, 1], [0, 9, 2], [3, 0, 7]])
    view.set_matrix(matrix, NAMES)
    _show(qtbot, view, (400, 400))
    export = view.plot_export
    assert export.kinds == ("csv", "png")
    out = _export_all(export, tmp_path, "confusion")
    rows = _rows(out["csv"])
    assert rows[0] == ["true class / predicted class"] + NAMES
    assert [r[0] for r in rows[1:]] == NAMES
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], dtype=int), matrix)
    assert _check_png(out["png"]) == (view.width(), view.height())


def test_confusion_matrix_from_a_real_evaluation(qtbot, tmp_path):
    """The counts written are those of the evaluation: each row sums to that class's images."""
    from cnnstudio.gui.evaluation.confusion_view import ConfusionMatrixView

    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    matrix = np.zeros((3, 3), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    view = ConfusionMatrixView()
    view.set_matrix(matrix, NAMES)
    _show(qtbot, view, (400, 400))
    rows = _rows(view.plot_export.export("csv", tmp_path / "c.csv"))
    counts = np.array([r[1:] for r in rows[1:]], dtype=int)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(labels, minlength=3))
    np.testing.assert_array_equal(np.diag(counts), [np.sum((labels == k) & (predicted == k)) for k in range(3)])


# ---- mosaics and maps --------------------------------------------------------------------------------
def test_feature_map_mosaic_exports_png_of_every_row(qtbot, tmp_path):
    from cnnstudio.gui.inside.feature_maps import FeatureMapView

    view = FeatureMapView()
    view.set_rows(["Input  28 x 28 x 1", "1 Conv2D  26 x 26 x 4"], [(1, 28, 28), (4, 26, 26)])
    view.set_activations([np.random.default_rng(0).random((1, 28, 28)),
                          np.random.default_rng(1).random((4, 26, 26))])
    _show(qtbot, view, (560, 300))
    assert view.plot_export.kinds == ("png",)
    path = view.plot_export.export("png", tmp_path / "maps.png")
    w, h = _check_png(path)
    assert h >= view.graphics.minimumHeight() - 12   # the whole mosaic, not one row
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 20   # the maps' colours, not a blank


def test_filter_mosaic_exports_png(qtbot, tmp_path):
    from cnnstudio.gui.inside.filters import FiltersView

    view = FiltersView()
    view.set_filters([(0, np.random.default_rng(0).standard_normal((6, 1, 5, 5)))])
    _show(qtbot, view, (560, 300))
    _check_png(view.plot_export.export("png", tmp_path / "filters.png"))


def test_dataset_sample_grid_exports_png_and_svg(qtbot, tmp_path):
    from cnnstudio.gui.datasets.mosaic import ImageGrid

    grid = ImageGrid()
    rows = [np.full((3, 8, 8, 1), 40 * k, np.uint8) for k in range(3)]
    grid.set_rows(rows, NAMES, (8, 8, 1))
    _show(qtbot, grid.widget)
    _export_all(grid.widget.plot_export, tmp_path, "samples")


def test_enlarged_map_exports_its_values_as_csv(qtbot, tmp_path):
    from cnnstudio.gui.inside.map_viewer import MapViewer

    viewer = MapViewer()
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
    viewer.show_map(1, 0, "1 Conv2D, map 0", values, (0.0, 3.0))
    _show(qtbot, viewer)
    out = _export_all(viewer.plot.plot_export, tmp_path, "map")
    rows = _rows(out["csv"])
    assert rows[0] == ["row", "col 0", "col 1", "col 2", "col 3"]
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), values)


def test_saliency_overlay_exports(qtbot, tmp_path):
    from cnnstudio.gui.explain.saliency_view import OverlayPlot

    plot = OverlayPlot("Saliency for 'circle'")
    heat = np.random.default_rng(0).standard_normal((8, 8))
    plot.show(np.random.default_rng(1).random((1, 8, 8)), heat)
    _show(qtbot, plot, (240, 240))
    out = _export_all(plot.plot_export, tmp_path, "saliency")
    rows = _rows(out["csv"])
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), np.abs(heat), rtol=1e-6)


# ---- atomic files and errors --------------------------------------------------------------------------
def test_a_missing_folder_is_a_clear_error_and_writes_nothing(qtbot, tmp_path):
    from cnnstudio.gui.evaluation.charts import ClassAccuracyChart

    chart = ClassAccuracyChart()
    chart.set_values(np.array([0.5, 1.0]), NAMES[:2])
    _show(qtbot, chart.widget)
    with pytest.raises(plot_export.ExportError) as err:
        chart.widget.plot_export.export("png", tmp_path / "nowhere" / "acc.png")
    assert "does not exist" in str(err.value) and str(tmp_path / "nowhere") in str(err.value)
    assert "accuracy per class" in str(err.value)


def test_an_unwritable_folder_is_shown_in_a_dialog(qtbot, tmp_path, monkeypatch):
    """The menu path: the file dialog's answer, then the error in a message box naming the folder."""
    from cnnstudio.gui.datasets.charts import ClassCountsChart

    chart = ClassCountsChart()
    chart.set_counts(np.array([1, 2]), np.array([1, 1]), NAMES[:2])
    _show(qtbot, chart.widget)
    export = chart.widget.plot_export
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:   # root writes anywhere: refuse the temporary file as a read-only folder would
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(plot_export.tempfile, "mkstemp", refuse)
    else:
        locked.chmod(0o500)
    errors: list[str] = []
    monkeypatch.setattr(export, "ask_path", lambda kind: str(locked / f"counts.{kind}"))
    monkeypatch.setattr(export, "show_error", errors.append)
    assert export.trigger("csv") is None
    locked.chmod(0o700)
    assert len(errors) == 1 and "cannot be written" in errors[0] and str(locked) in errors[0], errors
    assert "Permission denied" in errors[0] and "Choose a folder you can write to" in errors[0]
    assert list(locked.iterdir()) == []


def test_a_failed_export_leaves_the_old_file_whole(qtbot, tmp_path, monkeypatch):
    from cnnstudio.gui.evaluation.confusion_view import ConfusionMatrixView

    view = ConfusionMatrixView()
    view.set_matrix(np.eye(3, dtype=int), NAMES)
    _show(qtbot, view, (300, 300))
    target = tmp_path / "confusion.csv"
    target.write_text("the user's old file\n")

    def broken():
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(view.plot_export, "table", lambda: (["a"], iter([[1], [broken()]])))
    with pytest.raises((plot_export.ExportError, OSError)):
        view.plot_export.export("csv", target)
    assert target.read_text() == "the user's old file\n"
    _no_temporaries(tmp_path)


def test_menu_export_asks_for_a_name_writes_and_says_where(qtbot, tmp_path, monkeypatch):
    from cnnstudio.gui.evaluation.charts import ProbabilityChart

    chart = ProbabilityChart()
    chart.set_probs(np.array([0.2, 0.8]), 0, NAMES[:2])
    _show(qtbot, chart.widget)
    export = chart.widget.plot_export
    monkeypatch.setattr(export, "ask_path", lambda kind: str(tmp_path / f"p.{kind}"))
    monkeypatch.setattr(export, "show_error", lambda m: pytest.fail(m))
    with qtbot.waitSignal(export.exported, timeout=5000) as blocker:
        export.actions["svg"].trigger()
    assert blocker.args == [str(tmp_path / "p.svg")]
    _check_svg(tmp_path / "p.svg")


def test_export_dialog_adds_the_extension(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    from cnnstudio.gui.evaluation.charts import ProbabilityChart

    chart = ProbabilityChart()
    _show(qtbot, chart.widget)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(tmp_path / "p"), "")))
    assert chart.widget.plot_export.ask_path("png") == str(tmp_path / "p.png")


def test_runs_overlay_plots_export_each_runs_curve(qtbot, tmp_path):
    from cnnstudio.gui.runs.panel import RunsPanel

    plot = RunsPanel._plot("Validation accuracy per epoch", "accuracy (%)")
    plot.getPlotItem().plot([1, 2, 3], [80.0, 90.0, 95.0], name="run 1")
    plot.getPlotItem().plot([1, 2], [70.0, 85.0], name="run 2")
    _show(qtbot, plot)
    out = _export_all(plot.plot_export, tmp_path, "runs")
    rows = _rows(out["csv"])
    assert rows[0] == ["run 1_x", "run 1_y", "run 2_x", "run 2_y"]
    assert [float(r[1]) for r in rows[1:]] == [80.0, 90.0, 95.0]
    assert [float(r[3]) for r in rows[1:3]] == [70.0, 85.0] and rows[3][3] == ""


def test_explain_step_map_exports(qtbot, tmp_path):
    from cnnstudio.gui.explain.view import MapPlot

    plot = MapPlot("input map 0")
    values = np.arange(20, dtype=np.float32).reshape(4, 5)
    plot.show(values, (0.0, 19.0), [1, 2], [1, 2])
    _show(qtbot, plot, (300, 240))
    out = _export_all(plot.plot_export, tmp_path, "step")
    rows = _rows(out["csv"])
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), values)


def test_svg_keeps_closed_paths_closed(qtbot, tmp_path):
    """Qt 6.11 writes a closed path's 'Z' as its own token, which pyqtgraph 0.14's SVGExporter could
    not read; the compat wrapper keeps it where it was."""
    import pyqtgraph as pg
    from pyqtgraph.exporters import SVGExporter

    widget = pg.PlotWidget()
    widget.plot([0, 1, 2], [2, 0, 1])
    _show(qtbot, widget)
    data = SVGExporter(widget.getPlotItem()).export(toBytes=True)   # pyqtgraph's own call works too
    paths = [p.get("d", "") for p in ET.fromstring(data).iter() if p.tag.endswith("path")]
    closed = [d for d in paths if d.split() and d.split()[-1] == "Z"]
    assert closed, paths
    for d in closed:   # every other token is still a transformed x,y pair
        assert all("," in t for t in d.split() if t != "Z")
