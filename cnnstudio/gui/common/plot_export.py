"""Export what you see: any plot as PNG, SVG or CSV, any mosaic or painted widget as PNG.

One piece for every view. A widget calls ``install(widget, "Training loss", ...)`` once and gets a
small "Export" button in its top-right corner and the same entries on right-click:

- PNG: pyqtgraph's ``ImageExporter`` on the plot (or the graphics layout of a mosaic); a widget
  that paints itself (the confusion matrix) is grabbed with ``QWidget.grab``.
- SVG: pyqtgraph's ``SVGExporter`` (plots only).
- CSV: pyqtgraph's ``CSVExporter`` for line plots (every curve's original data, not the
  downsampled one drawn); bar charts, which ``CSVExporter`` skips, give their own table
  (``table=``, e.g. one row per class with its name), as does the confusion matrix.

Every file is written atomically: into a temporary file beside the target, then renamed, so an
existing file is either replaced whole or left as it was. A failure (a folder that does not
exist or cannot be written) raises :class:`ExportError` with a message naming the file, the
folder and what to do; from the menu it is shown in a dialog.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import CSVExporter, ImageExporter, SVGExporter
from PyQt6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QImage
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QToolButton, QWidget

PNG, SVG, CSV = "png", "svg", "csv"
PLOT_KINDS = (PNG, SVG, CSV)
LABELS = {PNG: "Export as PNG image…", SVG: "Export as SVG drawing…", CSV: "Export data as CSV…"}
FILTERS = {PNG: "PNG image (*.png)", SVG: "SVG drawing (*.svg)", CSV: "CSV table (*.csv)"}
#: what a table provider returns: the header row and the data rows
Table = tuple[Sequence[str], Iterable[Sequence[Any]]]

_last_dir: list[str] = []   # the folder of the last export, offered next time (one per session)


class ExportError(Exception):
    """An export that could not be written; the message says which file, why, and what to do."""


# ---- what to export --------------------------------------------------------------------------
def graphics_item(target: Any) -> Any:
    """The pyqtgraph item an exporter works on: a PlotWidget's PlotItem, a layout widget's layout."""
    if isinstance(target, pg.PlotWidget):
        return target.getPlotItem()
    if isinstance(target, pg.GraphicsLayoutWidget):
        return target.ci
    return target


#: height of the strip at a plot's top that holds its corner buttons (export, "?"): the title,
#: axes and legend start under it, so a button never covers them ("Training loss per batch
#: (smoothed)" ran under the export button in the Runs panel at 1280x800)
CORNER_ROW_PX = 22


def reserve_corner_row(target: Any) -> None:
    """Start a PlotItem's contents (title, axes, legend) under the corner buttons' strip."""
    item = graphics_item(target)
    if isinstance(item, pg.PlotItem):
        left, top, right, bottom = item.layout.getContentsMargins()
        if top < CORNER_ROW_PX:
            item.layout.setContentsMargins(left, CORNER_ROW_PX, right, bottom)


#: (legend's anchor point, the view's point, offset in pixels) for each corner, the first preferred
LEGEND_CORNERS = (((1, 0), (1, 0), (-5, 5)), ((0, 0), (0, 0), (5, 5)),
                  ((1, 1), (1, 1), (-5, -5)), ((0, 1), (0, 1), (5, -5)))


def _data_points(item: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) of what a PlotItem draws: its curves' points, its bars' tops and bottoms."""
    points = []
    for child in item.items:
        if isinstance(child, pg.PlotDataItem):
            x, y = child.getData()
            if x is not None and y is not None and len(x):
                points.append((np.asarray(x, float), np.asarray(y, float)))
        elif isinstance(child, pg.BarGraphItem):
            opts = child.opts
            x, height = opts.get("x"), opts.get("height")
            if x is not None and height is not None and np.size(x):
                x, height = np.asarray(x, float), np.broadcast_to(np.asarray(height, float), np.shape(x))
                steps = np.linspace(0.0, 1.0, 8)   # a bar covers all the way down to 0
                points.append((np.repeat(x, steps.size), (height[:, None] * steps[None, :]).ravel()))
    return points


