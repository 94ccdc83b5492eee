"""The inspector: the selected block's hyperparameters, one proper widget per field.

The widgets are built from the layer's declared schema (``Layer.hyperparameters``:
kind, range, step, label, help), so their ranges are exactly what the layer accepts
and a new layer type needs nothing here. Every change is one document command
(``edits``); the layer validates the value. Spin boxes have keyboard tracking off,
so typing "128" makes one command when the person presses Enter or leaves the
field, not three.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                             QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from cnnstudio.engine.errors import EngineError
from cnnstudio.engine.layers import LAYER_TYPES, Hyper
from cnnstudio.model.errors import ModelError
from cnnstudio.model.formulas import layer_formulas
from cnnstudio.project.glossary import hyper_key
from cnnstudio.gui.editor import edits
from cnnstudio.gui.editor.view_model import input_hwc
from cnnstudio.gui.explain.glossary import help_label
from cnnstudio.gui.state import AppState

#: the Input block's fields: (name, maximum); their rules live in model.spec.InputSpec
INPUT_FIELDS = (("height", 4096), ("width", 4096), ("channels", 512))
_W = TypeVar("_W", bound=QWidget)


def interchangeable_types(type_name: str) -> list[str]:
    """Types the editor can switch ``type_name`` to in place (same group, same fields), itself included."""
    group = LAYER_TYPES[type_name].interchangeable if type_name in LAYER_TYPES else ""
    return [name for name, cls in LAYER_TYPES.items() if group and cls.interchangeable == group]


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(int(value))
    box.setKeyboardTracking(False)
    box.setGroupSeparatorShown(True)
    return box


class Inspector(QWidget):
    """Shows and edits layer ``index`` (-1 = the Input block, < -1 = nothing selected)."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.index = -2
        self.fields: dict[str, QWidget] = {}
        self.frozen_box: QCheckBox | None = None   # the Frozen row of a layer with weights
        self.filter_button: Any = None             # "Filter weights" of a layer with kernels
        self._key: Any = ()   # not None (nothing selected): the first show_layer fills in the texts
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("Select a block")
        self.title.setStyleSheet("font-weight: bold")
        self.title.setWordWrap(True)   # "Layer 14: GlobalAveragePool2D" is wider than the column
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setMinimumHeight(2 * self.description.fontMetrics().lineSpacing() + 4)
        self.facts = QLabel()
        self.facts.setStyleSheet("color: #0d47a1")
        self.facts.setWordWrap(True)
        # the layer's sizes as formulas with its numbers plugged in (model.formulas)
        self.formulas = QLabel()
        self.formulas.setObjectName("formulas")
        self.formulas.setWordWrap(True)
        self.formulas.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formulas.setStyleSheet("color: #263238")
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        # a field too wide to sit beside its label goes on its own line under it: a Conv2D's kernel
        # pair beside "Kernel (h x w)" made the form wider than the column at 1280 x 800 (cut off,
        # scrolling sideways)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c")
        for w in (self.title, self.description, self.facts, self.formulas, self.form_host, self.error):
            outer.addWidget(w)
        outer.addStretch(1)
        self._viewport: QWidget | None = None   # the scrolling column's visible part, once shown in one

    # ---- wrapping the texts at the column's visible width ------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if isinstance(parent, QScrollArea) and parent.viewport() is not self._viewport:
            self._viewport = parent.viewport()
            self._viewport.installEventFilter(self)
            self._fit_texts()

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:  # noqa: N802 - Qt override
        if obj is self._viewport and event is not None and event.type() == QEvent.Type.Resize:
            self._fit_texts()
        return False

    def _fit_texts(self) -> None:
        """Wrap the description, facts, formulas and error at the visible width: the form's rows can
        be wider than a narrow column (it scrolls sideways) and the formulas were cut off at its edge
        at 1280 x 800 ("floor((14 + 2*0 - 5" ...)."""
        if self._viewport is None:
            return
        margins = self.layout().contentsMargins() if self.layout() is not None else None
        width = max(80, self._viewport.width() - (margins.left() + margins.right() if margins else 0))
        for label in (self.title, self.description, self.facts, self.formulas, self.error):
            label.setMaximumWidth(width)

    # ---- showing ------------------------------------------------------------
    def show_layer(self, index: int, problem_text: str = "", facts: str = "") -> None:
        """Show block ``index`` of the current spec; rebuild widgets only if its fields changed."""
        spec = self.state.document.spec
        if index >= len(spec.layers):
            index = -2
        self.index = index
        if index == -1:
            key: Any = ("input",)
            values: dict[str, Any] = dict(zip(("height", "width", "channels"), input_hwc(spec)))
            values.update(edits.preprocessing_fields(spec.input))
        elif index >= 0:
            layer = spec.layers[index]
            values = dict(layer.config)
            key = (index, layer.type, tuple(sorted(values)))
        else:
            key, values = None, {}
        if key != self._key:
            self._rebuild(key, values)
        self._set_values(values)
        self.error.setText(problem_text)
        self.facts.setText(facts)
        self.formulas.setText(formulas_html(spec, index) if index >= 0 else "")
        self.form_host.setEnabled(not getattr(self.state.document, "read_only", False))

    def _rebuild(self, key: Any, values: dict[str, Any]) -> None:
        self._key = key
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        self.frozen_box = None
        self.filter_button = None
        if key is None:
            self.title.setText("Select a block")
            self.description.setText("Click a card to see and change its settings.")
            return
        if key == ("input",):
            self.title.setText("Input")
            self.description.setText("The image the network sees: height x width x channels.")
            for name, high in INPUT_FIELDS:
                self._add_row(name.title(), name, _spin(1, high, values[name]), self._commit_input, "input.size")
            for name, label, tip in edits.PREPROCESSING_FIELDS:   # how pixels become numbers
                box = QLineEdit()
                box.setToolTip(tip)
                self._add_row(label, name, box, self._commit_preprocessing, "input.preprocessing")
            return
        type_name = key[1]
        cls = LAYER_TYPES[type_name]
        self.title.setText(f"Layer {self.index + 1}: {type_name}")
        self.description.setText(cls.description)
        choices = interchangeable_types(type_name)
        if len(choices) > 1:
            combo = QComboBox()
            combo.addItems(choices)
            combo.setToolTip("Switch this block to another type with the same settings")
            self._add_row(cls.interchangeable.title(), "__type__", combo, self._commit_pool_type, "layer_kind")
        for h in cls.hyperparameters:
            widget = make_widget(h)
            widget.setToolTip(f"{h.help} ({h.range_text()})" if h.kind in ("int", "pair", "float") else h.help)
            self._add_row(h.label, h.name, widget, functools.partial(self._commit_field, h.name),
                          hyper_key(type_name, h.name))
        if _has_weights(self.state.document.spec, self.index):
            frozen = QCheckBox("keep its weights")
            frozen.setToolTip("Freeze the layer: a hand-set filter (or a trained one) stays as it is while the rest trains")
            self.frozen_box = frozen   # not a hyperparameter: kept apart from ``fields``
            self.form.addRow(help_label("Frozen", "frozen"), frozen)
            frozen.toggled.connect(lambda *_: self._commit_frozen())
        if _has_kernels(self.state.document.spec, self.index):
            from PyQt6.QtWidgets import QPushButton

            self.filter_button = QPushButton("Set by hand...")
            self.filter_button.setToolTip("Set a filter's weights by hand: identity, box blur, sharpen, Sobel, Laplacian")
            self.filter_button.clicked.connect(self.edit_filters)
            self.form.addRow(help_label("Filter weights", "hand_set_filters"), self.filter_button)

    def _add_row(self, label: str, name: str, widget: QWidget, commit: Callable[[], None], help_key: str) -> None:
        """A form row: its label with a "?" opening glossary entry ``help_key`` (beside the label, so it
        stays in view when a narrow dock scrolls the fields), and ``widget``."""
        self.fields[name] = widget
        self.form.addRow(help_label(label, help_key), widget)
        for signal in _change_signals(widget):
            signal.connect(lambda *_: commit())

    def _set_values(self, values: dict[str, Any]) -> None:
        if self.frozen_box is not None and self.index >= 0:
            self.frozen_box.blockSignals(True)
            self.frozen_box.setChecked(self.state.document.spec.layers[self.index].frozen)
            self.frozen_box.blockSignals(False)
        for name, widget in self.fields.items():
            widget.blockSignals(True)
            if name == "__type__":
                assert isinstance(widget, QComboBox)   # the type row is the interchangeable types' combo box
                widget.setCurrentText(self._key[1])
            else:
                _set_widget_value(widget, values.get(name))
            widget.blockSignals(False)

    def _field(self, name: str, kind: type[_W]) -> _W:
        """The field widget ``name``, which _rebuild made as a ``kind``."""
        widget = self.fields[name]
        assert isinstance(widget, kind)
        return widget

    # ---- committing -----------------------------------------------------------
    def _commit_field(self, name: str) -> None:
        if self.index >= 0:
            value = _widget_value(self.fields[name])
            self._run(edits.set_hyperparameter, self.index, name, value)

    def _commit_input(self) -> None:
        shape = tuple(self._field(n, QSpinBox).value() for n in ("height", "width", "channels"))
        self._run(edits.set_input, shape)

    def _commit_preprocessing(self) -> None:
        texts = [self._field(name, QLineEdit).text() for name, _, _ in edits.PREPROCESSING_FIELDS]
        self._run(edits.set_preprocessing, *texts)

    def edit_filters(self) -> None:
        """The hand-set filter dialog for this layer (editor.filter_dialog)."""
        from cnnstudio.gui.editor.filter_dialog import FilterDialog

        self.filter_dialog = FilterDialog(self.state, self.index, self)
        self.filter_dialog.show()

    def _commit_frozen(self) -> None:
        if self.index >= 0:
            self._run(edits.set_frozen, self.index, self.frozen_box.isChecked())

    def _commit_pool_type(self) -> None:
        if self.index >= 0:
            self._run(edits.change_layer_type, self.index, self._field("__type__", QComboBox).currentText())

    def _run(self, edit: Callable[..., None], *args: Any) -> None:
        """Apply one edit; a refused value is shown under the form (and the widgets reset)."""
        try:
            edit(self.state.document, *args)
        except (ModelError, EngineError) as exc:  # e.g. a value the layer cannot take
            self.show_layer(self.index)
            self.error.setText(str(exc))


