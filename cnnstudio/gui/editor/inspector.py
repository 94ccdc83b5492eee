"""The inspector: the selected block's hyperparameters, one proper widget per field.

Every change is one document command (``edits``). Spin boxes have keyboard
tracking off, so typing "128" makes one command when the person presses Enter
or leaves the field, not three.
"""

from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                             QSpinBox, QVBoxLayout, QWidget)

from cnnstudio.engine.errors import EngineError
from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.model.errors import ModelError
from cnnstudio.gui.editor import edits
from cnnstudio.gui.editor.view_model import input_hwc
from cnnstudio.gui.state import AppState

#: int fields: (minimum, maximum)
INT_RANGES = {"filters": (1, 8192), "units": (1, 1_000_000)}
#: pair fields (height, width): (minimum, maximum)
PAIR_RANGES = {"kernel_size": (1, 64), "pool_size": (1, 64), "stride": (1, 64)}
#: float fields: (minimum, maximum, step, decimals)
FLOAT_RANGES = {"rate": (0.0, 0.95, 0.05, 2), "alpha": (0.0, 0.99, 0.01, 3),
                "momentum": (0.0, 0.999, 0.01, 3), "epsilon": (1e-8, 0.1, 1e-5, 8)}
POOL_TYPES = ["MaxPool2D", "AvgPool2D", "SumPool2D"]
LABELS = {"kernel_size": "Kernel (h x w)", "pool_size": "Window (h x w)", "stride": "Stride (h x w)",
          "use_bias": "Bias", "filters": "Filters", "units": "Units", "padding": "Padding", "rate": "Rate",
          "alpha": "Alpha", "momentum": "Momentum", "epsilon": "Epsilon"}


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
        self._key: Any = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("Select a block")
        self.title.setStyleSheet("font-weight: bold")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setMinimumHeight(2 * self.description.fontMetrics().lineSpacing() + 4)
        self.facts = QLabel()
        self.facts.setStyleSheet("color: #0d47a1")
        self.facts.setWordWrap(True)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c")
        for w in (self.title, self.description, self.facts, self.form_host, self.error):
            outer.addWidget(w)
        outer.addStretch(1)

    # ---- showing ------------------------------------------------------------
    def show_layer(self, index: int, problem_text: str = "", facts: str = "") -> None:
        """Show block ``index`` of the current spec; rebuild widgets only if its fields changed."""
        spec = self.state.document.spec
        if index >= len(spec.layers):
            index = -2
        self.index = index
        if index == -1:
            key: Any = ("input",)
            values = dict(zip(("height", "width", "channels"), input_hwc(spec)))
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
        self.form_host.setEnabled(not getattr(self.state.document, "read_only", False))

    def _rebuild(self, key: Any, values: dict[str, Any]) -> None:
        self._key = key
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        if key is None:
            self.title.setText("Select a block")
            self.description.setText("Click a card to see and change its settings.")
            return
        if key == ("input",):
            self.title.setText("Input")
            self.description.setText("The image the network sees: height x width x channels.")
            for name, high in (("height", 4096), ("width", 4096), ("channels", 512)):
                self._add_row(name.title(), name, _spin(1, high, values[name]), self._commit_input)
            return
        type_name = key[1]
        self.title.setText(f"Layer {self.index + 1}: {type_name}")
        self.description.setText(LAYER_TYPES[type_name].description if type_name in LAYER_TYPES else "")
        if type_name in POOL_TYPES:
            combo = QComboBox()
            combo.addItems(POOL_TYPES)
            self._add_row("Pooling", "__type__", combo, self._commit_pool_type)
        for name in values:
            widget = self._make_widget(name, values[name])
            self._add_row(LABELS.get(name, name), name, widget, lambda n=name: self._commit_field(n))

    def _add_row(self, label: str, name: str, widget: QWidget, commit: Callable[[], None]) -> None:
        self.fields[name] = widget
        self.form.addRow(label, widget)
        for signal in _change_signals(widget):
            signal.connect(lambda *_: commit())

    def _make_widget(self, name: str, value: Any) -> QWidget:
        if name == "padding":
            return PaddingEditor()
        if name in PAIR_RANGES:
            return PairEditor(*PAIR_RANGES[name])
        if name in INT_RANGES or (isinstance(value, int) and not isinstance(value, bool)):
            return _spin(*INT_RANGES.get(name, (0, 1_000_000)), 1)
        if name in FLOAT_RANGES or isinstance(value, float):
            low, high, step, decimals = FLOAT_RANGES.get(name, (-1e6, 1e6, 0.1, 4))
            box = QDoubleSpinBox()
            box.setDecimals(decimals)
            box.setRange(low, high)
            box.setSingleStep(step)
            box.setKeyboardTracking(False)
            return box
        if isinstance(value, bool):
            return QCheckBox()
        return QLineEdit()

    def _set_values(self, values: dict[str, Any]) -> None:
        for name, widget in self.fields.items():
            widget.blockSignals(True)
            if name == "__type__":
                widget.setCurrentText(self._key[1])
            else:
                _set_widget_value(widget, values.get(name))
            widget.blockSignals(False)

    # ---- committing -----------------------------------------------------------
    def _commit_field(self, name: str) -> None:
        if self.index >= 0:
            value = _widget_value(self.fields[name])
            self._run(edits.set_hyperparameter, self.index, name, value)

    def _commit_input(self) -> None:
        shape = tuple(self.fields[n].value() for n in ("height", "width", "channels"))
        self._run(edits.set_input, shape)

    def _commit_pool_type(self) -> None:
        if self.index >= 0:
            self._run(edits.change_layer_type, self.index, self.fields["__type__"].currentText())

    def _run(self, edit: Callable[..., None], *args: Any) -> None:
        """Apply one edit; a refused value is shown under the form (and the widgets reset)."""
        try:
            edit(self.state.document, *args)
        except (ModelError, EngineError) as exc:  # e.g. a value the layer cannot take
            self.show_layer(self.index)
            self.error.setText(str(exc))


class PairEditor(QWidget):
    """Two spin boxes (height x width); the value is a list [h, w] as in layer configs."""

    def __init__(self, low: int, high: int):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.h, self.w = _spin(low, high, low), _spin(low, high, low)
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

    def __init__(self):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox()
        self.mode.addItems(["valid", "same", "explicit"])
        self.amount = _spin(0, 64, 1)
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
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))
