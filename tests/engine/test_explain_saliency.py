"""Saliency: input gradient, Grad-CAM and occlusion have the input's (or the maps') shape and are
computed from real forward passes."""

from __future__ import annotations

import numpy as np

from cnnstudio.engine import saliency
from cnnstudio.engine.layers import LAYER_TYPES as L
from cnnstudio.engine.network import Network


def net(seed=0):
    layers = [L["Conv2D"](filters=3, kernel_size=3, padding="same"), L["BatchNorm"](), L["ReLU"](),
              L["MaxPool2D"](pool_size=2), L["Flatten"](), L["Dropout"](rate=0.5), L["Dense"](units=4), L["Softmax"]()]
    n = Network(layers, (1, 6, 6), seed=seed)
    rng = np.random.default_rng(seed)
    layers[1].state["running_var"][...] = rng.uniform(0.5, 2, 3)
    layers[1].state["running_mean"][...] = rng.standard_normal(3) * 0.1
    return saliency.float64_copy(n)


def image(seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (1, 6, 6))


def test_float64_copy_computes_what_the_original_does():
    layers = [L["Conv2D"](filters=2, kernel_size=3), L["Flatten"](), L["Dense"](units=3), L["Softmax"]()]
    n32 = Network(layers, (1, 5, 5), seed=3)
    n64 = saliency.float64_copy(n32)
    x = image()[:, :5, :5][None]
    assert n64.dtype == np.float64
    np.testing.assert_allclose(n64.forward(x), n32.forward(x), atol=1e-6)


def test_input_gradient_matches_the_analytic_gradient_of_a_linear_softmax():
    layers = [L["Flatten"](), L["Dense"](units=3), L["Softmax"]()]
    n = saliency.float64_copy(Network(layers, (1, 4, 4), seed=2))
    x = image()[:, :4, :4]
    g = saliency.input_gradient(n, x, 1)
    W = n.layers[1].params["W"]   # (16, 3)
    p = n.forward(x[None])[0]
    analytic = p[1] * (W[:, 1] - W @ p)   # d p1 / d x for p = softmax(xW + b)
    assert g.shape == x.shape
    np.testing.assert_allclose(g.reshape(-1), analytic, atol=1e-7)


def test_input_gradient_is_the_forward_difference_it_claims():
    n = net()
    x = image()
    g = saliency.input_gradient(n, x, 2)
    bumped = x.copy()
    bumped[0, 2, 3] += 1e-4
    direct = (n.forward(bumped[None])[0, 2] - n.forward(x[None])[0, 2]) / 1e-4
    assert abs(g[0, 2, 3] - direct) < 1e-5 and g.shape == x.shape


def test_grad_cam_weights_are_the_mean_gradient_over_each_map():
    n = net()
    x = image()
    cam = saliency.grad_cam(n, x, 0, index=2)   # the ReLU's maps: 3 x 6 x 6
    assert cam.shape == (6, 6) and (cam >= 0).all()
    # brute force: every position of every map perturbed through the rest of the network
    h = n._to_internal(x[None])
    for layer in n.layers[:3]:
        h = layer.forward(h, False)
    a = np.array(h)

    def rest(a_):
        z = a_
        for layer in n.layers[3:]:
            z = layer.forward(z, False)
        return z[0, 0]

    weights = []
    for c in range(3):
        grads = []
        for r in range(6):
            for q in range(6):
                up, down = a.copy(), a.copy()
                up[c, 0, r, q] += 1e-4
                down[c, 0, r, q] -= 1e-4
                grads.append((rest(up) - rest(down)) / 2e-4)
        weights.append(np.mean(grads))
    expected = np.maximum(sum(w * a[c, 0] for c, w in enumerate(weights)), 0)
    np.testing.assert_allclose(cam, expected, atol=1e-6)


def test_occlusion_drop_is_from_real_forward_passes():
    n = net()
    x = image()
    drop = saliency.occlusion(n, x, 1, size=3, stride=3)
    assert drop.shape == (6, 6)
    covered = x.copy()
    covered[:, 0:3, 0:3] = x.mean()
    p = n.forward(x[None])[0, 1] - n.forward(covered[None])[0, 1]
    assert abs(drop[0, 0] - p) < 1e-12   # the one square covering (0, 0)