def _has_weights(spec: Any, index: int) -> bool:
    """Layer ``index`` has trainable parameters (as shape inference counts them)."""
    from cnnstudio.model.shapes import infer_shapes

    rows = {row.index: row for row in infer_shapes(spec).layers}
    return bool(index in rows and rows[index].params)


def _has_kernels(spec: Any, index: int) -> bool:
    """Layer ``index`` has convolution kernels: a 4-D weight "W" (filters, channels, kh, kw)."""
    from cnnstudio.model.shapes import infer_shapes

    rows = {row.index: row for row in infer_shapes(spec).layers}
    if index not in rows or rows[index].input_shape is None or not spec.layers[index].is_valid:
        return False
    try:
        shape = spec.layers[index].check().param_shapes(rows[index].input_shape).get("W")
    except EngineError:   # an input the layer cannot take: the problems list explains it
        return False
    return shape is not None and len(shape) == 4


def formulas_html(spec: Any, index: int) -> str:
    """The formula lines of layer ``index`` as rich text ("" when its shapes are unknown)."""
    lines = layer_formulas(spec, index)
    return "<br>".join(f"<b>{label}</b>: {text.replace('->', '&rarr;')}" for label, text in lines)


def make_widget(h: Hyper) -> QWidget:
    """The editor for one declared hyperparameter; its range is the declaration's."""
    low, high = h.widget_range()
    if h.kind == "padding":
        return PaddingEditor(int(low), int(high))
    if h.kind == "pair":
        return PairEditor(int(low), int(high))
    if h.kind == "int":
        return _spin(int(low), int(high), int(low))
    if h.kind == "float":
        box = QDoubleSpinBox()
        box.setDecimals(h.decimals)
        box.setRange(low, high)
        box.setSingleStep(h.step)
        box.setKeyboardTracking(False)
        return box
    if h.kind == "bool":
        return QCheckBox()
    if h.kind == "choice":
        combo = QComboBox()
        combo.addItems(list(h.choices))
        return combo
    return QLineEdit()