def legend_corner(item: Any) -> int:
    """Index into LEGEND_CORNERS of the corner where the legend covers the fewest data points."""
    legend, view = getattr(item, "legend", None), item.getViewBox()
    points = _data_points(item)
    if legend is None or not points or view.width() <= 0 or view.height() <= 0:
        return 0
    x = np.concatenate([p[0] for p in points])
    y = np.concatenate([p[1] for p in points])
    finite = np.isfinite(x) & np.isfinite(y)
    (x0, x1), (y0, y1) = view.viewRange()
    w, h = view.width(), view.height()
    sx = (x[finite] - x0) / max(x1 - x0, 1e-12) * w          # data -> view pixels, y down
    sy = (y1 - y[finite]) / max(y1 - y0, 1e-12) * h
    lw, lh = legend.width() + 5, legend.height() + 5
    hits = []
    for (anchor, _parent, _offset) in LEGEND_CORNERS:
        left = w - lw if anchor[0] == 1 else 0.0
        top = h - lh if anchor[1] == 1 else 0.0
        hits.append(int(np.count_nonzero((sx >= left) & (sx <= left + lw) & (sy >= top) & (sy <= top + lh))))
    return int(np.argmin(hits))   # the first (top-right) on a tie


class LegendPlacer(QObject):
    """Moves a PlotItem's legend to the corner where it covers the least data, as the data and
    the view change (the Runs charts' legends sat on the curves' ends in the top-right)."""

    def __init__(self, item: Any, parent: QObject):
        super().__init__(parent)
        self.item, self.corner = item, -1   # -1: not placed yet (the legend keeps its own offset)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self.place)
        view = item.getViewBox()
        view.sigRangeChanged.connect(self.timer.start)
        view.sigResized.connect(self.timer.start)
        view.sigStateChanged.connect(self.timer.start)

    def place(self) -> None:
        legend = getattr(self.item, "legend", None)
        if legend is None:
            return
        corner = legend_corner(self.item)
        if corner != self.corner and (corner != 0 or self.corner != -1):   # top-right: as it was built
            self.corner = corner
            legend.anchor(*LEGEND_CORNERS[corner])


def _is_graphics(item: Any) -> bool:
    return isinstance(item, (pg.GraphicsObject, pg.GraphicsWidget))


