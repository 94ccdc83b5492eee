"""The network editor: palette | canvas | inspector over problems, all views of AppState.

The canvas zooms to fit (``gui.editor.zoom``): the whole network in view, cards at
``MIN_FIT_SCALE`` of their size at least. A project opened or made new is fitted; View > Zoom
in/out (or Ctrl + wheel) leaves fitting until Zoom to fit.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QFrame, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from cnnstudio.gui.editor import edits
from cnnstudio.gui.editor.zoom import ZOOM_STEP, ZoomCanvas
from cnnstudio.gui.editor.inspector import Inspector
from cnnstudio.gui.editor.palette import LayerPalette
from cnnstudio.gui.editor.problems import ProblemsList
from cnnstudio.gui.editor.view_model import NetworkView, describe
from cnnstudio.gui.state import AppState

READ_ONLY_HINT = "Stop training to edit the network"
LEFT_WIDTH = 200
#: the problems strip under the canvas: its default height
PROBLEMS_H = 56


class NetworkEditor(QWidget):
    """Rebuilds every view from ``state.document.spec`` on ``networkChanged``.

    ``selected`` is view state only: -1 = the Input block, -2 = nothing.
    """

    viewChanged = pyqtSignal()

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.selected = -2
        self._document = state.document
        self.view = NetworkView()
        self.layer_palette = LayerPalette()
        self.canvas = ZoomCanvas(state)
        self.inspector = Inspector(state)
        self.problems = ProblemsList(state)   # the state: checks against the chosen dataset too
        self.hint = QLabel(READ_ONLY_HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("background: #fff3cd; color: #664d03; padding: 4px; font-weight: bold")
        self.hint.setVisible(False)
        self.pick_hint = QLabel()   # "Add skip connection": which block to click next
        self.pick_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pick_hint.setStyleSheet("background: #e3f2fd; color: #0d47a1; padding: 4px; font-weight: bold")
        self.pick_hint.setVisible(False)
        self._build_layout()
        self.layer_palette.appendRequested.connect(self.append_layer)
        self.canvas.selectRequested.connect(self.select)
        self.canvas.pickingChanged.connect(self._show_pick_hint)
        self.problems.selectRequested.connect(self.show_problem)
        state.networkChanged.connect(self.refresh)
        state.trainingStateChanged.connect(self._on_training)
        self.refresh()

    def _build_layout(self) -> None:
        # left: search and palette over inspector; centre: canvas over a short problems strip.
        # Keeps the canvas wide enough for two columns of cards next to the docks at 1280x800.
        palette_box = QWidget()
        column = QVBoxLayout(palette_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.layer_palette.search)
        column.addWidget(self.layer_palette, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(palette_box)
        # in a scroll area: a layer with wide fields (a Conv2D's kernel pair) no longer widens the
        # column, which pushed the canvas sideways on every selection (issue 13)
        self.inspector_scroll = QScrollArea()
        self.inspector_scroll.setWidgetResizable(True)
        self.inspector_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.inspector_scroll.setWidget(self.inspector)
        left.addWidget(self.inspector_scroll)
        left.setStretchFactor(1, 1)
        self.left_split = left
        # a pane whose content is hidden (the teacher layout's "editor.palette") goes with it: its empty
        # box kept the palette's height and "Select a block" floated in the middle of the column
        self._pane_follows = _PaneFollows(self, {self.layer_palette: palette_box,
                                                 self.inspector: self.inspector_scroll})
        centre_split = QSplitter(Qt.Orientation.Vertical)
        centre_split.addWidget(self.canvas)
        centre_split.addWidget(self.problems)
        centre_split.setStretchFactor(0, 1)
        self.centre_split = centre_split
        centre = QWidget()
        col = QVBoxLayout(centre)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.hint)
        col.addWidget(self.pick_hint)
        col.addWidget(centre_split)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(centre)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.reset_layout()

    def reset_layout(self) -> None:
        """The default splitter sizes (the palette as tall as its rows, a short problems strip)
        and the network zoomed to fit."""
        palette_h = self.layer_palette.content_height() + self.layer_palette.search.sizeHint().height() + 2
        self.left_split.setSizes([palette_h, max(1, self.height() - palette_h)])
        self.centre_split.setSizes([max(1, self.height() - PROBLEMS_H), PROBLEMS_H])
        self.splitter.setSizes([LEFT_WIDTH, max(1, self.width() - LEFT_WIDTH)])
        self.zoom_to_fit()

    def fold_side_column(self) -> None:
        """Give the canvas the whole width: the palette and inspector folded away to the left
        (Draw & look, where the network is looked at, not edited). The splitter handle brings
        them back, as does View > Reset layout."""
        self.splitter.setCollapsible(0, True)
        self.splitter.setSizes([0, max(1, self.width())])
        self.zoom_to_fit()

    def side_column_folded(self) -> bool:
        return self.splitter.sizes()[0] == 0

    # ---- zoom ---------------------------------------------------------------
    def zoom_to_fit(self) -> None:
        """The whole network in view (View > Zoom to fit; also on New and Open)."""
        self.canvas.set_zoom(None)

    def zoom_in(self) -> None:
        self.canvas.set_zoom(self.canvas.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.canvas.set_zoom(self.canvas.zoom / ZOOM_STEP)

    # ---- views ------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw cards, problems and inspector from the document's spec."""
        spec = self.state.document.spec
        if self.state.document is not self._document:   # opened or made new: all of it in view
            self._document = self.state.document
            self.canvas.fit = True
        self.view = describe(spec)
        if self.selected >= len(spec.layers):
            self.selected = len(spec.layers) - 1 if spec.layers else -2
        self.canvas.refresh(self.view, self.selected)
        if spec.layers:
            self.problems.show_problems(self.view.problems)
        else:  # "every shape fits" would be true and useless
            self.problems.show_empty_network()
        self._show_inspector()
        self.viewChanged.emit()

    def select(self, index: int) -> None:
        self.selected = index
        if index != -2:   # a block selected: no wire is
            self.canvas.select_wire(None)
        for card in self.canvas.cards:
            card.selected = card.info.index == index
            card.update()
        self.canvas.selected = index
        self.canvas.show_card(index)  # an appended block, a problem's block, arrow keys: keep it in view
        self._show_inspector()

    def show_problem(self, index: int) -> None:
        """Select the block a problem names (select scrolls the canvas to it)."""
        self.select(index)

    def _show_inspector(self) -> None:
        problem = self.view.problem
        text = ""
        if problem is not None and problem.index == self.selected:
            text = problem.message + (f"\nFix: {problem.fix}" if problem.fix else "")
        facts = ""
        card = next((c for c in self.view.cards if c.index == self.selected), None)
        if card is not None and card.index >= 0:
            params = "?" if card.params is None else f"{card.params:,}"
            facts = f"Output {card.shape_text}, {params} parameters"
        self.inspector.show_layer(self.selected, text, facts)

    def _on_training(self, running: bool) -> None:
        self.hint.setVisible(running)
        self.layer_palette.setEnabled(not running)
        self._show_inspector()

    # ---- edits ------------------------------------------------------------------
    def append_layer(self, type_name: str) -> None:
        if self.state.document.read_only:
            return
        edits.append_layer(self.state.document, type_name)
        self.select(len(self.state.document.spec.layers) - 1)

    def delete_selected(self) -> None:
        """Delete the selected wire (Disconnect) or, with none, the selected block."""
        if self.canvas.selected_wire is not None:
            self.canvas.delete_selected_wire()
        else:
            self.canvas.delete_selected()

    def add_skip_connection(self) -> None:
        """Start "Add skip connection" from the selected block (or the Input): the next click on a
        later block inserts an Add after it that sums the two."""
        self.canvas.start_skip(self.selected)

    def _show_pick_hint(self, text: str) -> None:
        self.pick_hint.setText(text)
        self.pick_hint.setVisible(bool(text))

    def duplicate_selected(self) -> None:
        self.canvas.duplicate_selected()


class _PaneFollows(QObject):
    """Shows or hides each pane of the left column as its content is shown or hidden by hand."""

    def __init__(self, parent: QObject, panes: dict[QWidget, QWidget]):
        super().__init__(parent)
        self.panes = panes
        for content in panes:
            content.installEventFilter(self)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:  # noqa: N802 - Qt override
        if obj in self.panes and event is not None and event.type() in (QEvent.Type.ShowToParent,
                                                                         QEvent.Type.HideToParent):
            assert isinstance(obj, QWidget)
            self.panes[obj].setVisible(not obj.isHidden())
        return False
