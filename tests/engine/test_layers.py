"""Hand-computed examples for the layers: small inputs whose outputs are worked out by hand.

Images are given per sample as (H, W) grids and fed in the engine layout (C, N, H, W).
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.engine.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, LeakyReLU,
                                     MaxPool2D, ReLU, Sigmoid, Softmax, SumPool2D, Tanh)

X4 = np.array([[1, 2, 3, 0],
               [0, 1, 2, 3],
               [3, 0, 1, 2],
               [2, 3, 0, 1]], dtype=np.float64)

P4 = np.array([[1, 3, 2, 4],
               [5, 6, 7, 8],
               [9, 2, 1, 0],
               [3, 4, 6, 5]], dtype=np.float64)


def built(layer, shape, dtype=np.float64):
    return layer.build(shape, np, dtype, np.random.default_rng(0))


def one_image(grid):
    """(H, W) -> (1, 1, H, W), i.e. C=1, N=1 in CNHW."""
    return np.asarray(grid, dtype=np.float64)[None, None]


def test_conv_2x2_kernel_on_4x4_input_by_hand():
    conv = built(Conv2D(1, (2, 2), 1, "valid"), (1, 4, 4))
    conv.params["W"][...] = [[[[1, 2], [0, -1]]]]
    conv.params["b"][...] = 0.5
    y = conv.forward(one_image(X4))
    # y[i, j] = x[i, j] + 2 x[i, j+1] - x[i+1, j+1] + 0.5, e.g. y[0, 0] = 1 + 4 - 1 + 0.5
    expected = [[4.5, 6.5, 0.5],
                [2.5, 4.5, 6.5],
                [0.5, 2.5, 4.5]]
    np.testing.assert_allclose(y[0, 0], expected)


def test_conv_same_padding_sums_the_clipped_neighbourhood():
    conv = built(Conv2D(1, 3, 1, "same", use_bias=False), (1, 3, 3))
    conv.params["W"][...] = 1.0
    y = conv.forward(one_image([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
    np.testing.assert_allclose(y[0, 0], [[12, 21, 16], [27, 45, 33], [24, 39, 28]])


def test_conv_stride_2_picks_every_other_window():
    conv = built(Conv2D(1, (2, 2), 2, "valid", use_bias=False), (1, 4, 4))
    conv.params["W"][...] = 1.0
    y = conv.forward(one_image(X4))
    np.testing.assert_allclose(y[0, 0], [[1 + 2 + 0 + 1, 3 + 0 + 2 + 3], [3 + 0 + 2 + 3, 1 + 2 + 0 + 1]])


def test_conv_mixes_input_channels_and_keeps_samples_apart():
    conv = built(Conv2D(2, 1, 1, "valid", use_bias=False), (2, 2, 2))
    conv.params["W"][...] = np.array([[2.0, -1.0], [0.0, 1.0]]).reshape(2, 2, 1, 1)
    x = np.zeros((2, 2, 2, 2))   # (C, N, H, W)
    x[0, 0], x[1, 0] = [[1, 2], [3, 4]], [[10, 20], [30, 40]]
    x[0, 1], x[1, 1] = 1.0, 0.0
    y = conv.forward(x)
    np.testing.assert_allclose(y[0, 0], [[-8, -16], [-24, -32]])   # 2 * c0 - c1
    np.testing.assert_allclose(y[1, 0], [[10, 20], [30, 40]])      # c1
    np.testing.assert_allclose(y[0, 1], 2.0)
    np.testing.assert_allclose(y[1, 1], 0.0)


def test_conv_backward_by_hand():
    conv = built(Conv2D(1, (2, 2), 1, "valid"), (1, 3, 3))
    conv.params["W"][...] = [[[[1, 2], [3, 4]]]]
    conv.forward(one_image([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), training=True)
    dx = conv.backward(np.ones((1, 1, 2, 2)))
    # dW[a, b] = sum of the 2x2 block of x starting at (a, b); db = number of outputs
    np.testing.assert_allclose(conv.grads["W"][0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6], [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])
    np.testing.assert_allclose(conv.grads["b"], [4])
    # each input cell receives the kernel weights of the windows that cover it
    np.testing.assert_allclose(dx[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])


@pytest.mark.parametrize("cls,expected", [
    (MaxPool2D, [[6, 8], [9, 6]]),
    (AvgPool2D, [[3.75, 5.25], [4.5, 3.0]]),
    (SumPool2D, [[15, 21], [18, 12]]),
])
def test_pool_2x2_by_hand(cls, expected):
    pool = built(cls(2), (1, 4, 4))
    np.testing.assert_allclose(pool.forward(one_image(P4))[0, 0], expected)


def test_overlapping_max_pool_by_hand():
    pool = built(MaxPool2D(3, 1), (1, 4, 4))
    np.testing.assert_allclose(pool.forward(one_image(P4))[0, 0], [[9, 8], [9, 8]])


def test_pool_floor_rule_drops_the_last_row_and_column():
    x = np.arange(25, dtype=np.float64).reshape(5, 5)
    pool = built(SumPool2D(2), (1, 5, 5))
    y = pool.forward(one_image(x), training=True)
    np.testing.assert_allclose(y[0, 0], [[0 + 1 + 5 + 6, 2 + 3 + 7 + 8], [10 + 11 + 15 + 16, 12 + 13 + 17 + 18]])
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0, 4].sum() == 0 and dx[0, 0, :, 4].sum() == 0
    assert dx[0, 0, :4, :4].min() == 1


def test_max_pool_backward_routes_to_the_maximum_only():
    pool = built(MaxPool2D(2), (1, 4, 4))
    pool.forward(one_image(P4), training=True)
    dx = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 2] = 1, 2, 3, 4
    np.testing.assert_allclose(dx[0, 0], expected)


def test_max_pool_tie_sends_the_gradient_to_the_first_maximum():
    pool = built(MaxPool2D(2), (1, 2, 2))
    pool.forward(one_image([[7, 7], [7, 7]]), training=True)
    dx = pool.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_allclose(dx[0, 0], [[1, 0], [0, 0]])


def test_avg_pool_backward_spreads_evenly():
    pool = built(AvgPool2D(2), (1, 2, 2))
    pool.forward(one_image([[1, 2], [3, 4]]), training=True)
    np.testing.assert_allclose(pool.backward(np.full((1, 1, 1, 1), 8.0))[0, 0], [[2, 2], [2, 2]])


def test_dense_by_hand():
    dense = built(Dense(2), (3,))
    dense.params["W"][...] = [[1, 0], [0, 1], [1, -1]]
    dense.params["b"][...] = [0.5, -0.5]
    y = dense.forward(np.array([[1.0, 2.0, 3.0]]), training=True)
    np.testing.assert_allclose(y, [[4.5, -1.5]])
    dx = dense.backward(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(dx, [[1, 2, -1]])
    np.testing.assert_allclose(dense.grads["W"], [[1, 2], [2, 4], [3, 6]])
    np.testing.assert_allclose(dense.grads["b"], [1, 2])


def test_flatten_orders_features_channel_then_row_then_column_per_sample():
    flat = built(Flatten(), (2, 2, 2))
    nchw = np.arange(16, dtype=np.float64).reshape(2, 2, 2, 2)   # (N, C, H, W)
    y = flat.forward(np.ascontiguousarray(nchw.transpose(1, 0, 2, 3)))
    # PyTorch's x.reshape(N, -1) on NCHW: sample 0 is 0..7, sample 1 is 8..15
    np.testing.assert_allclose(y, nchw.reshape(2, -1))
    back = flat.backward(y.copy())
    np.testing.assert_allclose(back.transpose(1, 0, 2, 3), nchw)


def test_softmax_by_hand_and_stable_for_huge_scores():
    soft = built(Softmax(), (3,))
    np.testing.assert_allclose(soft.forward(np.log([[1.0, 2.0, 3.0]])), [[1 / 6, 2 / 6, 3 / 6]])
    huge = soft.forward(np.array([[1000.0, 1000.0 + np.log(3.0), -1000.0]]))
    assert np.isfinite(huge).all()
    np.testing.assert_allclose(huge, [[0.25, 0.75, 0.0]], atol=1e-12)


def test_activations_by_hand():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(built(ReLU(), (3,)).forward(x), [[0, 0, 3]])
    np.testing.assert_allclose(built(LeakyReLU(0.1), (3,)).forward(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(built(Sigmoid(), (3,)).forward(x), [[1 / (1 + np.exp(2)), 0.5, 1 / (1 + np.exp(-3))]])
    np.testing.assert_allclose(built(Tanh(), (3,)).forward(x), np.tanh(x))
    assert np.isfinite(built(Sigmoid(), (2,)).forward(np.array([[-1e4, 1e4]]))).all()


def test_dropout_is_identity_at_inference_and_scales_the_kept_values_when_training():
    drop = built(Dropout(0.25), (1000,), dtype=np.float32)
    x = np.ones((4, 1000), dtype=np.float32)
    assert drop.forward(x, training=False) is x
    y = drop.forward(x, training=True)
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (y == 0).mean() < 0.3
    assert y.dtype == np.float32


def test_batchnorm_uses_batch_stats_in_training_and_running_stats_at_inference():
    bn = built(BatchNorm(momentum=0.5), (2,))
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y, [[-1, -1], [1, 1]], atol=1e-5)
    np.testing.assert_allclose(bn.state["running_mean"], [1.0, 10.0])        # 0.5 * 0 + 0.5 * [2, 20]
    np.testing.assert_allclose(bn.state["running_var"], [1.0, 50.5])         # 0.5 * 1 + 0.5 * [1, 100]
    y_inf = bn.forward(np.array([[1.0, 10.0]]), training=False)
    np.testing.assert_allclose(y_inf, [[0.0, 0.0]], atol=1e-5)


def test_batchnorm_2d_normalises_each_channel_over_batch_and_space():
    bn = built(BatchNorm(), (2, 2, 2))
    x = np.zeros((2, 2, 2, 2))     # (C, N, H, W)
    x[0] = np.arange(8.0).reshape(2, 2, 2)
    x[1] = 5.0
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y[0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(y[0].std(), 1, rtol=1e-5)
    np.testing.assert_allclose(y[1], 0, atol=1e-12)


def test_float32_stays_float32_through_every_layer():
    layers = [Conv2D(4, 3, 1, "same"), BatchNorm(), ReLU(), MaxPool2D(2), Flatten(), Dense(3), Softmax()]
    shape = (1, 6, 6)
    h = np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32)
    for layer in layers:
        built(layer, shape, dtype=np.float32)
        shape = layer.output_shape(shape)
        h = layer.forward(h, training=True)
        assert h.dtype == np.float32, layer.type_name
    g = np.ones_like(h)
    for layer in reversed(layers):
        g = layer.backward(g)
        assert g.dtype == np.float32, layer.type_name
        assert all(v.dtype == np.float32 for v in layer.grads.values()), layer.type_name


@pytest.mark.parametrize("make,shape", [
    (lambda: Conv2D(3, 3, 1, "same"), (2, 5, 5)),
    (lambda: Conv2D(4, (2, 3), 2, "valid"), (2, 7, 6)),
    (lambda: MaxPool2D(2), (2, 6, 6)),
    (lambda: AvgPool2D(3, 2), (1, 7, 7)),
    (lambda: ReLU(), (2, 3, 3)),
    (lambda: BatchNorm(), (2, 3, 3)),
    (lambda: Dropout(0.5), (6,)),
    (lambda: Dense(3), (6,)),
    (lambda: Flatten(), (2, 3, 3)),
])
def test_inference_between_training_forward_and_backward_changes_nothing(make, shape):
    """The GUI may run inference (another batch size too) while a training step is in flight."""
    rng = np.random.default_rng(0)
    n = 4
    x = rng.standard_normal((shape[0], n) + shape[1:]) if len(shape) == 3 else rng.standard_normal((n,) + shape)
    other = rng.standard_normal((shape[0], 1) + shape[1:]) if len(shape) == 3 else rng.standard_normal((1,) + shape)
    results = []
    for interleave in (False, True):
        layer = make().build(shape, np, np.float64, np.random.default_rng(1))
        y = layer.forward(x, training=True).copy()
        if interleave:
            layer.forward(other, training=False)
            layer.forward(x[:, :2] if len(shape) == 3 else x[:2], training=False)
        dy = np.random.default_rng(2).standard_normal(y.shape)
        dx = layer.backward(dy)
        results.append((y, np.array(dx), {k: g.copy() for k, g in layer.grads.items()}))
    (y0, dx0, g0), (y1, dx1, g1) = results
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(dx0, dx1)
    for key in g0:
        np.testing.assert_array_equal(g0[key], g1[key])


def test_repeated_training_steps_with_reused_buffers_stay_correct():
    """Buffers are reused between steps and batch sizes; results must match a fresh layer."""
    shape = (2, 6, 6)
    reused = Conv2D(3, 3, 1, "same").build(shape, np, np.float64, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    for n in (4, 4, 2, 4):
        x = rng.standard_normal((2, n, 6, 6))
        dy = rng.standard_normal((3, n, 6, 6))
        fresh = Conv2D(3, 3, 1, "same").build(shape, np, np.float64, np.random.default_rng(3))
        np.testing.assert_allclose(reused.forward(x, training=True), fresh.forward(x, training=True))
        np.testing.assert_allclose(reused.backward(dy.copy()), fresh.backward(dy.copy()))
        np.testing.assert_allclose(reused.grads["W"], fresh.grads["W"])


@pytest.mark.parametrize("conv,shape", [
    (lambda: Conv2D(3, 3, 1, "same"), (4, 5, 5)),              # flipped-kernel dx
    (lambda: Conv2D(4, (2, 3), (2, 1), 1), (2, 6, 5)),         # col2im dx
    (lambda: Conv2D(3, 3, 1, "valid", use_bias=False), (2, 6, 6)),
])
def test_conv_in_chunks_of_samples_matches_one_piece(monkeypatch, conv, shape):
    """Columns are built a few samples at a time; any chunking (ragged last chunk too) gives the same result."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((shape[0], 7) + shape[1:])
    results = []
    for chunk_bytes in (1 << 30, 1, 3):   # one piece, one sample per chunk, a few samples
        layer = conv().build(shape, np, np.float64, np.random.default_rng(0))
        row = layer._row_bytes()
        budget = chunk_bytes * row if chunk_bytes < 10 else chunk_bytes
        monkeypatch.setattr(Conv2D, "CHUNK_BYTES", budget)
        monkeypatch.setattr(Conv2D, "CHUNK_BYTES_PARALLEL", budget)
        monkeypatch.setattr(Conv2D, "WHOLE_BATCH_BYTES", 0)
        assert len(layer._chunks(7, row)) == {1 << 30: 1, 1: 7, 3: 3}[chunk_bytes]
        y_inf = layer.forward(x, training=False)
        y = layer.forward(x, training=True).copy()
        dy = np.random.default_rng(2).standard_normal(y.shape)
        dx = layer.backward(dy).copy()
        results.append((y_inf, y, dx, {k: g.copy() for k, g in layer.grads.items()}))
    for y_inf, y, dx, grads in results[1:]:
        np.testing.assert_allclose(y_inf, results[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(y, results[0][1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, results[0][2], rtol=1e-12, atol=1e-12)
        for key in grads:
            np.testing.assert_allclose(grads[key], results[0][3][key], rtol=1e-12, atol=1e-12)


def test_inference_from_several_threads_at_once_matches_serial():
    from concurrent.futures import ThreadPoolExecutor

    shape = (2, 12, 12)
    layers = [Conv2D(4, 3, 1, "same"), ReLU(), MaxPool2D(2), Conv2D(3, 3, 2, "valid"), Flatten(), Dense(5), Softmax()]
    s = shape
    for i, layer in enumerate(layers):
        layer.build(s, np, np.float32, np.random.default_rng(i))
        s = layer.output_shape(s)
    rng = np.random.default_rng(9)
    inputs = [rng.standard_normal((2, n, 12, 12)).astype(np.float32) for n in (1, 3, 8, 5) * 4]

    def infer(x):
        for layer in layers:
            x = layer.forward(x, training=False)
        return x

    serial = [infer(x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(infer, inputs))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_conv_chunks_are_small_with_one_blas_thread_and_whole_batches_with_more(monkeypatch):
    import cnnstudio.engine.layers.conv as conv_module

    layer = Conv2D(32, 3, 1, "same").build((32, 28, 28), np, np.float32, np.random.default_rng(0))
    row = layer._row_bytes()                      # 289 rows * 784 positions * 4 bytes per sample
    monkeypatch.setattr(conv_module, "blas_threads", lambda: 1)
    spans = layer._chunks(64, row)
    assert len(spans) > 10 and spans[0] == (0, 2) and spans[-1][1] == 64
    monkeypatch.setattr(conv_module, "blas_threads", lambda: 2)
    assert layer._chunks(64, row) == [(0, 64)]
    # a batch whose columns fit in the cache stays whole even with one thread (backward reuses them)
    monkeypatch.setattr(conv_module, "blas_threads", lambda: 1)
    assert layer._chunks(8, row) == [(0, 8)]


def test_blas_threads_follows_threadpoolctl_limits():
    from threadpoolctl import threadpool_limits

    from cnnstudio.engine.kernels import blas_threads

    with threadpool_limits(limits=1):
        assert blas_threads() == 1
    assert blas_threads() >= 1
