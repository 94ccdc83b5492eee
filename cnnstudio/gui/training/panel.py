"""The training panel: data and hyperparameters, run controls, progress, health messages.

A view of the workspace (through AppState) and of its TrainingController: the form writes
the training settings into the workspace (``state.training_config``, a TrainingConfig) and
shows what is there, so the Dataset panel's augmentation settings and a reopened project's
settings reach it without any link between panels; while a run goes, a changed learning rate
or augmentation in the workspace goes on to the run. Buttons go to the controller, and the
panel shows what the controller reports.
The plots widget it owns (``panel.plots``) goes into the window's plots dock.
Questions and errors go through ``ask_stop_training`` / ``show_error`` so tests
can answer them by monkeypatching. Start on a trained network asks (``ask_start_trained``)
whether to continue training or start over, and can remember the answer (QSettings key
``START_CHOICE_KEY``; "Ask again" under the buttons forgets it).
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QEvent, QObject, QSettings
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QFileDialog, QFormLayout, QGridLayout,
                             QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QVBoxLayout,
                             QWidget)

from cnnstudio.gui.training import runtools
from cnnstudio.gui.training.controller import TrainingController, TrainingSetupError
from cnnstudio.gui.training.form import DATASETS, FIELDS, TrainingForm  # noqa: F401 - DATASETS re-exported
from cnnstudio.gui.training.health_view import HealthView
from cnnstudio.gui.training.plots import TrainingPlots
from cnnstudio.gui.wording import in_app_terms
from cnnstudio.project.session import STANDARD_SOURCES

READ_ONLY_HINT = "The network is read-only while training runs: press Stop to edit it."
#: QSettings key of the remembered answer to "Continue training or start over?" ("continue" / "restart")
START_CHOICE_KEY = "training/startOnTrained"
CONTINUE, RESTART, CANCEL = "continue", "restart", "cancel"


class TrainingPanel(QWidget):
    """Form + buttons + progress + health. ``window``: its close event stops training cleanly."""

    # the form's widgets under the panel's own names (FIELDS, set in __init__)
    dataset: QComboBox
    source_label: QLabel
    val_fraction: QDoubleSpinBox
    epochs: QSpinBox
    batch_size: QSpinBox
    optimizer: QComboBox
    lr: QDoubleSpinBox
    schedule: QComboBox
    weight_decay: QDoubleSpinBox
    augment: QCheckBox
    seed: QSpinBox
    backend: QComboBox
    workers: QComboBox   # the "speed" engineer's processes-per-step setting (form.FIELDS)

    def __init__(self, state: Any, window: QWidget | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.state = state
        self.plots = TrainingPlots()
        self.controller = TrainingController(state, self.plots, parent=self)
        self.health = HealthView()
        self._custom_source: str | None = None
        self._shown_project: tuple | None = None
        self._showing = False  # the form is showing the workspace's settings: not an edit to write back
        # the window's QSettings (tests give theirs); a panel on its own remembers for its lifetime only
        found = getattr(window, "settings", None)
        self.settings: QSettings | None = found if isinstance(found, QSettings) else None
        self._memory: dict[str, str] = {}
        self.start_dialog: QMessageBox | None = None  # while "Continue training or start over?" is open
        self._build()
        self._connect()
        self._show_config(state.training_config)
        self._update_buttons()
        self._update_val_fraction()
        self._on_project_changed()
        if window is not None:
            window.installEventFilter(self)

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        # Controls, progress and health over the settings form, all in the dock's one scroll area
        # (MainWindow.set_dock_widget). The form had a scroll area of its own inside that one: with a
        # health card showing, its viewport reached below the dock's, and the Workers row stayed cut
        # off at the bottom however far its scroll bar went (QA, 1280 x 800).
        top = QVBoxLayout()
        top.addWidget(self._buttons())
        top.addWidget(self._remembered_row())
        top.addWidget(self._progress())
        self.hint = QLabel(READ_ONLY_HINT)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #8a6d00; font-weight: bold;")
        self.hint.setVisible(False)
        top.addWidget(self.hint)
        top.addWidget(self.health)
        self.form = inner = TrainingForm()
        for name in FIELDS:  # the panel's own names for the form's widgets
            setattr(self, name, getattr(inner, name))
        self.backend_reason = inner.backend_reason
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(top)
        outer.addWidget(inner)
        outer.addStretch(1)

    def _buttons(self) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train exactly one batch, then pause")
        self.epoch_button = QPushButton("+1 epoch")
        self.epoch_button.setToolTip("Train one more epoch than planned")
        for i, b in enumerate((self.start_button, self.pause_button, self.resume_button,
                               self.stop_button, self.step_button, self.epoch_button)):
            grid.addWidget(b, i // 3, i % 3)
        return w

    def _remembered_row(self) -> QWidget:
        """Shown while a Start choice is remembered: what Start will do, and "Ask again"."""
        self.remembered = w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        self.remembered_label = QLabel()
        self.remembered_label.setWordWrap(True)
        self.ask_again_button = QPushButton("Ask again")
        self.ask_again_button.setToolTip("Forget the remembered answer: Start on a trained network asks again")
        self.ask_again_button.clicked.connect(lambda: self.set_start_choice(None))
        row.addWidget(self.remembered_label, 1)
        row.addWidget(self.ask_again_button)
        self._show_start_choice()
        return w

    def _progress(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        self.epoch_progress = QProgressBar()
        self.run_progress = QProgressBar()
        self.speed_label = QLabel("Not started.")
        self.speed_label.setWordWrap(True)
        self.paused_label = QLabel("Paused")
        self.paused_label.setObjectName("pausedLabel")
        self.paused_label.setStyleSheet("background: #fff3cd; color: #664d03; font-weight: bold; padding: 2px 6px;")
        self.paused_label.setToolTip("Training is paused: Resume goes on, Step trains one batch")
        self.paused_label.setVisible(False)
        self._last_progress: dict | None = None
        form.addRow(self.paused_label)
        form.addRow("Epoch", self.epoch_progress)
        form.addRow("Run", self.run_progress)
        form.addRow(self.speed_label)
        return w

    def _connect(self) -> None:
        c = self.controller
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(c.pause)
        self.resume_button.clicked.connect(c.resume)
        self.stop_button.clicked.connect(c.stop)
        self.step_button.clicked.connect(self.step)
        self.epoch_button.clicked.connect(self.add_epoch)
        self.lr.editingFinished.connect(self._lr_edited)  # while a run goes, only a finished edit applies
        self.augment.toggled.connect(self._augment_toggled)
        for widget in (self.val_fraction, self.epochs, self.batch_size, self.weight_decay, self.seed):
            widget.valueChanged.connect(self._form_edited)
        for combo in (self.dataset, self.optimizer, self.schedule, self.backend, self.workers):
            combo.currentIndexChanged.connect(self._form_edited)
        self.dataset.activated.connect(self._dataset_chosen)
        self.dataset.currentIndexChanged.connect(lambda _i: self._update_val_fraction())
        self.health.fixRequested.connect(self._apply_fix)
        c.runningChanged.connect(self._on_running)
        c.pausedChanged.connect(self._on_paused)
        c.progress.connect(self._on_progress)
        c.epochFinished.connect(self._on_epoch)
        c.finished.connect(self._on_finished)
        c.failed.connect(lambda msg: self.show_error("Training stopped with an error", msg))
        c.healthIssues.connect(self.health.add_issues)
        c.lrChanged.connect(self._show_lr)
        c.augmentationChanged.connect(self._show_augment)
        self.state.projectChanged.connect(self._on_project_changed)
        self.state.networkChanged.connect(self._on_network_changed)
        self.state.datasetChanged.connect(self._use_current_dataset)
        self.state.trainingConfigChanged.connect(self._on_config_changed)

    # ---- the form <-> the workspace's training settings --------------------------------------------
    def config(self) -> Any:
        """The TrainingConfig to train with: the form's values written into the workspace's
        settings (which also hold what the form does not show: augmentation amounts, momentum)."""
        self._write_form()
        return self.state.training_config

    def _form_values(self) -> dict[str, Any]:
        return {"dataset": self.source(), "val_fraction": self.val_fraction.value(), "epochs": self.epochs.value(),
                "batch_size": self.batch_size.value(), "optimizer": self.optimizer.currentData(),
                "lr": self.lr.value(), "schedule": self.schedule.currentData(),
                "weight_decay": self.weight_decay.value(), "augment": self.augment.isChecked(),
                "seed": self.seed.value(), "backend": self.backend.currentData(),
                "workers": self.workers.currentData()}

    def _write_form(self) -> None:
        """The form's values into the workspace (a bad combination raises TrainingConfigError)."""
        self.state.update_training_config(**self._form_values())

    def _form_edited(self, *_args: Any) -> None:
        if self._showing:
            return
        try:
            self._write_form()
        except ValueError:  # e.g. a cosine floor above the rate: Start shows the explained error
            pass

    def _on_config_changed(self, config: Any) -> None:
        """The workspace's settings changed (here, in the Dataset panel, a reopened project, a fix):
        show them, and pass a new rate or augmentation on to a running run."""
        self._show_config(config)
        c = self.controller
        if not c.running or c.config is None:
            return
        if abs(config.lr - c.config.lr) > 1e-12:
            c.set_lr(config.lr)
        params = runtools.augmentation_of(config)
        if config.augment != c.config.augment or (config.augment and params != runtools.augmentation_of(c.config)):
            c.set_augmentation(config.augment, params)

    def _show_config(self, config: Any) -> None:
        self._showing = True
        try:
            self.form.set_form(config)
            index = self.backend.findData(config.backend)
            if index >= 0 and self.backend.model().item(index).isEnabled():
                self.backend.setCurrentIndex(index)
            if config.dataset != self.source():
                self._show_dataset(config.dataset)
        finally:
            self._showing = False

    def _show_dataset(self, source: str) -> None:
        """Pick ``source`` in the data picker (a saved setting: no download is started here)."""
        index = self.dataset.findData(source)
        if index < 0:  # a path: the file or folder entry, naming it
            import os
            index = self.dataset.findData("<folder>" if os.path.isdir(source) else "<file>")
            self._custom_source = source
            self._show_source(source)
        else:
            self._custom_source = None
            self._show_source("")
        self.dataset.setCurrentIndex(index)

    def source(self) -> str:
        data = self.dataset.currentData()
        if data == "<current>":  # recorded in the history: where the Dataset panel's data came from
            train = self.state.dataset[0] if isinstance(self.state.dataset, tuple) else self.state.dataset
            return getattr(train, "source", "") or getattr(train, "name", "current")
        return self._custom_source or "sample" if data in ("<file>", "<folder>") else data

    def _dataset_chosen(self, index: int) -> None:
        self._pick_dataset(index)
        self._form_edited()  # the picked path (or the fallback to the sample) into the settings

    def _pick_dataset(self, index: int) -> None:
        kind = self.dataset.itemData(index)
        if kind not in ("<file>", "<folder>"):
            self._custom_source = None
            self._show_source("")
            if kind not in ("sample", "<current>") and not self.ask_download(kind):
                self.dataset.setCurrentIndex(0)  # not downloaded (cancelled, offline): back to the sample
            return
        path = self.ask_data_path(kind)
        if path:
            self._custom_source = path
            self._show_source(path)
        elif not self._custom_source:
            self.dataset.setCurrentIndex(0)

    def comes_split(self) -> bool:
        """Whether the picked data has a fixed train/validation split (the sample, the standard
        datasets, a split dataset from the Dataset panel): the validation fraction does not apply."""
        kind = self.dataset.currentData()
        if kind in ("<file>", "<folder>"):
            return False
        if kind == "<current>":
            return isinstance(self.state.dataset, tuple)
        return True

    def _update_val_fraction(self) -> None:
        split = self.comes_split()
        self.val_fraction.setEnabled(not split and not self.controller.running)
        self.val_fraction.setToolTip(
            "This dataset has a fixed train/validation split, so nothing is held out on top of it."
            if split else "Fraction of the images held out (stratified, fixed seed) to validate on.")

    def _show_source(self, path: str) -> None:
        self.source_label.setText(path)
        self.source_label.setVisible(bool(path))

    def _use_current_dataset(self) -> None:
        """A dataset was imported or downloaded in the Dataset panel: train on it next."""
        ds = self.state.dataset
        source = getattr(ds[0] if isinstance(ds, tuple) else ds, "source", None)
        if not self.controller.running:
            if source != self.dataset.currentData():  # not the one picked here
                self.dataset.setCurrentIndex(self.dataset.findData("<current>"))
                self._custom_source = None
                self._show_source("")   # a path shown for an earlier pick (the folder before it moved) is not this
            self._form_edited()  # the settings name the data it now means
        self._update_val_fraction()  # the current dataset may have changed from split to unsplit

    def ask_download(self, key: str) -> bool:
        """Make sure standard dataset ``key`` is in the cache: the download dialog (progress,
        Cancel) when it is not. True when it is there (G4's dialog; tests monkeypatch this)."""
        from cnnstudio.data import is_downloaded
        if is_downloaded(key):
            return True
        from cnnstudio.gui.common.download_dialog import DownloadDialog
        dialog = DownloadDialog(self.state, self, key=key)
        dialog.start()
        dialog.exec()
        return dialog.loaded is not None

    def ask_data_path(self, kind: str) -> str | None:
        if kind == "<folder>":
            return QFileDialog.getExistingDirectory(self, "Folder with one sub-folder per class") or None
        path, _ = QFileDialog.getOpenFileName(self, "Dataset file", "",
                                              "Datasets (*.npz *.csv *.gz *-ubyte *.idx*);;All files (*)")
        return path or None

    # ---- actions ------------------------------------------------------------------------------
    def start(self, paused: bool = False, datasets: tuple | None = None) -> bool:
        """Start a run from the form; a setup problem is shown in a dialog and nothing starts.

        On a trained network (weights that fit it, epochs in its history) Start first asks
        whether to continue training from those weights or start over from random ones
        (``ask_start_trained``, or the remembered answer); Cancel starts nothing."""
        missing = self._missing_data() if datasets is None else None
        if missing:   # say so before asking whether to continue: either answer would be refused
            self.show_error("Cannot start training", missing[:1].upper() + missing[1:])
            return False
        choice = self._start_choice() if self.is_trained() else RESTART
        if choice == CANCEL:
            return False
        self.health.clear()
        if datasets is None:
            datasets = self._loaded_datasets()
        kind = self.dataset.currentData()
        if datasets is None and kind in STANDARD_SOURCES and not self.ask_download(kind):
            return False  # picked by a reopened project's settings and not downloaded yet: the dialog first
        if choice == CONTINUE and datasets is None:
            datasets = self.controller.datasets  # this session's run's data: no second load
        try:
            self.controller.start(self.config(), paused=paused, datasets=datasets,
                                  continue_training=choice == CONTINUE)
        except TrainingSetupError as exc:
            self.show_error("Cannot start training", in_app_terms(str(exc)))
            return False
        used = self.controller.datasets
        if used is not None and self.state.dataset is not used:  # G4: the Dataset, Evaluation and
            self.state.set_dataset(used)  # Feature maps panels show the data this run trains on
        self.speed_label.setText("Starting...")
        return True

    # ---- Start on a trained network: continue or start over -----------------------------------
    def _missing_data(self) -> str | None:
        """What is missing when the picked data is the project's own and it was not found (or None)."""
        if self.dataset.currentData() != "<current>":
            return None
        from cnnstudio.project.datasource import missing_problem

        ds = self.state.dataset
        train = ds[0] if isinstance(ds, tuple) else ds
        return missing_problem(train) if train is not None else None

    def is_trained(self) -> bool:
        """The network has trained weights that fit it and a history to continue."""
        return bool(self.state.weights) and self.state.weights_fit() and runtools.saved_history(self.state) is not None

    def _start_choice(self) -> str:
        remembered = self.start_choice()
        if remembered in (CONTINUE, RESTART):
            return remembered
        choice, remember = self.ask_start_trained()
        if remember and choice in (CONTINUE, RESTART):
            self.set_start_choice(choice)
        return choice

    def start_choice(self) -> str | None:
        """The remembered answer ("continue" / "restart"), or None: ask."""
        value = self.settings.value(START_CHOICE_KEY) if self.settings is not None else self._memory.get(START_CHOICE_KEY)
        return value if value in (CONTINUE, RESTART) else None

    def set_start_choice(self, choice: str | None) -> None:
        """Remember ``choice`` for Start on a trained network; None forgets it (ask again)."""
        if self.settings is not None:
            if choice is None:
                self.settings.remove(START_CHOICE_KEY)
            else:
                self.settings.setValue(START_CHOICE_KEY, choice)
            self.settings.sync()
        elif choice is None:
            self._memory.pop(START_CHOICE_KEY, None)
        else:
            self._memory[START_CHOICE_KEY] = choice
        self._show_start_choice()

    def _show_start_choice(self) -> None:
        choice = self.start_choice()
        self.remembered.setVisible(choice is not None)
        self.remembered_label.setText(
            "Start on a trained network continues training (remembered)." if choice == CONTINUE else
            "Start on a trained network starts over from random weights (remembered).")

    def ask_start_trained(self) -> tuple[str, bool]:
        """(choice, remember): "continue", "restart" or "cancel", and whether to remember it."""
        done = len(self.state.history.epochs)
        box = QMessageBox(QMessageBox.Icon.Question, "This network is trained",
                          f"This network was trained for {done} epoch(s). Continue training from its "
                          "weights, or start over from random weights (the trained weights are replaced "
                          "once the first new epoch ends)?", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("startTrainedDialog")
        go_on = box.addButton("Continue training", QMessageBox.ButtonRole.AcceptRole)
        over = box.addButton("Start over", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(go_on)
        remember = QCheckBox("Remember my choice")
        box.setCheckBox(remember)
        self.start_dialog = box   # tests find and answer it
        box.exec()
        self.start_dialog = None
        clicked = box.clickedButton()
        choice = CONTINUE if clicked is go_on else RESTART if clicked is over else CANCEL
        return choice, remember.isChecked()

    def _loaded_datasets(self) -> Any:
        """AppState's dataset when it is the chosen source (no second load), else None (G4)."""
        current = self.state.dataset
        train = current[0] if isinstance(current, tuple) else current
        return current if getattr(train, "source", None) == self.source() else None

    def step(self) -> None:
        if self.controller.running:
            self.controller.step()
        elif self.start(paused=True):
            self.controller.step()

    def add_epoch(self) -> None:
        """One more epoch: of the running/finished run, or of a reopened project's saved run."""
        try:
            if self.controller.trainer is None and self._can_continue_saved():
                self._continue_saved()
            else:
                self.controller.add_epoch()
        except TrainingSetupError as exc:
            self.show_error("Cannot add an epoch", in_app_terms(str(exc)))

    def _can_continue_saved(self) -> bool:
        return bool(self.state.weights) and runtools.saved_history(self.state) is not None

    def _continue_saved(self) -> None:
        # From the saved weights and optimizer state (same optimizer kind), with the form's settings.
        self.controller.start(runtools.with_epochs(self.config(), 1), continue_training=True,
                              datasets=self._loaded_datasets())

    def _lr_edited(self) -> None:
        if not self._showing:
            self.state.update_training_config(lr=self.lr.value())  # a running run follows (_on_config_changed)

    def _augment_toggled(self, on: bool) -> None:
        if not self._showing:
            self.state.update_training_config(augment=on)

    def _show_lr(self, lr: float) -> None:
        self.lr.blockSignals(True)
        self.lr.setValue(lr)
        self.lr.blockSignals(False)

    def _show_augment(self, on: bool) -> None:
        self.augment.blockSignals(True)
        self.augment.setChecked(on)
        self.augment.blockSignals(False)

    def _apply_fix(self, fix: Any) -> None:
        try:
            self.health.show_result(self.controller.apply_fix(fix))
        except Exception as exc:  # noqa: BLE001 - e.g. the document refusing an edit: say why
            self.show_error("The fix could not be applied", str(exc))

    # ---- controller events -----------------------------------------------------------------------
    def _on_running(self, running: bool) -> None:
        self.hint.setVisible(running)
        self.health.set_training(running)
        for w in (self.dataset, self.val_fraction, self.epochs, self.batch_size, self.optimizer,
                  self.schedule, self.weight_decay, self.seed, self.backend, self.workers):
            w.setEnabled(not running)  # fixed for a run; LR and augmentation stay live
        self._update_val_fraction()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running, paused = self.controller.running, self.controller.paused
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not paused)
        self.resume_button.setEnabled(running and paused)
        self.stop_button.setEnabled(running)
        self.step_button.setEnabled(not running or paused)
        self.epoch_button.setEnabled(running or self.controller.trainer is not None or self._can_continue_saved())

    def _on_paused(self, paused: bool) -> None:
        """A "Paused" label while paused, and the ETA held where it was (no time passes for it)."""
        self._update_buttons()
        self.paused_label.setVisible(paused and self.controller.running)
        if self._last_progress is not None and self.controller.running:
            self._show_progress_text(self._last_progress)

    def _on_progress(self, p: dict) -> None:
        self._last_progress = p
        spe = p.get("steps_per_epoch") or 1
        self.epoch_progress.setRange(0, spe)
        self.epoch_progress.setValue((p.get("step_in_epoch") or 0) + 1)
        self.run_progress.setRange(0, max(1, p["run_total"]))
        self.run_progress.setValue(min(p["run_done"], p["run_total"]))
        self._show_progress_text(p)

    def _show_progress_text(self, p: dict) -> None:
        eta = p.get("eta_seconds")
        paused = self.controller.paused
        # the ETA counts training time only: while paused it stands still, and says so
        eta_text = "" if eta is None else (f" · ETA {int(eta) // 60}:{int(eta) % 60:02d}"
                                           + (" once resumed" if paused else ""))
        loss = p.get("loss")
        loss_text = "" if loss is None else f" · loss {loss:.4g}"
        head = "Paused in epoch" if paused else "Epoch"
        self.speed_label.setText(f"{head} {(p.get('epoch') or 0) + 1} · "
                                 f"{p.get('images_per_sec') or 0:,.0f} images/s{eta_text}{loss_text}")

    def _on_epoch(self, record: dict) -> None:
        val = record.get("val_acc")
        val_text = "" if val is None else f", validation accuracy {val:.1%}"
        self.speed_label.setText(f"Epoch {record['epoch']} done: training loss {record['train_loss']:.4g}{val_text}")

    def _on_finished(self, reason: str) -> None:
        self.paused_label.setVisible(False)
        self._last_progress = None
        done = len(self.controller.history["epochs"])
        self.speed_label.setText({"completed": f"Finished: {done} epoch(s).",
                                  "stopped": f"Stopped: {done} completed epoch(s) kept.",
                                  "error": "Stopped by an error."}.get(reason, reason))
        self._update_buttons()

    def _on_project_changed(self) -> None:
        """A different project was opened: show its saved run again (or clear the plots)."""
        # the document too: File > New replaces it while path and project stay None
        key = (self.state.path, self.state.project, self.state.document)
        if self.controller.running or (self._shown_project is not None
                                       and all(a is b for a, b in zip(key, self._shown_project))):
            return
        other_document = self._shown_project is None or self._shown_project[2] is not key[2]
        self._shown_project = key
        self.controller.forget_run()
        if other_document:  # another project (not a save of this one): its warnings are not this one's
            self.health.clear()
        self._update_buttons()
        history = runtools.saved_history(self.state)
        if history is None:
            self.plots.clear()
            self.speed_label.setText("Not started.")
            self.epoch_progress.reset()
            self.run_progress.reset()
            return
        self.plots.load_history([e.to_dict() for e in history.epochs], [c.to_dict() for c in history.lr_changes],
                                history.batches.records())   # the per-batch curves it showed before saving
        self.speed_label.setText(self._trained_text(len(history.epochs)))

    def _trained_text(self, done: int) -> str:
        if self.is_trained():
            return (f"This project was trained for {done} epoch(s); Start asks whether to "
                    "continue training or start over.")
        # an edit since (say the last Dense set to the data's class count): the weights no longer fit
        return (f"This project was trained for {done} epoch(s), but the network has changed since: "
                "Start trains it from random weights.")

    def _on_network_changed(self, _spec: Any) -> None:
        """An edit or undo: the 'trained for N epochs' line says whether Start can still continue."""
        if self.controller.running or not self.speed_label.text().startswith("This project was trained"):
            return
        history = runtools.saved_history(self.state)
        if history is not None:
            self.speed_label.setText(self._trained_text(len(history.epochs)))

    def set_form(self, config: Any) -> None:
        """Make ``config`` the training settings (the form shows them)."""
        self.state.set_training_config(config)

    # ---- closing while training -------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Close and self.controller.running:
            if self.ask_stop_training() != "stop":
                event.ignore()
                return True
            self.controller.shutdown()  # completed epochs are already in the AppState
        return False

    def ask_stop_training(self) -> str:
        """"stop" or "cancel": the window is closing while training runs."""
        was_paused = self.controller.paused
        self.controller.pause()
        answer = QMessageBox.question(
            self, "Training is running",
            "Training is running. Stop it and close? The completed epochs are kept "
            "(you will be asked whether to save them); the current epoch is lost.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            return "stop"
        if not was_paused:  # Cancel goes back to how it was: a run the user had paused stays paused
            self.controller.resume()
        return "cancel"

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)
