"""The problems list: what is wrong with the network and how to fix it; click to select the block.

With the AppState it also checks the network against the chosen dataset (the training
settings' data, or the dataset loaded through the Dataset panel: both reach it through the
state, never from another panel) as soon as it is chosen: a class count that does not match
the last Dense layer, or a channel count that does not match the input, is a problem here
with a one-click fix (one undoable document command, ``model.datafit``).
"""

from __future__ import annotations

import os
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QWidget

from cnnstudio.gui.editor.view_model import Problem
from cnnstudio.model.datafit import data_problems, fix_command, fix_label
from cnnstudio.model.errors import NetworkProblem

INDEX_ROLE = Qt.ItemDataRole.UserRole
EMPTY_TEXT = ("The network has no layers: drag blocks from the palette (or double-click them), "
              "or start from a template with File > New.")

#: (name, classes, (h, w, c)) of a dataset as the user chose it
DataFacts = tuple[str, int, tuple[int, int, int]]


def chosen_data(source: str, loaded: Any) -> DataFacts | None:
    """What is known about the chosen data without loading it: the loaded (train, val) pair
    when it is the chosen source, the bundled sample, a standard dataset (its published class
    names), or a folder's class sub-folders; None when nothing is known yet."""
    train = loaded[0] if isinstance(loaded, tuple) and loaded else loaded
    # the training form names a loaded dataset by its source, or by its name when it has none
    if train is not None and source in (getattr(train, "source", None), getattr(train, "name", None)):
        h, w, c = train.image_shape
        if len(train) == 0:  # a placeholder (the project's data still loading, or missing): classes only
            h = w = c = 0
        return (f"'{train.name.replace(' (train)', '')}'", int(train.num_classes), (int(h), int(w), int(c)))
    if source == "sample":
        return ("'MNIST sample'", 10, (28, 28, 1))
    from cnnstudio.data.registry import DATASETS
    if source in DATASETS:
        d = DATASETS[source]
        return (d.title, len(d.class_names), d.image_shape)
    if source and os.path.isdir(source):
        try:
            classes = [e for e in os.scandir(source) if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            return None
        if len(classes) >= 2:  # channels and size are known only once loaded: 0 = not checked
            return (f"the folder '{os.path.basename(os.path.normpath(source))}'", len(classes), (0, 0, 0))
    return None


class ProblemsList(QListWidget):
    """One row per problem (the model reports the first); emits ``selectRequested(layer_index)``.

    ``state``: the AppState, for the dataset checks (without it, network problems only)."""

    selectRequested = pyqtSignal(int)

    def __init__(self, state: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.app_state = state   # not "state": QAbstractItemView.state() is the view's own
        self.setWordWrap(True)
        self.setAlternatingRowColors(False)
        self.itemClicked.connect(self._on_click)
        self._network_problems: list[Problem] = []
        self._empty = False
        self._loaded: Any = None   # the latest (train, val) the state announced
        self.data_problems: list[NetworkProblem] = []
        self.fix_buttons: list[QPushButton] = []
        if state is not None:
            state.datasetChanged.connect(self._on_dataset)
            state.trainingConfigChanged.connect(lambda _c: self._render())
            state.trainingStateChanged.connect(lambda _r: self._render())
        self.show_problems([])

    def show_problems(self, problems: list[Problem]) -> None:
        self._network_problems, self._empty = list(problems), False
        self._render()

    def show_empty_network(self) -> None:
        """No layers: there is nothing wrong with the shapes, but nothing to train either."""
        self._network_problems, self._empty = [], True
        self._render()

    # ---- the dataset -------------------------------------------------------------------
    def _on_dataset(self, pair: Any) -> None:
        self._loaded = pair
        self._render()

    def _data(self) -> DataFacts | None:
        if self.app_state is None:
            return None
        return chosen_data(self.app_state.training_config.dataset, self._loaded)

    def _check_data(self) -> tuple[DataFacts | None, list[NetworkProblem]]:
        facts = self._data()
        if facts is None or self._empty or self._network_problems:
            return facts, []   # the network's own problems first: its output is not known yet
        name, classes, shape = facts
        spec = self.app_state.spec
        if shape[2] == 0:  # a folder or placeholder not loaded yet: channels unknown, check the classes only
            shape = (spec.input.height, spec.input.width, spec.input.channels)
        return facts, data_problems(spec, classes, shape, name)

    # ---- drawing ----------------------------------------------------------------------
    def _render(self) -> None:
        self.clear()
        self.fix_buttons = []
        facts, self.data_problems = self._check_data()
        if self._empty:
            self._add(EMPTY_TEXT, "#664d03", None)
            return
        for p in self._network_problems:
            text = p.message if not p.fix else f"{p.message}\nFix: {p.fix}"
            # a problem with the input or the whole network (index None) selects the Input block
            self._add(text, "#b71c1c", -1 if p.index is None else p.index)
        for dp in self.data_problems:
            self._add(f"{dp.message[0].upper()}{dp.message[1:]}\nFix: {dp.fix}", "#b71c1c",
                      -1 if dp.index is None else dp.index)
            self._add_fix_button(dp, facts)
        if not self._network_problems and not self.data_problems:
            fits = f", and the network fits {facts[0]} ({facts[1]} classes)" if facts is not None else ""
            self._add(f"No problems: every shape fits{fits}.", "#2e7d32", None)

    def _add(self, text: str, colour: str, index: int | None) -> None:
        item = QListWidgetItem(text)
        item.setForeground(QColor(colour))
        item.setData(INDEX_ROLE, index)
        item.setToolTip(text)
        self.addItem(item)

    def _add_fix_button(self, problem: NetworkProblem, facts: DataFacts | None) -> None:
        assert facts is not None and self.app_state is not None
        _name, classes, shape = facts
        command = fix_command(self.app_state.spec, problem, classes, shape)
        if command is None:
            return
        button = QPushButton(fix_label(problem, classes, shape))
        read_only = self.app_state.document.read_only
        button.setEnabled(not read_only)
        button.setToolTip("Stop training first: this fix edits the network" if read_only
                          else "One undoable edit (Edit > Undo takes it back)")
        button.clicked.connect(lambda _=False, p=problem: self.apply_fix(p))
        item = QListWidgetItem()
        item.setData(INDEX_ROLE, None)
        item.setSizeHint(button.sizeHint())
        self.addItem(item)
        self.setItemWidget(item, button)
        self.fix_buttons.append(button)

    def apply_fix(self, problem: NetworkProblem) -> None:
        """Carry out ``problem``'s fix as one undoable edit (the editor redraws on networkChanged)."""
        facts = self._data()
        if facts is None or self.app_state is None or self.app_state.document.read_only:
            return
        _name, classes, shape = facts
        command = fix_command(self.app_state.spec, problem, classes, shape)
        if command is not None:
            self.app_state.document.execute(command)

    def _on_click(self, item: QListWidgetItem) -> None:
        index = item.data(INDEX_ROLE)
        if index is not None:
            self.selectRequested.emit(int(index))
