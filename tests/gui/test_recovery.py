"""Crash recovery (issue 13): unsaved edits are kept in the recovery file as they are made, a killed
app's edits are offered back at the next start, a normal close removes the file, and the user's
own project file is never written by the autosave.

The crash is real: a subprocess runs the app's ``main()`` offscreen on a saved project, makes edits,
says when the autosave has written them (the keeper's ``written`` signal, so nothing sleeps) and
is SIGKILLed; a new window in this process then finds the file and restores from it. Settings and
the user data dir point into tmp_path (XDG_CONFIG_HOME, XDG_DATA_HOME).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cnnstudio.gui import recovery
from cnnstudio.model.commands import RenameNetwork, SetLayerConfig

ROOT = Path(__file__).resolve().parents[2]
EDITED_NAME = "edited-then-killed"

_APP = """
import sys
from PyQt6.QtCore import QTimer
from cnnstudio.gui import app as gui_app
from cnnstudio.model.commands import RenameNetwork, SetLayerConfig

qapp = gui_app.make_app()
mode = sys.argv[1]

def ready():
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    window = next(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow))
    def written(path):
        print("WRITTEN " + path, flush=True)
        if mode == "close":   # File > Quit, "Discard" at the unsaved-changes question
            window.ask_unsaved = lambda: DISCARD
            window.close()
    window.recovery.written.connect(written)
    window.state.document.execute(RenameNetwork(%(name)r))
    window.state.document.execute(SetLayerConfig(0, "filters", 12))
    print("EDITED", flush=True)

QTimer.singleShot(0, ready)
sys.exit(gui_app.main(sys.argv[2:]))
""" % {"name": EDITED_NAME}


def _env(tmp_path):
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
                XDG_CONFIG_HOME=str(tmp_path / "config"), OPENBLAS_NUM_THREADS="1")


def _recovery_file(tmp_path) -> Path:
    return tmp_path / "data" / "cnnstudio" / "recovery.json"


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    """This process's settings and user data dir in tmp_path too (the restoring side)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def project(tmp_path):
    """A saved lenet5 project; returns (path, its bytes, its mtime)."""
    from cnnstudio.project.workspace import Workspace

    path = tmp_path / "work" / "digits.cnnproj"
    path.parent.mkdir()
    Workspace("lenet5").save(path)
    return path, path.read_bytes(), path.stat().st_mtime_ns


