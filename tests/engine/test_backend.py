import numpy as np
import pytest

from cnnstudio.engine import backend
from cnnstudio.engine.backend import BackendUnavailableError, cupy_status, get_backend, to_host


def test_numpy_backend():
    b = get_backend("numpy")
    assert b.name == "numpy" and b.xp is np
    a = np.arange(3)
    assert to_host(a) is a


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        get_backend("torch")


def test_cupy_missing_means_cpu_only(monkeypatch):
    def fail():
        raise ImportError("No module named 'cupy'")

    monkeypatch.setattr(backend, "_import_cupy", fail)
    ok, reason = cupy_status()
    assert not ok and "No module named 'cupy'" in reason and "CPU" in reason
    with pytest.raises(BackendUnavailableError, match="No module named 'cupy'"):
        get_backend("cupy")


class _RuntimeFails:
    """Like cupy on a machine without a driver: import works, the first CUDA call raises."""

    class cuda:  # noqa: N801
        class runtime:  # noqa: N801
            @staticmethod
            def getDeviceCount():  # noqa: N802
                raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")


def test_cupy_import_ok_but_cuda_call_fails(monkeypatch):
    monkeypatch.setattr(backend, "_import_cupy", lambda: _RuntimeFails)
    ok, reason = cupy_status()
    assert not ok and "InsufficientDriver" in reason
    with pytest.raises(BackendUnavailableError, match="insufficient"):
        get_backend("cupy")


def test_real_status_never_raises():
    ok, reason = cupy_status()
    assert isinstance(ok, bool) and reason


@pytest.mark.skipif(not cupy_status()[0], reason="needs a working CuPy + CUDA device")
def test_cupy_network_matches_numpy():
    from cnnstudio.engine.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
    from cnnstudio.engine.network import Network
    from cnnstudio.engine.optimizers import Adam

    def net(xp):
        return Network([Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()], (1, 6, 6), xp=xp)

    cpu, gpu = net(np), net(get_backend("cupy").xp)
    x = np.random.default_rng(0).random((5, 1, 6, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    for _ in range(3):
        lc, _ = cpu.train_step(x, y, Adam(), 0.01)
        lg, _ = gpu.train_step(x, y, Adam(), 0.01)
        assert lg == pytest.approx(lc, rel=1e-4)
    for k, v in cpu.get_weights().items():
        np.testing.assert_allclose(gpu.get_weights()[k], v, rtol=1e-3, atol=1e-5)
    assert all(isinstance(a, np.ndarray) for a in gpu.forward_activations(x))
