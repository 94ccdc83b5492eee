"""Finite-difference (central, float64) gradient checks for every layer and op.

Each check compares the analytic gradients of L = sum(forward(x) * dy) with
respect to the input and every parameter against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, LeakyReLU,
                                     MaxPool2D, ReLU, Sigmoid, Softmax, SumPool2D, Tanh)

TOL = 1e-7


pytestmark = pytest.mark.usefixtures("serial_and_two_engine_threads")

def numeric_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d arr by central differences, perturbing ``arr`` in place one element at a time."""
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(||a|| + ||b||, tiny): scale-free, 0 when both are zero."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def check_layer(layer, x: np.ndarray, seed: int = 0, before_forward=None) -> dict[str, float]:
    """Compare analytic and numeric gradients of sum(forward(x) * dy) w.r.t. x and every param.

    x is in the engine layout (C, N, H, W) or (N, F); the layer must already be built
    in float64. ``before_forward`` runs before every forward (e.g. to fix a dropout mask).
    Returns {"x": err, "W": err, ...}.
    """
    rng = np.random.default_rng(seed)
    hook = before_forward or (lambda: None)
    hook()
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape)

    def loss() -> float:
        hook()
        return float(np.sum(layer.forward(x, training=True) * dy))

    hook()
    layer.forward(x, training=True)
    dx = layer.backward(dy.copy())
    errors = {"x": rel_error(np.array(dx), numeric_grad(loss, x))}
    analytic = {k: np.array(g) for k, g in layer.grads.items()}
    for name, p in layer.params.items():
        errors[name] = rel_error(analytic[name], numeric_grad(loss, p))
    return errors


def build(layer, per_sample_shape, seed=1):
    return layer.build(per_sample_shape, np, np.float64, np.random.default_rng(seed))


def image_batch(per_sample_shape, n=2, seed=2):
    """A random CNHW batch: (C, N, H, W)."""
    c, h, w = per_sample_shape
    return np.random.default_rng(seed).standard_normal((c, n, h, w))


def assert_small(errors, tol=TOL):
    assert errors, "no gradients were checked"
    for name, err in errors.items():
        assert err < tol, f"gradient of {name}: relative error {err:.2e} >= {tol:.0e}"


CONV_CASES = [
    # (filters, kernel, stride, padding, use_bias, input (C, H, W))
    (3, (3, 3), (1, 1), "valid", True, (1, 6, 6)),
    (2, (3, 3), (1, 1), "same", True, (3, 5, 5)),
    (2, (3, 3), (2, 2), "valid", True, (2, 7, 7)),
    (2, (3, 3), (2, 2), "same", True, (2, 7, 6)),
    (2, (2, 2), (2, 2), "same", True, (1, 5, 5)),     # even kernel, stride 2, same
    (2, (4, 4), (1, 1), "same", False, (2, 6, 5)),    # even kernel: asymmetric same padding
    (2, (2, 3), (1, 2), "valid", True, (2, 5, 7)),    # non-square kernel and stride
    (3, (3, 1), (2, 1), 1, True, (2, 5, 4)),          # int padding
    (2, (3, 3), (1, 1), 2, False, (1, 3, 3)),         # padding wider than half the kernel
    (4, (1, 1), (1, 1), "valid", True, (3, 4, 5)),    # pointwise fast path
    (2, (5, 5), (1, 1), "valid", True, (2, 7, 9)),
    (2, (3, 3), (1, 1), 1, True, (3, 5, 6)),          # int padding keeping the size: flipped-kernel dx
    (3, (5, 3), (1, 1), "same", True, (4, 6, 5)),     # non-square same, filters < channels
    (3, (1, 1), (2, 2), "valid", True, (2, 5, 5)),    # 1x1 kernel with stride: not the pointwise path
    (2, (5, 5), (1, 1), "same", True, (2, 3, 3)),     # kernel larger than the input
]


def test_conv_cases_cover_both_input_gradient_algorithms():
    """dx is computed by a flipped-kernel GEMM (stride-1 same, filters <= channels) or by col2im."""
    paths = set()
    for filters, kernel, stride, padding, use_bias, shape in CONV_CASES:
        layer = build(Conv2D(filters, kernel, stride, padding, use_bias), shape)
        paths.add("pointwise" if layer._pointwise else "flip" if layer._flip_back else "col2im")
    assert paths == {"pointwise", "flip", "col2im"}


@pytest.mark.parametrize("filters,kernel,stride,padding,use_bias,shape", CONV_CASES)
def test_conv2d_gradients(filters, kernel, stride, padding, use_bias, shape):
    layer = build(Conv2D(filters, kernel, stride, padding, use_bias), shape)
    x = image_batch(shape)
    errors = check_layer(layer, x)
    assert set(errors) == ({"x", "W", "b"} if use_bias else {"x", "W"})
    assert_small(errors)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3], CONV_CASES[6]])
def test_conv2d_gradients_one_sample_per_chunk(monkeypatch, case):
    """The same checks with columns built one sample at a time (the chunked path of big batches)."""
    monkeypatch.setattr(Conv2D, "CHUNK_BYTES", 1)
    monkeypatch.setattr(Conv2D, "CHUNK_BYTES_PARALLEL", 1)
    monkeypatch.setattr(Conv2D, "WHOLE_BATCH_BYTES", 0)
    filters, kernel, stride, padding, use_bias, shape = case
    layer = build(Conv2D(filters, kernel, stride, padding, use_bias), shape)
    assert len(layer._chunks(3, layer._row_bytes())) == 3
    assert_small(check_layer(layer, image_batch(shape, n=3)))


