"""Signals to the app (issue 14 case 11), offscreen in a subprocess running the real ``main()``.

Ctrl+C quits like File > Quit (no KeyboardInterrupt traceback, no "save?" dialog nobody at the
terminal could answer); SIGTERM and SIGHUP keep unsaved edits in the recovery file. Each test
waits for the app's ready line and for its exit, with timeouts; nothing sleeps.
"""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_APP = """
import sys
from PyQt6.QtCore import QTimer
from cnnstudio.gui import app as gui_app
from cnnstudio.model.commands import RenameNetwork

qapp = gui_app.make_app()

def ready():
    from cnnstudio.gui.main_window import MainWindow
    window = next(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow))
    if sys.argv[1] == "edit":
        window.state.document.execute(RenameNetwork("edited-before-the-signal"))
    print("READY", flush=True)

QTimer.singleShot(0, ready)
sys.exit(gui_app.main([]))
"""


def _start(tmp_path, mode):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", _APP, mode], cwd=str(ROOT), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = {}
    reader = threading.Thread(target=lambda: line.setdefault("v", proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(60)
    if line.get("v", "").strip() != "READY":
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the app did not get ready: {line.get('v')!r}\n{err}")
    return proc


def _end(proc, sig):
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"the app did not quit on {sig.name}:\n{err}")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    return proc.returncode, err


def _recovery(tmp_path) -> Path:
    return tmp_path / "data" / "cnnstudio" / "recovery.json"


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_keeps_unsaved_edits_in_the_recovery_file_and_quits(tmp_path, sig, code):
    proc = _start(tmp_path, "edit")
    rc, err = _end(proc, sig)
    assert rc == code, err
    rec = _recovery(tmp_path)
    assert f"unsaved edits kept in {rec}" in err, err
    doc = json.loads(rec.read_text())
    assert doc["format"] == "cnnstudio-recovery" and doc["reason"] == sig.name
    assert doc["network"]["name"] == "edited-before-the-signal"
    from cnnstudio.model.spec import NetworkSpec
    assert NetworkSpec.from_json(json.dumps(doc["network"])).name == "edited-before-the-signal"  # a model
    assert [p.name for p in rec.parent.iterdir()] == ["recovery.json"]  # no temporary left


def test_sighup_without_edits_quits_and_writes_nothing(tmp_path):
    proc = _start(tmp_path, "clean")
    rc, err = _end(proc, signal.SIGHUP)
    assert rc == 129 and "nothing unsaved" in err, err
    assert not _recovery(tmp_path).exists()