class PairEditor(QWidget):
    """Two spin boxes (height x width); the value is a list [h, w] as in layer configs."""

    def __init__(self, low: int, high: int):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.h, self.w = _spin(low, high, low), _spin(low, high, low)
        for box in (self.h, self.w):   # room for 4 digits: the range's "4,096" made the pair too wide for the dock
            box.setMinimumWidth(box.fontMetrics().horizontalAdvance("0000") + 28)
        row.addWidget(self.h)
        row.addWidget(QLabel("x"))
        row.addWidget(self.w)

    def value(self) -> list[int]:
        return [self.h.value(), self.w.value()]

    def set_value(self, value: Any) -> None:
        h, w = (value, value) if isinstance(value, int) else tuple(value)
        for box, v in ((self.h, h), (self.w, w)):
            box.blockSignals(True)
            box.setValue(int(v))
            box.blockSignals(False)


class PaddingEditor(QWidget):
    """'valid', 'same', or an explicit number of zero rows/columns on every side."""

    def __init__(self, low: int = 0, high: int = 64):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox()
        self.mode.addItems(["valid", "same", "explicit"])
        self.amount = _spin(low, high, max(low, 1))
        row.addWidget(self.mode)
        row.addWidget(self.amount)

    def value(self) -> str | int:
        mode = self.mode.currentText()
        return self.amount.value() if mode == "explicit" else mode

    def set_value(self, value: Any) -> None:
        for w in (self.mode, self.amount):
            w.blockSignals(True)
        explicit = not isinstance(value, str)
        self.mode.setCurrentText("explicit" if explicit else str(value))
        if explicit and value is not None:
            self.amount.setValue(int(value))
        self.amount.setEnabled(explicit)
        for w in (self.mode, self.amount):
            w.blockSignals(False)


def _change_signals(widget: QWidget) -> list:
    if isinstance(widget, PairEditor):
        return [widget.h.valueChanged, widget.w.valueChanged]
    if isinstance(widget, PaddingEditor):
        return [widget.mode.currentIndexChanged, widget.amount.valueChanged]
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return [widget.valueChanged]
    if isinstance(widget, QComboBox):
        return [widget.currentIndexChanged]
    if isinstance(widget, QCheckBox):
        return [widget.toggled]
    if isinstance(widget, QLineEdit):
        return [widget.editingFinished]
    return []


def _widget_value(widget: QWidget) -> Any:
    if isinstance(widget, (PairEditor, PaddingEditor)):
        return widget.value()
    if isinstance(widget, QDoubleSpinBox):
        return round(widget.value(), widget.decimals())
    if isinstance(widget, QSpinBox):
        return widget.value()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    assert isinstance(widget, QLineEdit)   # make_widget's remaining kind, and the preprocessing rows
    return widget.text()


def _set_widget_value(widget: QWidget, value: Any) -> None:
    if value is None:
        return
    if isinstance(widget, (PairEditor, PaddingEditor)):
        widget.set_value(value)
    elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.setValue(value)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        widget.setCurrentText(str(value))
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))
