"""``cnnstudio train`` ended by SIGTERM or SIGHUP (issue 14 case 11): one line saying what was
kept (the finished epochs, on disk), a non-zero exit (128 + the signal), no traceback.

The training runs in a subprocess; the test waits for its first epoch line, then signals it.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cnnstudio.project import load_project

ROOT = Path(__file__).resolve().parents[2]


def _train_until_first_epoch(out: Path) -> subprocess.Popen:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "cnnstudio", "train", "simple-cnn", "--epochs", "500",
                             "--limit", "64", "--out", str(out)], cwd=str(ROOT), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = threading.Event()

    def watch():
        for line in proc.stdout:
            if line.startswith("epoch 1/500"):
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    if not seen.wait(120):
        proc.kill()
        pytest.fail(f"no epoch finished: {proc.communicate(timeout=30)[1]}")
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_train_ended_by_a_signal_says_what_was_kept(tmp_path, sig):
    out = tmp_path / "run.cnnproj"
    proc = _train_until_first_epoch(out)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"train did not end on {sig.name}")
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    last = [ln.split("\r")[-1] for ln in err.splitlines() if ln.split("\r")[-1].strip()][-1]
    assert last.startswith(f"cnnstudio: received {sig.name}; saved ") and str(out) in last, err
    kept = int(last.split("saved ")[1].split(" ")[0])
    assert kept >= 1
    assert len(load_project(out).history["epochs"]) == kept  # what the line says is what is on disk


def test_a_signal_while_the_progress_bar_draws_still_ends_on_its_own_line(tmp_path, capsys, monkeypatch):
    """Seen under load: SIGHUP arrived inside tqdm's constructor (the bar drawn, not yet kept by the
    CLI), so nothing erased it and the message was glued to 'epoch 2/500:   0%|'. The signal now
    waits for the bar to be drawn and kept; the bar is erased before the line."""
    import tqdm as tqdm_module

    from clihelpers import run

    real = tqdm_module.tqdm
    sent = []

    class SignalledBar(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not sent:
                sent.append(True)
                os.kill(os.getpid(), signal.SIGTERM)   # delivered here, inside the bar's drawing

    monkeypatch.setattr(tqdm_module, "tqdm", SignalledBar)
    out = tmp_path / "run.cnnproj"
    code, _, err = run(capsys, "train", "simple-cnn", "--epochs", "3", "--limit", "64", "--out", out)
    assert sent and code == 128 + signal.SIGTERM
    last = [ln.split("\r")[-1] for ln in err.splitlines() if ln.split("\r")[-1].strip()][-1]
    assert last == "cnnstudio: received SIGTERM; no finished epoch to save", err