# ---- writing, atomically ------------------------------------------------------------------------
def _write_atomically(path: str | os.PathLike[str], what: str, write: Callable[[str], None]) -> Path:
    """Call ``write(temporary path)`` then rename it to ``path``; ExportError on any failure."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"Cannot export {what} to {target}: the folder {folder} does not exist. "
                          "Choose an existing folder.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix or ".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"Cannot export {what} to {target}: the folder {folder} cannot be written "
                          f"({exc.strerror or exc}). Choose a folder you can write to.") from exc
    os.close(fd)
    try:
        write(tmp)
        if os.path.getsize(tmp) == 0:
            raise ExportError(f"Cannot export {what} to {target}: nothing was written "
                              "(is the view shown and not empty?).")
        os.replace(tmp, target)
    except ExportError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except Exception as exc:  # noqa: BLE001 - disk full, a renamed folder, an exporter's own error
        Path(tmp).unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ExportError(f"Cannot export {what} to {target}: {reason}. "
                          "Choose another file name or folder.") from exc
    return target


def write_png(target: Any, path: str | os.PathLike[str], what: str = "the view") -> Path:
    """``target``: a PlotWidget, GraphicsLayoutWidget or pyqtgraph item (ImageExporter), or any
    QWidget (grabbed as painted). Writes a PNG of what is shown."""
    item = graphics_item(target)

    def write(tmp: str) -> None:
        if _is_graphics(item):
            image = ImageExporter(item).export(toBytes=True)
        else:
            image = item.grab().toImage()
        if not isinstance(image, QImage) or image.isNull() or not image.save(tmp, "PNG"):
            raise ExportError(f"Cannot export {what}: it has no size yet (show it first).")

    return _write_atomically(path, what, write)


def _svg_closed_paths_compat() -> None:
    """Let pyqtgraph's SVGExporter read the paths Qt 6.11 writes.

    pyqtgraph 0.14 re-maps each ``d`` token of a path as an ``x,y`` pair; Qt 6.11's SVG generator
    ends a closed path (a view box's outline) with a separate ``Z`` token, and the export failed
    with "not enough values to unpack". Here the ``Z`` tokens are taken out before pyqtgraph
    corrects the coordinates and put back at the same places after (it maps tokens one to one).
    """
    module: Any = sys.modules[SVGExporter.__module__]
    original = module.correctCoordinates
    if getattr(original, "keeps_closed_paths", False):
        return

    def correct(node: Any, defs: Any, item: Any, options: Any) -> Any:
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            at = [i for i, t in enumerate(tokens) if t in ("Z", "z")]
            if at:
                path.setAttribute("d", " ".join(t for t in tokens if t not in ("Z", "z")))
                closed.append((path, at))
        result = original(node, defs, item, options)
        for path, at in closed:
            tokens = path.getAttribute("d").split()
            for i in at:
                tokens.insert(i, "Z")
            path.setAttribute("d", " ".join(tokens))
        return result

    correct.keeps_closed_paths = True  # type: ignore[attr-defined]
    module.correctCoordinates = correct


_svg_closed_paths_compat()   # at import: pyqtgraph's own "Export..." dialog gets the fix too


def write_svg(target: Any, path: str | os.PathLike[str], what: str = "the plot") -> Path:
    """An SVG drawing of a plot (pyqtgraph's SVGExporter)."""
    item = graphics_item(target)
    if not _is_graphics(item):
        raise ExportError(f"{what} cannot be exported as SVG; export it as PNG instead.")

    def write(tmp: str) -> None:
        data = SVGExporter(item).export(toBytes=True)
        with open(tmp, "wb") as fh:
            fh.write(data)

    return _write_atomically(path, what, write)


def write_table(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]],
                what: str = "the table") -> Path:
    """A CSV file: ``header`` then ``rows`` (numbers as plain decimals)."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for row in rows:
                out.writerow([_cell(v) for v in row])

    return _write_atomically(path, what, write)


def _cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return np.format_float_positional(float(v), precision=10, trim="-") if np.isfinite(v) else "nan"
    if isinstance(v, np.integer):
        return int(v)
    return v


def write_plot_csv(target: Any, path: str | os.PathLike[str], what: str = "the plot") -> Path:
    """The data of a line plot as CSV, with pyqtgraph's CSVExporter: an x and a y column per curve,
    named after the curve. Bar charts have their own tables (see ``bar_table``)."""
    item = graphics_item(target)
    if not isinstance(item, pg.PlotItem):
        raise ExportError(f"{what} has no plotted data to export as CSV; export it as PNG instead.")
    if any(isinstance(i, pg.BarGraphItem) for i in item.items):
        header, rows = bar_table(item)
        return write_table(path, header, rows, what)
    curves = [i for i in item.items if hasattr(i, "implements") and i.implements("plotData")]
    images = [i for i in item.items if isinstance(i, pg.ImageItem) and i.image is not None and i.image.ndim == 2]
    if not curves and images:  # a map: its values, one CSV row per image row
        header, rows = image_table(images[-1].image)
        return write_table(path, header, rows, what)
    return _write_atomically(path, what, lambda tmp: CSVExporter(item).export(tmp))


def image_table(values: np.ndarray) -> Table:
    """An (H, W) map as a table: a row index column, then one column per image column."""
    values = np.asarray(values)
    header = ["row"] + [f"col {c}" for c in range(values.shape[1])]
    return header, [[r] + list(values[r]) for r in range(values.shape[0])]


def bar_table(plot_item: Any, names: Sequence[str] | None = None) -> Table:
    """The bars of a plot as a table: a label column (``names[i]`` for bar i, else its x) and one
    height column per bar series (named after it)."""
    series = [i for i in plot_item.items if isinstance(i, pg.BarGraphItem)]
    columns = []
    for n, bars in enumerate(series):
        heights = np.asarray(bars.opts.get("height"), dtype=np.float64).ravel()
        columns.append((bars.name() or f"bars {n + 1}", heights))
    count = max((len(h) for _, h in columns), default=0)
    if names is not None and len(names) >= count:
        labels: list[Any] = list(names[:count])
        first = "class"
    else:
        x = np.asarray(series[0].opts.get("x"), dtype=np.float64).ravel() if series else np.zeros(0)
        labels, first = [float(v) for v in x[:count]], "x"
    header = [first] + [name for name, _ in columns]
    rows = [[labels[i]] + [h[i] if i < len(h) else "" for _, h in columns] for i in range(count)]
    return header, rows


# ---- the menu and button ----------------------------------------------------------------------------
def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower() or "plot"


class PlotExport(QObject):
    """The export entries of one view (see the module docstring); ``install`` makes one.

    ``export(kind, path)`` writes without asking (raises ExportError); ``trigger(kind)`` asks for a
    file name (``ask_path``, monkeypatched in tests), writes, and shows an error in a dialog.
    ``exported(path)`` fires after each successful export.
    """

    exported = pyqtSignal(str)

    def __init__(self, widget: QWidget, title: str, kinds: Sequence[str] = PLOT_KINDS,
                 target: Any = None, table: Callable[[], Table] | None = None, button: bool = True):
        super().__init__(widget)
        self.widget, self.title = widget, title
        self.kinds = tuple(kinds)
        self.target = target if target is not None else widget
        self.table = table
        self.menu = QMenu(widget)
        self.actions: dict[str, QAction] = {}
        for kind in self.kinds:
            action = self.menu.addAction(LABELS[kind])
            assert action is not None
            action.triggered.connect(lambda _=False, k=kind: self.trigger(k))
            self.actions[kind] = action
        self.button: QToolButton | None = None
        if button:
            self._make_button()
        item = graphics_item(self.target)
        self.legend_placer = LegendPlacer(item, self) if isinstance(item, pg.PlotItem) else None
        self._hook_right_click()

    # ---- writing ---------------------------------------------------------------
    def export(self, kind: str, path: str | os.PathLike[str]) -> Path:
        what = f"the {self.title.lower()}" if self.title[:1].isupper() else self.title
        if kind == PNG:
            return write_png(self.target, path, what)
        if kind == SVG:
            return write_svg(self.target, path, what)
        if kind == CSV:
            if self.table is not None:
                header, rows = self.table()
                return write_table(path, header, rows, what)
            return write_plot_csv(self.target, path, what)
        raise ValueError(f"unknown export kind {kind!r}; one of {', '.join(PLOT_KINDS)}")

    def ask_path(self, kind: str) -> str | None:
        folder = _last_dir[-1] if _last_dir else os.path.expanduser("~")
        suggested = os.path.join(folder, f"{_slug(self.title)}.{kind}")
        path, _ = QFileDialog.getSaveFileName(self.widget, f"Export {self.title}", suggested, FILTERS[kind])
        if path and not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        return path or None

    def show_error(self, message: str) -> None:
        QMessageBox.critical(self.widget, f"Cannot export {self.title}", message)

    def trigger(self, kind: str) -> Path | None:
        path = self.ask_path(kind)
        if not path:
            return None
        try:
            written = self.export(kind, path)
        except ExportError as exc:
            self.show_error(str(exc))
            return None
        _last_dir[:] = [str(written.parent)]
        window = self.widget.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(f"Exported {self.title} to {written}", 8000)
        self.exported.emit(str(written))
        return written

    # ---- where the entries show --------------------------------------------------
    def _make_button(self) -> None:
        button = QToolButton(self.widget)
        button.setObjectName("exportButton")
        button.setText("⤓")
        button.setToolTip(f"Export {self.title} ({', '.join(k.upper() for k in self.kinds)})")
        button.setAutoRaise(True)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setMenu(self.menu)
        button.setStyleSheet("QToolButton { background: rgba(255, 255, 255, 170); border: 1px solid #b0b0b0;"
                             " border-radius: 3px; padding: 0px 2px; color: #202020; }"
                             "QToolButton::menu-indicator { image: none; width: 0px; }")
        button.setFixedSize(20, 18)
        self.button = button
        reserve_corner_row(self.target)
        self.widget.installEventFilter(self)
        self._place_button()

    def _place_button(self) -> None:
        if self.button is not None:
            self.button.move(max(0, self.widget.width() - self.button.width() - 3), 3)
            self.button.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.widget and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._place_button()
        return False

    def _hook_right_click(self) -> None:
        """Right-click: into pyqtgraph's own plot menu where the plot has one, else a menu of ours."""
        item = graphics_item(self.target)
        view_box = item.getViewBox() if isinstance(item, pg.PlotItem) else None
        if view_box is not None and view_box.menuEnabled():
            view_box.menu.addSeparator()
            for action in self.actions.values():
                view_box.menu.addAction(action)
            return
        self.widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.widget.customContextMenuRequested.connect(self._show_menu)

    def _show_menu(self, pos: QPoint) -> None:
        self.menu.popup(self.widget.mapToGlobal(pos))


def install(widget: QWidget, title: str, kinds: Sequence[str] = PLOT_KINDS, target: Any = None,
            table: Callable[[], Table] | None = None, button: bool = True) -> PlotExport:
    """Give ``widget`` export entries (button + right-click); returns them (kept as its child).

    ``title``: how the view is named to the user ("Training loss"). ``target``: what is exported
    when not the widget itself (e.g. a mosaic's GraphicsLayoutWidget inside a scroll area).
    ``table``: returns (header, rows) for the CSV, for views whose data is not curves.
    """
    export = PlotExport(widget, title, kinds, target, table, button)
    widget.setProperty("plotExport", True)
    setattr(widget, "plot_export", export)
    return export

