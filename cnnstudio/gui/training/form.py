"""The training settings form: the data and hyperparameter widgets (no behaviour).

Plain widgets only; the TrainingPanel owns the behaviour (what picking a dataset does,
what changes while a run is going) and exposes these widgets under the same names.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox,
                             QVBoxLayout, QWidget)

from cnnstudio.gui.training import runtools

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
          "weight_decay", "augment", "seed", "backend")


class TrainingForm(QWidget):
    """The "Data" and "Training" groups. ``backend_reason``: why CuPy is (not) available."""

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
        form.addRow("Dataset", self.dataset)
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.source_label.setVisible(False)  # an empty row left a gap in the form: shown with a path
        form.addRow(self.source_label)
        self.val_fraction = _dspin(0.05, 0.5, 0.1, 2, 0.05)
        self.val_fraction.setToolTip("Fraction held out for validation when a dataset comes unsplit "
                                     "(files, folders). The sample and the standard datasets have fixed splits.")
        form.addRow("Validation split", self.val_fraction)
        return box

    def _hyper_group(self) -> QGroupBox:
        box = QGroupBox("Training")
        form = QFormLayout(box)
        d = runtools.make_config()
        self.epochs = _spin(1, 1000, d.epochs)
        self.batch_size = _spin(1, 4096, d.batch_size)
        self.optimizer = QComboBox()
        self.optimizer.addItem("Adam", "adam")
        self.optimizer.addItem("SGD with momentum", "sgd")
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(d.optimizer)))
        self.lr = _dspin(1e-6, 10.0, d.lr, 6, 1e-4)
        self.lr.setToolTip("Can be changed while training runs: it takes effect at the next batch.")
        self.schedule = QComboBox()
        for name in ("constant", "step", "cosine"):
            self.schedule.addItem(name, name)
        self.schedule.setCurrentIndex(max(0, self.schedule.findData(d.schedule)))
        self.weight_decay = _dspin(0.0, 1.0, d.weight_decay, 6, 1e-4)
        self.augment = QCheckBox("Augment: random shift, small rotation, noise")
        self.augment.setChecked(d.augment)
        self.augment.setToolTip("Can be switched while training runs: it takes effect at the next batch.")
        self.seed = _spin(0, 2**31 - 1, d.seed)
        self.backend = QComboBox()
        self.backend.addItem("NumPy (CPU)", "numpy")
        self.backend.addItem("CuPy (NVIDIA GPU)", "cupy")
        self._set_cupy_availability()
        for label, widget in (("Epochs", self.epochs), ("Batch size", self.batch_size),
                              ("Optimizer", self.optimizer), ("Learning rate", self.lr),
                              ("Schedule", self.schedule), ("Weight decay", self.weight_decay),
                              ("", self.augment), ("Seed", self.seed), ("Backend", self.backend)):
            form.addRow(label, widget)
        return box

    def _set_cupy_availability(self) -> None:
        try:
            from cnnstudio.engine.backend import cupy_status
            available, reason = cupy_status()
        except Exception as exc:  # noqa: BLE001 - the reason is shown, never a crash
            available, reason = False, str(exc)
        item = self.backend.model().item(1)
        item.setEnabled(available)
        item.setToolTip(reason)
        self.backend.setToolTip(reason)
        self.backend_reason = reason

    def set_form(self, config: Any) -> None:
        """Show a TrainingConfig in the form (a reopened project's settings)."""
        for name, widget in (("epochs", self.epochs), ("batch_size", self.batch_size), ("seed", self.seed)):
            widget.setValue(int(getattr(config, name, widget.value())))
        for name, widget in (("lr", self.lr), ("weight_decay", self.weight_decay),
                             ("val_fraction", self.val_fraction)):
            widget.setValue(float(getattr(config, name, widget.value())))
        for name, combo in (("optimizer", self.optimizer), ("schedule", self.schedule)):
            index = combo.findData(getattr(config, name, None))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.augment.blockSignals(True)  # showing a saved setting is not a change to forward
        self.augment.setChecked(bool(getattr(config, "augment", False)))
        self.augment.blockSignals(False)


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
