"""The app's training process (project.trainproc / trainchild) and its message codec (project.wire).

Real child processes on a tiny network (simple-cnn, 64 training images): each test takes a
few seconds, most of it the child's interpreter starting. Waits are on conditions with
timeouts, never fixed sleeps.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from cnnstudio.project import wire

TIMEOUT_S = 120.0   # generous for a shared 2-core machine; never a speed assertion


def shm_segments() -> set[str]:
    return set(glob.glob("/dev/shm/psm_*"))


def wait_for(condition, timeout=TIMEOUT_S, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)   # polling interval of a wait with a timeout, not a fixed wait


def gone(pid: int) -> bool:
    """True when ``pid`` has exited (no such process, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# ---- the codec ---------------------------------------------------------------------------------
def test_codec_round_trips_json_and_arrays_bit_for_bit():
    w = {"conv/W": np.random.default_rng(0).standard_normal((3, 1, 2, 2)).astype(np.float32),
         "steps": np.array(7, dtype=np.int64), "empty": np.zeros((0, 4), np.float64)}
    msg = wire.decode(wire.encode("epoch", {"loss": float("nan"), "names": ["a", "b"], "n": 3, "none": None},
                                  {"weights": w}))
    assert msg.kind == "epoch" and msg.data["names"] == ["a", "b"] and msg.data["loss"] != msg.data["loss"]
    got = msg.arrays["weights"]
    assert set(got) == set(w)
    for k in w:
        assert got[k].dtype == w[k].dtype and got[k].shape == w[k].shape and np.array_equal(got[k], w[k])
    copied = wire.copies(got)
    copied["conv/W"][0] = 1.0   # copies are writable and do not touch the message


class Anything:
    pass


@pytest.mark.parametrize("data", [Anything(), {"x": Anything()}, {"x": np.int64(3)}, {"x": (1, 2)},
                                  {1: "int key"}, {"x": {1, 2}}, {"f": lambda: 0}, b"bytes"])
def test_codec_refuses_anything_that_is_not_plain_json(data):
    with pytest.raises(wire.WireError):
        wire.encode("x", data)


@pytest.mark.parametrize("arrays", [{"w": {"a": np.array([Anything()], dtype=object)}},
                                    {"w": {"a": "text"}}, {"w": {"a": [1.0, 2.0]}}, {"w": {1: np.zeros(2)}}])
def test_codec_refuses_arrays_that_are_not_numeric_numpy(arrays):
    with pytest.raises(wire.WireError):
        wire.encode("x", None, arrays)


def test_codec_refuses_malformed_bytes_and_never_unpickles():
    import pickle

    with pytest.raises(wire.WireError, match="magic"):
        wire.decode(pickle.dumps({"kind": "epoch"}))
    good = wire.encode("w", None, {"g": {"a": np.arange(4, dtype=np.float32)}})
    with pytest.raises(wire.WireError):
        wire.decode(good[:-4])   # an array running past the message
    with pytest.raises(wire.WireError):
        wire.decode(good.replace(b"<f4", b"|O8"))   # an object dtype smuggled into the header


# ---- the process -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    from cnnstudio.data import sample_split
    from cnnstudio.model import TrainingConfig, get_template
    from cnnstudio.project import session

    spec = get_template("simple-cnn")
    train, val = sample_split()
    train, val = session.prepare_data((train.subset(np.arange(64)), val.subset(np.arange(32))), spec)
    return spec, train, val, TrainingConfig(epochs=2, batch_size=16, schedule="constant")


def collect(process, until="finished"):
    got = []
    while True:
        msg = process.receive()
        if msg is None:
            return got, None
        got.append(msg)
        if msg.kind == until:
            return got, msg


def test_process_trains_to_the_end_and_leaves_nothing_behind(tiny):
    from cnnstudio.project.trainproc import TrainingProcess

    spec, train, val, config = tiny
    before = shm_segments()
    p = TrainingProcess(spec, config, train, val, workers=2, preview_interval_s=None)
    try:
        assert p.send("continue", {"paused": False})
        got, end = collect(p)
        assert end is not None and end.data["reason"] == "completed"
        kinds = [m.kind for m in got]
        assert kinds[0] == "ready" and got[0].data["workers"] == 2 and got[0].data["processes"]
        epochs = [m for m in got if m.kind == "epoch"]
        assert [m.data["record"]["epoch"] for m in epochs] == [1, 2]
        steps = [r for m in got if m.kind == "steps" for r in m.data["records"]]
        assert [r["global_step"] for r in steps] == list(range(8))
        w = epochs[-1].arrays["weights"]
        assert w and all(np.isfinite(a).all() for a in w.values())
        assert int(epochs[-1].arrays["optimizer_state"]["steps"]) == 8
        assert not (shm_segments() - before)   # unlinked once the child mapped it
    finally:
        p.close()
    assert p.proc.returncode == 0
    wait_for(lambda: not (shm_segments() - before), 10, "the engine workers' segment to go")


def test_a_failing_run_reports_its_error_and_the_process_waits_for_more(tiny):
    from cnnstudio.project.trainproc import TrainingProcess

    spec, train, val, config = tiny
    p = TrainingProcess(spec, config, train, val, workers=1, preview_interval_s=None)
    try:
        p.send("continue", {"paused": True})
        got, paused = collect(p, until="paused")
        assert paused is not None and paused.data["paused"]
        p.send("set_lr", {"lr": float("nan")})   # the trainer refuses a NaN rate: an error, reported
        p.send("resume")
        got, end = collect(p)
        failed = [m for m in got if m.kind == "failed"]
        assert end.data["reason"] == "error" and failed and "ValueError" in failed[0].data["message"]
        assert p.alive
    finally:
        p.close()


def children_of(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


def test_a_killed_child_reads_as_eof_says_how_it_ended_and_its_workers_go(tiny):
    from cnnstudio.project.trainproc import TrainingProcess

    spec, train, val, config = tiny
    before = shm_segments()
    p = TrainingProcess(spec, config, train, val, workers=2, preview_interval_s=None)
    try:
        p.send("continue", {"paused": True})
        collect(p, until="paused")
        p.send("step", {"n": 3})   # a few batches start the engine's worker processes (not the first: it takes statistics)
        _, woke = collect(p, until="paused")
        assert woke is not None and not woke.data["paused"]
        _, paused = collect(p, until="paused")
        assert paused is not None and paused.data["paused"]
        engine_workers = children_of(p.pid)   # the engine's worker processes (and their resource tracker)
        assert engine_workers
        os.kill(p.pid, signal.SIGKILL)
        got, end = collect(p)
        assert end is None and p.ended
        assert "SIGKILL" in p.exit_description()
        assert not p.send("resume")   # the socket is closed for good
        wait_for(lambda: all(gone(w) for w in engine_workers), what="the engine workers to exit")
    finally:
        p.close()
    wait_for(lambda: not (shm_segments() - before), 30, "no shared-memory segment left in /dev/shm")


PARENT = textwrap.dedent("""
    import sys, numpy as np
    from cnnstudio.data import sample_split
    from cnnstudio.model import TrainingConfig, get_template
    from cnnstudio.project import session
    from cnnstudio.project.trainproc import TrainingProcess
    spec = get_template("simple-cnn")
    train, val = sample_split()
    train, val = session.prepare_data((train.subset(np.arange(64)), val.subset(np.arange(32))), spec)
    p = TrainingProcess(spec, TrainingConfig(epochs=10000, batch_size=16), train, val, workers=int(sys.argv[1]))
    p.send("continue", {"paused": False})
    while True:
        msg = p.receive()
        if msg is not None and msg.kind == "steps":
            print(p.pid, flush=True)
            break
    while p.receive() is not None:   # keep reading (the child must not block on a full socket)
        pass
""")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_child_exits_when_its_parent_is_killed(workers):
    before = shm_segments()
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(workers)], stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), "the parent did not report its training child"
        child = int(line)
        assert not gone(child)
        parent.kill()   # SIGKILL: no cleanup runs in the parent
        parent.wait(TIMEOUT_S)
        wait_for(lambda: gone(child), what=f"training child {child} to exit after its parent was killed")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    wait_for(lambda: not (shm_segments() - before), 30, "no shared-memory segment left in /dev/shm")
