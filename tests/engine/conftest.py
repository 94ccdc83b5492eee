import pytest


@pytest.fixture(params=[1, 2], ids=["threads1", "threads2"])
def serial_and_two_engine_threads(request, monkeypatch):
    """Run the test serially and on two engine threads; element-wise layers split even tiny
    inputs so the parallel path is the one checked. Used by the gradient and contract checks."""
    from cnnstudio.engine import kernels

    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1)
    with kernels.compute_threads(request.param):
        yield request.param
