"""The training settings form: the data and hyperparameter widgets (no behaviour).

Plain widgets only; the TrainingPanel owns the behaviour (what picking a dataset does,
what changes while a run is going) and exposes these widgets under the same names.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtGui import QStandardItemModel
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QLabel,
                             QSpinBox, QVBoxLayout, QWidget)

from cnnstudio.gui.explain.glossary import help_button, with_help
from cnnstudio.gui.training import runtools
from cnnstudio.model.training_config import SETTINGS, Setting
from cnnstudio.project.glossary import setting_key

#: (label, source) offered in the dataset picker; None entries open a file/folder dialog.
DATASETS = [
    ("Bundled sample (5,000 MNIST digits)", "sample"),
    ("MNIST (download, 11 MB)", "mnist"),
    ("Fashion-MNIST (download, 30 MB)", "fashion-mnist"),
    ("KMNIST (download, 20 MB)", "kmnist"),
    ("CIFAR-10 (download, 160 MB)", "cifar10"),
    ("File: .npz, IDX or CSV...", "<file>"),
    ("Folder of class sub-folders...", "<folder>"),
    ("Current dataset (Dataset panel)", "<current>"),  # AppState.dataset: imported/downloaded there (G4)
]
#: the widgets the panel exposes as its own attributes (tests and the Dataset panel use them)
FIELDS = ("dataset", "source_label", "val_fraction", "epochs", "batch_size", "optimizer", "lr", "schedule",
          "weight_decay", "augment", "seed", "backend", "workers")


class TrainingForm(QWidget):
    """The "Data" and "Training" groups. ``backend_reason``: why CuPy is (not) available."""

    # made from the declared settings in _hyper_group (setting_widget)
    epochs: QSpinBox
    batch_size: QSpinBox
    optimizer: QComboBox
    lr: QDoubleSpinBox
    schedule: QComboBox
    weight_decay: QDoubleSpinBox
    augment: QCheckBox
    seed: QSpinBox
    backend: QComboBox
    workers: QComboBox   # processes per training step (issue 15; "speed")
    val_fraction: QDoubleSpinBox

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self._data_group())
        col.addWidget(self._hyper_group())
        col.addStretch(1)

    def _data_group(self) -> QGroupBox:
        box = QGroupBox("Data")
        form = QFormLayout(box)
        self.dataset = QComboBox()
        self.dataset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset.setMinimumContentsLength(16)
        for label, source in DATASETS:
            self.dataset.addItem(label, source)
        self.dataset.setToolTip("The bundled sample works offline; the others are downloaded on first use.")
        form.addRow("Dataset", with_help(self.dataset, setting_key("dataset")))   # "?": the glossary entry
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.source_label.setVisible(False)  # an empty row left a gap in the form: shown with a path
        form.addRow(self.source_label)
        self.val_fraction = _dspin_of(SETTINGS["val_fraction"], runtools.make_config().val_fraction)
        form.addRow(SETTINGS["val_fraction"].label, with_help(self.val_fraction, setting_key("val_fraction")))
        return box

    def _hyper_group(self) -> QGroupBox:
        box = QGroupBox("Training")
        form = QFormLayout(box)
        d = runtools.make_config()
        # Ranges, labels and tooltips come from the declared settings (model.training_config.SETTINGS).
        names = ("epochs", "batch_size", "optimizer", "lr", "schedule", "weight_decay", "augment", "seed", "backend")
        for name in names:
            setattr(self, name, setting_widget(SETTINGS[name], getattr(d, name)))
        self._set_cupy_availability()
        for name in names:
            setting = SETTINGS[name]
            if setting.kind == "bool" and ": " in setting.label:
                form.addRow("", _check_with_details(getattr(self, name), setting, setting_key(name)))
                continue
            form.addRow("" if setting.kind == "bool" else setting.label,
                        with_help(getattr(self, name), setting_key(name)))
        workers = setting_widget(SETTINGS["workers"], d.workers)   # processes per step ("speed")
        assert isinstance(workers, QComboBox)
        self.workers = workers
        form.addRow(SETTINGS["workers"].label, with_help(self.workers, setting_key("workers")))
        return box

    def _set_cupy_availability(self) -> None:
        try:
            from cnnstudio.engine.backend import cupy_status
            available, reason = cupy_status()
        except Exception as exc:  # noqa: BLE001 - the reason is shown, never a crash
            available, reason = False, str(exc)
        model = self.backend.model()
        item = model.item(1) if isinstance(model, QStandardItemModel) else None
        if item is not None:
            item.setEnabled(available)
            item.setToolTip(reason)
        self.backend.setToolTip(reason)
        self.backend_reason = reason

    def set_form(self, config: Any) -> None:
        """Show a TrainingConfig in the form (a reopened project's settings)."""
        for name, spin in (("epochs", self.epochs), ("batch_size", self.batch_size), ("seed", self.seed)):
            spin.setValue(int(getattr(config, name, spin.value())))
        for name, dspin in (("lr", self.lr), ("weight_decay", self.weight_decay),
                            ("val_fraction", self.val_fraction)):
            dspin.setValue(float(getattr(config, name, dspin.value())))
        for name, combo in (("optimizer", self.optimizer), ("schedule", self.schedule), ("workers", self.workers)):
            index = combo.findData(getattr(config, name, None))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.augment.blockSignals(True)  # showing a saved setting is not a change to forward
        self.augment.setChecked(bool(getattr(config, "augment", False)))
        self.augment.blockSignals(False)


def _check_with_details(box: QCheckBox, setting: Setting, key: str) -> QWidget:
    """The check box named by the label's head ("Augment"), its "?", and the rest of the label
    ("random shift, ...") wrapping under it: on one check box it held the form at 425 px, cutting
    the "?" column in Draw & look at 1024x640. One widget, so a form row hides all of it."""
    head, details = setting.label.split(": ", 1)
    box.setText(head)
    note = QLabel(details)
    note.setWordWrap(True)
    note.setToolTip(setting.help)
    note.setObjectName(f"{setting.name}_details")
    host = QWidget()
    grid = QGridLayout(host)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(2)
    grid.setVerticalSpacing(0)
    grid.addWidget(box, 0, 0)
    grid.addWidget(help_button(key), 0, 1)
    grid.addWidget(note, 1, 0)
    grid.setColumnStretch(0, 1)
    return host


def _dspin_of(setting: Setting, value: float) -> QDoubleSpinBox:
    widget = setting_widget(setting, value)
    assert isinstance(widget, QDoubleSpinBox)
    return widget


def setting_widget(setting: Setting, value: Any) -> QWidget:
    """The form widget for one declared training setting, showing ``value``."""
    widget: QWidget
    if setting.kind == "int":
        low, high = setting.widget_range()
        widget = _spin(int(low), min(int(high), 2**31 - 1), value)   # QSpinBox holds a C int
    elif setting.kind == "float":
        low, high = setting.widget_range()
        widget = _dspin(low, high, value, setting.decimals, setting.step)
    elif setting.kind == "choice":
        combo = QComboBox()
        for data, label in zip(setting.choices, setting.choice_labels or setting.choices):
            combo.addItem(label, data)
        combo.setCurrentIndex(max(0, combo.findData(value)))
        widget = combo
    else:
        box = QCheckBox(setting.label)
        box.setChecked(bool(value))
        widget = box
    widget.setToolTip(setting.help)
    return widget


def _spin(lo: int, hi: int, value: int) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(int(value))
    return s


def _dspin(lo: float, hi: float, value: float, decimals: int, step: float) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setDecimals(decimals)
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setValue(float(value))
    return s
