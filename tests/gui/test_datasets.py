"""Dataset GUI: browser (class counts, sample grid, augmentation preview), image-folder import
(preview counts, corrupt file reported by name), download dialog against a local HTTP server
on 127.0.0.1 (progress, cancel, offline). Never the internet."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import Qt
from localhttp import serve

from cnnstudio.data import Dataset, registry
from cnnstudio.data.registry import RemoteFile, StandardDataset
from cnnstudio.gui.datasets import DatasetBrowser
from cnnstudio.gui.common.download_dialog import DownloadDialog
from cnnstudio.gui.datasets.import_dialog import ImportFolderDialog
from cnnstudio.gui.state import AppState


@pytest.fixture
def state(qapp):
    return AppState(template="lenet5")


def _dataset(counts, shape=(12, 10, 1), name="toy", seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    x = rng.integers(0, 256, (len(y),) + shape, dtype=np.uint8)
    return Dataset(name, x, y, [f"class {chr(97 + i)}" for i in range(len(counts))], source="memory")


@pytest.fixture
def browser(qtbot, state):
    b = DatasetBrowser(state)
    qtbot.addWidget(b)
    b.resize(560, 1100)
    b.show()
    return b


# ---- browser ------------------------------------------------------------------------------
def test_browser_shows_the_sample_counts_size_and_split(browser, state):
    train, val = state.dataset
    assert np.array_equal(browser.counts.train, np.bincount(train.y, minlength=10))
    assert np.array_equal(browser.counts.val, np.bincount(val.y, minlength=10))
    assert browser.counts.train.sum() == len(train) and browser.counts.val.sum() == len(val)
    text = browser.info.text()
    assert "28 x 28 x 1 (grayscale)" in text and f"{len(train):,} training / {len(val):,} validation" in text
    # one row of 8 samples per class, labelled with the class names
    assert browser.grid.row_labels == list(train.class_names)
    assert browser.grid.image.shape[:2] == (10 * 30 - 2, 8 * 30 - 2)


def test_browser_follows_the_current_dataset(browser, state):
    train, val = _dataset([5, 2, 7], (12, 10, 3)), _dataset([1, 0, 3], (12, 10, 3), seed=1)
    state.set_dataset((train, val))
    assert browser.counts.train.tolist() == [5, 2, 7] and browser.counts.val.tolist() == [1, 0, 3]
    assert "12 x 10 x 3 (colour)" in browser.info.text() and "3 classes" in browser.info.text()
    assert browser.grid.row_labels == ["class a", "class b", "class c"]
    # the class with 2 images shows exactly those 2 (the rest of its row is gap colour)
    row_b = browser.grid.image[14:26]
    assert np.array_equal(row_b[:, :10], train.x[5]) and np.array_equal(row_b[:, 12:22], train.x[6])
    assert np.all(row_b[:, 24:] == 96)


def test_augmentation_preview_reacts_and_rerolls(browser):
    for spin in browser.aug_spins.values():
        spin.setValue(0.0)
    src = browser.preview_sources()
    out = browser.augmented()
    assert np.array_equal(out[:len(src)], src), "with every setting at zero the preview shows the originals"
    browser.aug_spins["rotation"].setValue(30.0)
    first = browser.augmented()
    assert not np.array_equal(first[:len(src)], src)
    browser.reroll_button.click()
    assert not np.array_equal(browser.augmented(), first), "re-roll draws new transformations"
    assert browser.augmentation() == {"shift": 0.0, "rotation": 30.0, "scale": 0.0, "noise": 0.0, "flip": False}


def test_augmentation_edits_are_announced(browser, qtbot):
    with qtbot.waitSignal(browser.augmentationChanged) as blocker:
        browser.aug_spins["shift"].setValue(3.0)
    assert blocker.args[0]["shift"] == 3.0
    with qtbot.waitSignal(browser.useAugmentationChanged) as blocker:
        browser.use_for_training.setChecked(True)
    assert blocker.args == [True]


# ---- import dialog ------------------------------------------------------------------------
def _image_folder(root, corrupt=True):
    rng = np.random.default_rng(0)
    layout = {"cat": 3, "dog": 2, "owl": 1}
    for cls, n in layout.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            arr = rng.integers(0, 256, (20, 16, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.{'bmp' if cls == 'owl' else 'png'}")
    if corrupt:
        (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
        (root / "owl" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def import_dialog(qtbot, state):
    d = ImportFolderDialog(state)
    qtbot.addWidget(d)
    return d


def test_import_previews_names_and_counts(import_dialog, tmp_path):
    assert import_dialog.set_folder(str(_image_folder(tmp_path / "pets")))
    table = import_dialog.table
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("cat", "3"), ("dog", "3"), ("owl", "1")]  # broken.png is an image by name
    assert "3 classes, 7 image files" in import_dialog.summary.text()
    assert import_dialog.import_button.isEnabled()


def test_import_reports_the_corrupt_file_and_sets_the_dataset(qtbot, import_dialog, state, tmp_path):
    before = state.dataset
    import_dialog.set_folder(str(_image_folder(tmp_path / "pets")))
    import_dialog.height_spin.setValue(24)
    import_dialog.width_spin.setValue(24)
    import_dialog.channels.setCurrentIndex(1)  # colour
    with qtbot.waitSignal(state.datasetChanged, timeout=20_000):
        qtbot.mouseClick(import_dialog.import_button, Qt.MouseButton.LeftButton)
    train, val = state.dataset
    assert state.dataset is not before and import_dialog.imported == (train, val)
    assert len(train) + len(val) == 6 and train.class_names == ["cat", "dog", "owl"]
    assert train.image_shape == (24, 24, 3)
    items = [import_dialog.skipped.item(i).text() for i in range(import_dialog.skipped.count())]
    assert any(t.startswith("broken.png") for t in items) and any(t.startswith("notes.txt") for t in items)
    assert "2 file(s) could not be read" in import_dialog.message.text()
    qtbot.waitUntil(lambda: import_dialog._thread is None)
    # usable for training: the session fits it to a 3-channel network without complaint
    from cnnstudio.model import SetInput
    from cnnstudio.project.session import prepare_data
    state.document.execute(SetInput(24, 24, 3))
    fit_train, fit_val = prepare_data(state.dataset, state.spec)
    assert fit_train.image_shape == (24, 24, 3) and len(fit_val) == len(val)


def test_import_of_a_folder_without_classes_is_explained(import_dialog, state, tmp_path):
    before = state.dataset
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "flat" / "a.png")
    assert not import_dialog.set_folder(str(tmp_path / "flat"))
    assert "no class sub-folders" in import_dialog.summary.text() and "flat" in import_dialog.summary.text()
    assert not import_dialog.import_button.isEnabled()
    assert state.dataset is before


# ---- download dialog ----------------------------------------------------------------------
@pytest.fixture
def server():
    with serve() as srv:
        srv.base += "/"
        yield srv


def _idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


def _fixture_mnist(monkeypatch, tmp_path, base, n_train=200):
    """A tiny 'mnist' in the registry, served from ``base``; returns (train x, files dict)."""
    monkeypatch.setenv("CNNSTUDIO_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), (np.arange(n_train) % 10).astype(np.uint8)
    tx, ty = x[:20], y[:20]
    names = ["tr-img.gz", "tr-lbl.gz", "te-img.gz", "te-lbl.gz"]
    blobs = [gzip.compress(_idx(a), compresslevel=1) for a in (x, y, tx, ty)]
    files = tuple(RemoteFile(n, "md5:" + hashlib.md5(b).hexdigest(), (base,)) for n, b in zip(names, blobs))
    monkeypatch.setitem(registry.DATASETS, "mnist", StandardDataset("mnist", "MNIST", "idx", files,
                                                                    tuple("0123456789"), "", ""))
    return x, dict(zip(names, blobs))


@pytest.fixture
def download_dialog(qtbot, state):
    def make():
        d = DownloadDialog(state, key="mnist")
        qtbot.addWidget(d)
        return d
    return make


def test_download_shows_progress_and_sets_the_dataset(qtbot, server, monkeypatch, tmp_path, state, download_dialog):
    x, files = _fixture_mnist(monkeypatch, tmp_path, server.base)
    server.files.update(files)
    dialog = download_dialog()
    assert dialog.get_button.text() == "Download"
    with qtbot.waitSignal(state.datasetChanged, timeout=20_000):
        qtbot.mouseClick(dialog.get_button, Qt.MouseButton.LeftButton)
    train, val = state.dataset
    assert np.array_equal(train.x[..., 0], x) and len(val) == 20
    done, total, rate, _eta = dialog.last_progress
    assert done == total > 0 and rate > 0
    assert "MB" in dialog.progress_label.text() and "MB/s" in dialog.progress_label.text()
    assert dialog.progress_label.text().startswith("File 4 of 4: ")
    assert "now the current dataset" in dialog.message.text()
    qtbot.waitUntil(lambda: dialog.get_button.isEnabled())
    assert dialog.get_button.text() == "Load"  # cached now


def test_cancel_stops_the_download_and_keeps_the_dataset(qtbot, server, monkeypatch, tmp_path, state, download_dialog):
    _, files = _fixture_mnist(monkeypatch, tmp_path, server.base, n_train=600)  # ~470 KB, sent slowly
    server.files.update(files)
    server.delay = 0.02
    before = state.dataset
    dialog = download_dialog()
    qtbot.mouseClick(dialog.get_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_progress is not None, timeout=10_000)
    assert dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text(), timeout=10_000)
    qtbot.waitUntil(lambda: dialog.get_button.isEnabled(), timeout=10_000)
    assert state.dataset is before and dialog.loaded is None
    assert "unchanged" in dialog.message.text()
    assert not (tmp_path / "cache" / "datasets" / "mnist" / "tr-img.gz").exists()


def test_offline_shows_the_data_layer_message(qtbot, monkeypatch, tmp_path, state, download_dialog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _fixture_mnist(monkeypatch, tmp_path, f"http://127.0.0.1:{port}/")
    before, spec, dirty = state.dataset, state.spec, state.is_dirty()
    dialog = download_dialog()
    qtbot.mouseClick(dialog.get_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not reach the server" in dialog.message.text(), timeout=15_000)
    # the data layer's advice names the CLI flag; the dialog names the app's button instead
    assert "Bundled sample" in dialog.message.text() and "--data" not in dialog.message.text()
    qtbot.waitUntil(lambda: dialog.get_button.isEnabled())
    assert state.dataset is before and dialog.loaded is None
    assert state.spec == spec and state.is_dirty() == dirty, "the open project is untouched"


def test_window_has_the_browser(window):
    assert isinstance(window.panel("datasetDock"), DatasetBrowser)


def test_window_links_dataset_and_augmentation_to_training(window, tmp_path, qtbot, monkeypatch):
    browser, training = window.panel("datasetDock"), window.training_panel
    dialog = ImportFolderDialog(window.state)
    qtbot.addWidget(dialog)
    dialog.set_folder(str(_image_folder(tmp_path / "pets", corrupt=False)))
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20_000):
        dialog.start_import()
    assert training.dataset.currentData() == "<current>"
    assert training.config().dataset == str(tmp_path / "pets")
    started = {}
    monkeypatch.setattr(training.controller, "start", lambda config, **kw: started.update(kw, config=config))
    training.start()
    assert started["datasets"] is window.state.dataset
    # augmentation: the browser's settings are the config's, the check boxes move together
    browser.aug_spins["rotation"].setValue(25.0)
    browser.use_for_training.setChecked(True)
    assert training.augment.isChecked()
    config = training.config()
    assert config.augment and config.rotation == 25.0 and config.shift == browser.augmentation()["shift"]
    training.augment.setChecked(False)
    assert not browser.use_for_training.isChecked()
    qtbot.waitUntil(lambda: dialog._thread is None)


def _pick(training, key):
    index = training.dataset.findData(key)
    training.dataset.setCurrentIndex(index)
    training._dataset_chosen(index)  # what the combo box's activated signal calls


def test_picking_a_standard_dataset_for_training_downloads_it_with_the_dialog(window, server, monkeypatch,
                                                                              tmp_path, qtbot):
    _, files = _fixture_mnist(monkeypatch, tmp_path, server.base)
    server.files.update(files)
    monkeypatch.setattr(DownloadDialog, "exec",
                        lambda self: qtbot.waitUntil(lambda: self.loaded is not None, timeout=20_000) or 1)
    training = window.training_panel
    _pick(training, "mnist")
    assert registry.is_downloaded("mnist")
    assert training.dataset.currentData() == "mnist" and training.config().dataset == "mnist"
    assert window.state.dataset[0].source == "mnist"


def test_picking_a_standard_dataset_offline_falls_back_to_the_sample(window, monkeypatch, tmp_path, qtbot):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _fixture_mnist(monkeypatch, tmp_path, f"http://127.0.0.1:{port}/")
    shown = []

    def exec_(self):
        qtbot.waitUntil(lambda: "could not reach" in self.message.text(), timeout=15_000)
        qtbot.waitUntil(lambda: self._thread is None)
        shown.append(self.message.text())
        return 0

    monkeypatch.setattr(DownloadDialog, "exec", exec_)
    before = window.state.dataset
    _pick(window.training_panel, "mnist")
    assert shown and window.training_panel.dataset.currentData() == "sample"
    assert window.state.dataset is before


def test_stop_during_import_keeps_the_dataset(qtbot, import_dialog, state, tmp_path, monkeypatch):
    from cnnstudio.gui.datasets import import_dialog as module

    real = module.read_image_folder
    reached, go = threading.Event(), threading.Event()

    def held(*args, progress=None, **kw):  # hold the worker at its first file until Stop is pressed
        def progress_then_wait(done, total):
            reached.set()
            go.wait(10)
            progress(done, total)
        return real(*args, progress=progress_then_wait, **kw)

    monkeypatch.setattr(module, "read_image_folder", held)
    before = state.dataset
    import_dialog.set_folder(str(_image_folder(tmp_path / "pets")))
    import_dialog.start_import()
    qtbot.waitUntil(reached.is_set, timeout=10_000)
    assert import_dialog.close_button.text() == "Stop"
    qtbot.mouseClick(import_dialog.close_button, Qt.MouseButton.LeftButton)
    go.set()
    qtbot.waitUntil(lambda: import_dialog._thread is None, timeout=10_000)
    assert "Stopped: import cancelled" in import_dialog.message.text()
    assert state.dataset is before and import_dialog.imported is None
    assert import_dialog.import_button.isEnabled() and import_dialog.close_button.text() == "Cancel"


def test_big_images_are_shown_as_thumbnails(browser, state):
    state.set_dataset((_dataset([3, 2], (200, 100, 3)), _dataset([1, 1], (200, 100, 3))))
    assert browser.grid.image.shape == (2 * 66 - 2, 3 * 34 - 2, 3)  # 64 x 32 tiles, 2 px gaps
    assert "200 x 100 x 3 (colour)" in browser.info.text()


def test_my_drawings_become_the_dataset(browser, state):
    from cnnstudio.data import UserDataset

    errors = []
    browser.show_error = lambda title, msg: errors.append(msg)
    browser.drawings_button.click()
    assert errors and "Draw panel" in errors[0]
    drawings = UserDataset()
    for i in range(10):
        drawings.add(np.full((28, 28, 1), 20 * i, np.uint8), i % 5)
    state.set_user_dataset(drawings)
    browser.drawings_button.click()
    train, val = state.dataset
    assert len(train) + len(val) == 10 and browser.counts.train.sum() + browser.counts.val.sum() == 10


def test_starting_training_makes_its_data_the_current_dataset(window):
    """The Dataset, Evaluation and Feature maps panels follow what training uses."""
    training = window.training_panel
    window.state.set_dataset((_dataset([5, 2, 7], (28, 28, 1)), _dataset([1, 1, 1], (28, 28, 1))))
    assert training.dataset.currentData() == "<current>"
    _pick(training, "sample")
    assert training.start(paused=True)
    try:
        train, val = window.state.dataset
        assert train.source == "sample" and (len(train), len(val)) == (4500, 500)
        assert window.panel("datasetDock").counts.train.sum() == 4500
    finally:
        training.controller.shutdown()


def test_running_jobs_are_stopped_when_the_app_quits(qtbot, qapp):
    from cnnstudio.gui.common import tasks

    seen = []

    def job(report, cancel):
        cancel.wait()  # a long job that ends only when cancelled
        return "stopped"

    thread = tasks.TaskThread(job)
    thread.cancelled.connect(seen.append)
    thread.launch()
    # quitting calls wait_all (a QThread destroyed while running aborts); not emitted here, as
    # other handlers of the shared application's aboutToQuit must not run in a test
    assert qapp.receivers(qapp.aboutToQuit) >= 1
    tasks.wait_all()
    assert thread.isFinished()
    qtbot.waitUntil(lambda: seen == ["cancelled"] and thread not in tasks._ALIVE)
