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