def _run_until_written(tmp_path, mode, *args):
    proc = subprocess.Popen([sys.executable, "-c", _APP, mode, *args], cwd=str(ROOT), env=_env(tmp_path),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    got = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("WRITTEN"):
                got.set()
                return
        got.set()
    threading.Thread(target=read, daemon=True).start()
    if not got.wait(90) or not any(x.startswith("WRITTEN") for x in lines):
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the app did not write its recovery file: {lines}\n{err}")
    return proc, next(x for x in lines if x.startswith("WRITTEN"))[len("WRITTEN "):]


def _write_recovery_file(win, pid: int = 0) -> None:
    """The recovery file ``win``'s edits leave, as if written by process ``pid`` (0: one that has ended)."""
    doc = recovery.recovery_document(win.state, "autosave")
    doc["pid"] = pid
    recovery.write_document(doc, recovery.recovery_path())


def _window(qtbot, settings):
    from cnnstudio.gui.main_window import DISCARD, MainWindow
    from cnnstudio.gui.state import AppState

    win = MainWindow(AppState(), settings=settings)
    win.ask_unsaved = lambda: DISCARD
    win.show_error = lambda title, text: pytest.fail(f"unexpected error dialog {title!r}: {text}")
    qtbot.addWidget(win)
    return win


def test_edits_of_a_killed_app_are_offered_and_restored(qtbot, user_dirs, project, settings):
    path, saved_bytes, saved_mtime = project
    proc, written = _run_until_written(user_dirs, "kill", str(path))
    proc.send_signal(signal.SIGKILL)   # no handler runs: what is on disk is all there is
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    rec_file = _recovery_file(user_dirs)
    assert written == str(rec_file) and rec_file.exists()
    doc = json.loads(rec_file.read_text())   # plain JSON
    assert doc["format"] == "cnnstudio-recovery" and doc["reason"] == "autosave"
    assert doc["project_path"] == str(path) and doc["pid"] == proc.pid
    assert doc["edits"] == ["Rename network", "Change Conv2D filters"]
    # the autosave never touched the user's file
    assert path.read_bytes() == saved_bytes and path.stat().st_mtime_ns == saved_mtime

    win = _window(qtbot, settings)
    keeper = recovery.install(win)
    asked = []

    def ask(window, rec):
        asked.append(recovery.describe(rec))
        return True
    rec = recovery.offer(win, keeper, ask=ask)
    assert rec is not None and len(asked) == 1
    text = asked[0]
    assert "digits.cnnproj" in text and str(path) in text and rec.saved_at in text and "2 unsaved edit(s)" in text
    state = win.state
    assert state.path == str(path)                      # the edits belong to the user's project
    assert state.spec.name == EDITED_NAME and state.spec.layers[0].config["filters"] == 12
    assert state.is_dirty()                             # and come back unsaved
    assert path.read_bytes() == saved_bytes and path.stat().st_mtime_ns == saved_mtime
    assert state.document.undo_text == "Undo Restore unsaved edits"
    state.document.undo()                               # one step back: the file as saved
    assert state.spec.layers[0].config["filters"] == 6 and state.spec.name != EDITED_NAME
    # the keeper has the edits now (this process's pid), so a second crash keeps them too
    assert json.loads(rec_file.read_text())["pid"] == os.getpid()


def test_normal_close_removes_the_recovery_file(user_dirs, project):
    path, saved_bytes, saved_mtime = project
    proc, written = _run_until_written(user_dirs, "close", str(path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert not Path(written).exists()
    assert not [p.name for p in Path(written).parent.iterdir()]   # no temporary left either
    assert path.read_bytes() == saved_bytes and path.stat().st_mtime_ns == saved_mtime


def test_sigterm_keeps_the_autosaved_file_and_the_next_start_offers_it(qtbot, user_dirs, project, settings):
    """The signal path writes the same file (one mechanism): SIGTERM after the autosave."""
    path, saved_bytes, _ = project
    proc, written = _run_until_written(user_dirs, "kill", str(path))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    doc = json.loads(Path(written).read_text())
    assert doc["reason"] == "SIGTERM" and doc["network"]["name"] == EDITED_NAME
    win = _window(qtbot, settings)
    found = recovery.find_recoveries()
    assert [r.path for r in found] == [Path(written)]
    assert recovery.offer(win, recovery.install(win), ask=lambda w, r: False) is None   # Discard
    assert not Path(written).exists() and win.state.spec.name != EDITED_NAME
    assert path.read_bytes() == saved_bytes


# ---- in-process: the keeper ------------------------------------------------------------------------
def test_keeper_writes_after_edits_and_removes_the_file_when_saved(qtbot, user_dirs, project, settings):
    path, saved_bytes, saved_mtime = project
    win = _window(qtbot, settings)
    win.open_path(str(path))
    keeper = recovery.install(win)
    assert not keeper.path.exists()
    with qtbot.waitSignal(keeper.written, timeout=10_000):
        win.state.document.execute(RenameNetwork("one"))
        win.state.document.execute(RenameNetwork("two"))   # debounced: one write for both
    doc = json.loads(keeper.path.read_text())
    assert doc["network"]["name"] == "two" and doc["edits"] == ["Rename network", "Rename network"]
    assert path.read_bytes() == saved_bytes and path.stat().st_mtime_ns == saved_mtime
    with qtbot.waitSignal(keeper.removed, timeout=10_000):
        assert win.save()   # the user's own Save: now the edits are in their file
    assert not keeper.path.exists()
    assert path.read_bytes() != saved_bytes


def test_undoing_back_to_the_saved_network_removes_the_file(qtbot, user_dirs, settings):
    win = _window(qtbot, settings)
    keeper = recovery.install(win)
    with qtbot.waitSignal(keeper.written, timeout=10_000):
        win.state.document.execute(RenameNetwork("changed"))
    with qtbot.waitSignal(keeper.removed, timeout=10_000):
        win.state.document.undo()
    assert not keeper.path.exists()


def test_an_unsaved_new_project_restores_as_untitled(qtbot, user_dirs, settings):
    """Edits to a project never saved come back untitled: Save asks for a name."""
    win = _window(qtbot, settings)
    win.state.document.execute(RenameNetwork("never-saved"))
    _write_recovery_file(win)
    win2 = _window(qtbot, settings)
    rec = recovery.offer(win2, recovery.install(win2), ask=lambda w, r: True)
    assert rec is not None and rec.project_name == "never-saved"
    assert win2.state.path is None and win2.state.spec.name == "never-saved" and win2.state.is_dirty()


def test_the_question_names_an_edited_template_as_the_window_does(qtbot, user_dirs, settings):
    """A template edited away from itself is 'untitled' in the title bar, so in the question too."""
    from cnnstudio.model.commands import SetLayerConfig

    win = _window(qtbot, settings)
    spec = win.state.spec
    index = next(i for i, layer in enumerate(spec.layers) if layer.type == "Dense")
    win.state.document.execute(SetLayerConfig(index, "units", spec.layers[index].config["units"] + 1))
    _write_recovery_file(win)
    rec = recovery.find_recoveries()[0]
    assert rec.project_name == "untitled"
    rec.doc["network"] = {"bogus": True}   # a damaged file still gets a name
    assert rec.project_name == "untitled"


def test_a_running_windows_file_is_not_offered_and_a_second_window_keeps_its_own(qtbot, user_dirs, settings):
    win = _window(qtbot, settings)
    win.state.document.execute(RenameNetwork("other window"))
    _write_recovery_file(win, os.getppid())   # a live process: another CNN Studio still running
    assert recovery.find_recoveries() == []
    keeper = recovery.install(_window(qtbot, settings))
    assert keeper.path.name == f"recovery-{os.getpid()}.json"


def test_a_damaged_recovery_file_is_skipped(user_dirs):
    folder = recovery.recovery_dir()
    folder.mkdir(parents=True)
    (folder / "recovery.json").write_text("{not json")
    assert recovery.find_recoveries() == []


def test_the_dialog_names_the_project_and_its_buttons(qtbot, user_dirs, project, settings, monkeypatch):
    from PyQt6.QtWidgets import QMessageBox

    path, _, _ = project
    rec = recovery.Recovery(Path("recovery.json"), {
        "format": "cnnstudio-recovery", "saved_at": "2026-12-02T01:40:12+0000", "project_path": str(path),
        "network": {}, "edits": ["Add Conv2D"]})
    seen = {}

    def fake_exec(box):
        seen["text"] = box.text()
        seen["buttons"] = [b.text() for b in box.buttons()]
        box.buttons()[0].click()
        return 0
    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert recovery.ask_restore(None, rec) is True
    assert seen["buttons"] == ["Restore", "Discard"]
    assert "digits.cnnproj" in seen["text"] and "2026-12-02 01:40:12" in seen["text"]
    assert "1 unsaved edit(s): Add Conv2D" in seen["text"]


def test_unsaved_steps_list_what_changed_since_the_save():
    from cnnstudio.model.document import Document
    from cnnstudio.model.templates import get_template

    doc = Document(get_template("lenet5"))
    assert doc.unsaved_steps == []
    doc.execute(RenameNetwork("x"))
    doc.execute(SetLayerConfig(0, "filters", 12))
    assert doc.unsaved_steps == ["Rename network", "Change Conv2D filters"]
    doc.set_clean()
    assert doc.unsaved_steps == []
    doc.undo()
    doc.undo()   # back past the saved state
    assert doc.unsaved_steps == ["Undo Change Conv2D filters", "Undo Rename network"]


def test_unsaved_edits_offered_while_a_project_file_is_open_come_back_untitled(qtbot, user_dirs, project, settings):
    """QA of issue 13: `cnnstudio gui digits.cnnproj` after a crash of an unsaved new project offered its
    edits and Restore put that network over digits.cnnproj's (its weights and runs, Save would write it)."""
    path, saved_bytes, _ = project
    win = _window(qtbot, settings)
    win.state.document.execute(RenameNetwork("never-saved"))
    _write_recovery_file(win)
    win2 = _window(qtbot, settings)
    assert win2.open_path(str(path)) and win2.state.path == str(path)
    rec = recovery.offer(win2, recovery.install(win2), ask=lambda w, r: True)
    assert rec is not None and rec.project_path is None
    assert win2.state.path is None and win2.state.spec.name == "never-saved" and win2.state.is_dirty()
    assert path.read_bytes() == saved_bytes


def test_the_offer_waits_for_a_dialog_already_open(qtbot, user_dirs, settings):
    """QA of issue 13: opening a project whose folder had moved showed the locate dialog and the
    restore question at once, one over the other."""
    from PyQt6.QtWidgets import QDialog

    win = _window(qtbot, settings)
    win.state.document.execute(RenameNetwork("never-saved"))
    _write_recovery_file(win)
    win2 = _window(qtbot, settings)
    win2.show()
    locate = QDialog(win2)   # window-modal and open, as the locate dialog is
    locate.open()
    asked = []
    recovery.offer_when_free(win2, recovery.install(win2), ask=lambda w, r: asked.append(r) or False)
    assert asked == []
    locate.reject()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=5_000)
