"""Training over worker processes on shared memory (engine.procpool): bit-identical to the same
split on engine threads in one process, workers that die are reported, workers never outlive
their parent (SIGKILL included), and nothing is left in /dev/shm."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cnnstudio.engine import fused, kernels
from cnnstudio.engine.layers import BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import SGD
from cnnstudio.engine.procpool import WorkerError

pytestmark = pytest.mark.skipif(not Path("/dev/shm").is_dir() or sys.platform != "linux",
                                reason="checks /dev/shm and Linux process behaviour")

SHAPE = (1, 12, 12)


def layers(batchnorm=False):
    out = [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2)]
    if batchnorm:
        out.append(BatchNorm())
    return out + [Conv2D(6, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(12), ReLU(), Dropout(0.3), Dense(3),
                  Softmax()]


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, 3, n)


def shm_entries():
    return {p.name for p in Path("/dev/shm").iterdir()}


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie child of this process counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("numba", [False, pytest.param(True, marks=pytest.mark.skipif(
    not fused.HAVE_NUMBA, reason="numba not installed (the fast extra)"))])
def test_processes_are_bit_identical_to_the_same_split_on_threads(numba):
    before = shm_entries()
    x, y = data()
    with fused.use_numba(numba):
        ref = Network(layers(), SHAPE, seed=5)
        opt_ref = SGD(momentum=0.9)
        with kernels.engine_threads(3):
            want = [ref.train_step(x[:n], y[:n], opt_ref, 0.05) for n in (24, 24, 17)]
        net = Network(layers(), SHAPE, seed=5)
        opt = SGD(momentum=0.9)
        net.set_worker_processes(3)
        try:
            got = [net.train_step(x[:n], y[:n], opt, 0.05) for n in (24, 24, 17)]   # a short last batch too
            assert net.__dict__["_procpool"].workers == 3
        finally:
            net.close_workers()
    assert got == want
    for key, value in ref.get_weights().items():
        np.testing.assert_array_equal(net.get_weights()[key], value, err_msg=key)
    assert shm_entries() - before == set()


def test_batchnorm_networks_keep_the_layer_split():
    net = Network(layers(batchnorm=True), SHAPE, seed=1)
    net.set_worker_processes(2)
    x, y = data(16)
    loss, _ = net.train_step(x, y, SGD(), 0.05)
    assert np.isfinite(loss)
    assert "_procpool" not in net.__dict__


def test_a_worker_that_dies_is_reported_and_the_pool_stops():
    before = shm_entries()
    net = Network(layers(), SHAPE, seed=2)
    net.set_worker_processes(2)
    x, y = data(16)
    opt = SGD()
    net.train_step(x, y, opt, 0.05)
    pool = net.__dict__["_procpool"]
    worker = pool._procs[0]
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=10)
    with pytest.raises(WorkerError, match=r"training worker 1 \(pid \d+\) died \(exit code -9\)"):
        net.train_step(x, y, opt, 0.05)
    assert pool.closed
    assert shm_entries() - before == set()
    # the next step starts a fresh pool
    assert np.isfinite(net.train_step(x, y, opt, 0.05)[0])
    net.close_workers()


PARENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from cnnstudio.engine.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
    from cnnstudio.engine.network import Network
    from cnnstudio.engine.optimizers import SGD
    net = Network([Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()], (1, 10, 10), seed=0)
    net.set_worker_processes(3)
    rng = np.random.default_rng(0)
    net.train_step(rng.random((24, 1, 10, 10), dtype=np.float32), rng.integers(0, 3, 24), SGD(), 0.1)
    pool = net.__dict__["_procpool"]
    print(" ".join(str(p.pid) for p in pool._procs), flush=True)
    time.sleep(120)
""")


def test_workers_exit_when_the_parent_is_killed():
    before = shm_entries()
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env,
                              cwd=root)
    try:
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, line
        assert all(pid_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_until(lambda: not any(pid_alive(pid) for pid in pids)), "workers outlived the killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
    assert wait_until(lambda: shm_entries() - before == set(), timeout=10)


def test_trainer_with_processes_trains_like_the_trainer_with_threads():
    from cnnstudio.engine.trainer import Trainer

    x, y = data(40, seed=3)
    results = []
    for processes in (False, True):
        net = Network(layers(), SHAPE, seed=4)
        trainer = Trainer(net, SGD(momentum=0.9), x, y, batch_size=20, epochs=2, lr=0.05, threads=2,
                          processes=processes)
        try:
            reports = [r.train_loss for r in trainer.run() if hasattr(r, "train_loss")]
            assert ("_procpool" in net.__dict__) == processes
        finally:
            net.close_workers()
        results.append((reports, net.get_weights()))
    assert results[0][0] == results[1][0] and len(results[0][0]) == 2
    for key, value in results[0][1].items():
        np.testing.assert_array_equal(results[1][1][key], value, err_msg=key)


def no_dropout():
    return [layer for layer in layers() if not isinstance(layer, Dropout)]   # no draws to keep in step


def test_an_error_in_a_step_is_raised_as_is_and_the_pool_goes_on():
    net = Network(no_dropout(), SHAPE, seed=6)
    net.set_worker_processes(2)
    x, y = data(16)
    opt = SGD()
    try:
        net.train_step(x, y, opt, 0.05)
        bad = y.copy()
        bad[0] = 7   # the parent's range: the usual error
        with pytest.raises(ValueError, match="class 7 is outside 0..2"):
            net.train_step(x, bad, opt, 0.05)
        # no stale answer is left in the pipes: the next steps match a threaded twin
        twin = Network(no_dropout(), SHAPE, seed=6)
        twin.set_weights(net.get_weights())
        twin_opt = SGD()
        with kernels.engine_threads(2):
            want = twin.train_step(x, y, twin_opt, 0.05)
        assert net.train_step(x, y, SGD(), 0.05) == want
    finally:
        net.close_workers()