def test_conv2d_first_layer_skips_input_gradient_but_keeps_weight_gradients():
    shape = (2, 5, 5)
    full = build(Conv2D(3, 3, 1, "same"), shape)
    first = build(Conv2D(3, 3, 1, "same"), shape)
    first.need_input_grad = False
    x = image_batch(shape)
    dy = np.random.default_rng(5).standard_normal((3, 2, 5, 5))
    full.forward(x, training=True)
    first.forward(x, training=True)
    assert full.backward(dy.copy()) is not None
    assert first.backward(dy.copy()) is None
    np.testing.assert_allclose(first.grads["W"], full.grads["W"])
    np.testing.assert_allclose(first.grads["b"], full.grads["b"])


POOL_CASES = [
    # (pool, stride, input (C, H, W))
    ((2, 2), None, (2, 6, 6)),       # non-overlapping, divides
    ((2, 2), None, (2, 7, 5)),       # floor rule: last row / column dropped
    ((3, 3), (2, 2), (1, 7, 7)),     # overlapping windows
    ((3, 2), (1, 2), (2, 6, 7)),     # non-square window and stride, overlapping in height
    ((2, 2), (3, 3), (1, 8, 8)),     # stride larger than window: gaps
]


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D, SumPool2D])
@pytest.mark.parametrize("pool,stride,shape", POOL_CASES)
def test_pooling_gradients(cls, pool, stride, shape):
    layer = build(cls(pool, stride), shape)
    assert_small(check_layer(layer, image_batch(shape, n=3)))


def test_dense_gradients():
    layer = build(Dense(4), (6,))
    errors = check_layer(layer, np.random.default_rng(3).standard_normal((5, 6)))
    assert set(errors) == {"x", "W", "b"}
    assert_small(errors)


def test_dense_without_bias_gradients():
    layer = build(Dense(3, use_bias=False), (5,))
    errors = check_layer(layer, np.random.default_rng(3).standard_normal((4, 5)))
    assert set(errors) == {"x", "W"}
    assert_small(errors)


def test_batchnorm_2d_training_gradients():
    layer = build(BatchNorm(), (3, 4, 3))
    # scale and shift gamma/beta away from 1/0 so their gradients are exercised in general position
    layer.params["gamma"][:] = [0.5, 1.5, -2.0]
    layer.params["beta"][:] = [0.1, -0.3, 0.7]
    errors = check_layer(layer, image_batch((3, 4, 3), n=3) * 2 + 1)
    assert set(errors) == {"x", "gamma", "beta"}
    assert_small(errors)


def test_batchnorm_1d_training_gradients():
    layer = build(BatchNorm(), (5,))
    layer.params["gamma"][:] = np.linspace(-1, 2, 5)
    errors = check_layer(layer, np.random.default_rng(4).standard_normal((6, 5)) * 3 - 1)
    assert_small(errors)


@pytest.mark.parametrize("cls", [ReLU, LeakyReLU, Sigmoid, Tanh])
@pytest.mark.parametrize("shape", [(2, 3, 4), (7,)])
def test_activation_gradients(cls, shape):
    layer = build(cls(), shape)
    x = image_batch(shape) if len(shape) == 3 else np.random.default_rng(6).standard_normal((4, 7))
    # keep ReLU-type inputs away from the kink at 0, where the derivative is undefined
    x[np.abs(x) < 1e-3] = 0.5
    assert_small(check_layer(layer, x))


def test_leaky_relu_with_large_alpha_gradients():
    layer = build(LeakyReLU(alpha=0.3), (10,))
    assert_small(check_layer(layer, np.random.default_rng(7).standard_normal((3, 10))))


def test_softmax_gradients():
    layer = build(Softmax(), (5,))
    assert_small(check_layer(layer, np.random.default_rng(8).standard_normal((4, 5)) * 3))


def test_flatten_gradients():
    layer = build(Flatten(), (2, 3, 4))
    assert_small(check_layer(layer, image_batch((2, 3, 4), n=3)))


def test_dropout_gradients_with_a_fixed_mask():
    layer = build(Dropout(0.4), (12,))
    x = np.random.default_rng(9).standard_normal((5, 12))

    def same_mask():
        layer.rng = np.random.default_rng(123)

    errors = check_layer(layer, x, before_forward=same_mask)
    assert_small(errors)
    same_mask()
    y = layer.forward(x, training=True)
    dropped = y == 0
    assert 0 < dropped.sum() < dropped.size, "the fixed mask should drop some values and keep others"
    np.testing.assert_allclose(y[~dropped], x[~dropped] / 0.6)


def test_small_conv_stack_end_to_end_gradients():
    """Conv -> ReLU -> MaxPool -> Flatten -> Dense, chained by hand: the layers compose."""
    shape = (2, 6, 6)
    layers = [Conv2D(3, 3, 1, "same"), ReLU(), MaxPool2D(2), Flatten(), Dense(4)]
    s = shape
    for i, layer in enumerate(layers):
        build(layer, s, seed=10 + i)
        s = layer.output_shape(s)
    x = image_batch(shape)
    dy = np.random.default_rng(11).standard_normal((2, 4))

    def run(train=True):
        h = x
        for layer in layers:
            h = layer.forward(h, training=train)
        return h

    def loss():
        return float(np.sum(run() * dy))

    run()
    g = dy.copy()
    for layer in reversed(layers):
        g = layer.backward(g)
    analytic_w = layers[0].grads["W"].copy()
    assert rel_error(g, numeric_grad(loss, x)) < TOL
    assert rel_error(analytic_w, numeric_grad(loss, layers[0].params["W"])) < TOL
