"""Why did it say 7? Saliency maps from the network's own forward passes.

- ``input_gradient``: d p(class) / d pixel, by central differences (one pair of forward
  passes per input value, batched). Build the network in float64 for it
  (``project.session.float64_copy``): the differences are then exact to ~1e-8.
- ``grad_cam``: Grad-CAM (Selvaraju et al. 2017) on the output of layer ``index``: each map's
  weight is the mean gradient of the class score over the map's positions, which is the
  derivative along "add the same amount to every position of that map", so it takes two
  forward passes per map; the map is ReLU(sum_c weight_c * map_c), shaped like that layer's maps.
- ``occlusion``: a grey square slid over the image, the drop in the class's probability at
  each place, from one real forward pass per position (batched).

No backward pass is used: inference layers keep no caches, and a training forward would
move BatchNorm's running statistics and draw dropout masks.
Images are one sample ``(C, H, W)``, preprocessed as the network expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.engine.backend import to_host
from cnnstudio.engine.graph import GraphNetwork

BATCH = 256


def _probs(network: Any, batch: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax of the output when the last layer is not Softmax), (N, K)."""
    out = []
    for start in range(0, len(batch), BATCH):
        y = np.asarray(to_host(network.forward(batch[start:start + BATCH], training=False)), dtype=np.float64)
        if not network.fused_softmax:
            y = np.exp(y - y.max(axis=1, keepdims=True))
            y /= y.sum(axis=1, keepdims=True)
        out.append(y)
    return np.concatenate(out)


def input_gradient(network: Any, x: np.ndarray, cls: int, eps: float = 1e-3) -> np.ndarray:
    """d p(cls) / d x, shape of x (C, H, W), by central differences of real forward passes."""
    x = np.asarray(x, dtype=network.dtype)
    n = x.size
    grad = np.empty(n, dtype=np.float64)
    flat = x.reshape(-1)
    for start in range(0, n, BATCH // 2):
        idx = np.arange(start, min(n, start + BATCH // 2))
        batch = np.repeat(flat[None], 2 * len(idx), axis=0)
        batch[np.arange(len(idx)), idx] += eps
        batch[len(idx) + np.arange(len(idx)), idx] -= eps
        p = _probs(network, batch.reshape((-1,) + x.shape))[:, cls]
        grad[idx] = (p[:len(idx)] - p[len(idx):]) / (2 * eps)
    return grad.reshape(x.shape)


def _sources(network: Any) -> list[tuple[int, ...]]:
    if isinstance(network, GraphNetwork):
        return list(network.inputs)
    return [(i - 1,) for i in range(len(network.layers))]


def _run_from(network: Any, acts: dict[int, Any], start: int) -> Any:
    """Layers start.. on the given internal outputs ``acts`` (by index, -1 the input); the last output."""
    srcs_all = _sources(network)
    acts = dict(acts)
    for i in range(start, len(network.layers)):
        layer, srcs = network.layers[i], srcs_all[i]
        xs = [acts[s] for s in srcs]
        acts[i] = layer.forward(xs if layer.merges else xs[0], False)
    return acts[len(network.layers) - 1]


def grad_cam(network: Any, x: np.ndarray, cls: int, index: int, eps: float = 1e-3) -> np.ndarray:
    """Grad-CAM of class ``cls`` on the maps of layer ``index``: (H', W') >= 0, the maps' size."""
    h = network._to_internal(np.asarray(x)[None])
    srcs_all = _sources(network)
    acts: dict[int, Any] = {-1: h}
    for i in range(index + 1):
        layer, srcs = network.layers[i], srcs_all[i]
        xs = [acts[s] for s in srcs]
        acts[i] = layer.forward(xs if layer.merges else xs[0], False)
    a = acts[index]   # (C, 1, H', W')
    if a.ndim != 4:
        raise ValueError(f"Grad-CAM needs a layer with feature maps; layer {index + 1} "
                         f"({network.layers[index].type_name}) outputs a flat vector")
    c = a.shape[0]
    # one batch: for each map, +eps and -eps on all its positions
    batch = np.repeat(np.asarray(to_host(a)), 2 * c, axis=1)   # (C, 2C, 1*H', W')
    for k in range(c):
        batch[k, k] += eps
        batch[k, c + k] -= eps
    later = {s: v for s, v in acts.items() if s != index}
    later = {s: (np.repeat(np.asarray(to_host(v)), 2 * c, axis=1 if np.asarray(v).ndim == 4 else 0)) for s, v in later.items()}
    later[index] = network.xp.asarray(batch)
    out = np.asarray(to_host(_run_from(network, later, index + 1)), dtype=np.float64)
    if not network.fused_softmax:
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    p = out[:, cls]
    weights = (p[:c] - p[c:]) / (2 * eps * a.shape[2] * a.shape[3])   # the mean gradient over each map
    maps = np.asarray(to_host(a), dtype=np.float64)[:, 0]
    heat: np.ndarray = np.maximum((weights[:, None, None] * maps).sum(axis=0), 0.0)
    return heat


def occlusion(network: Any, x: np.ndarray, cls: int, size: int = 6, stride: int = 2,
              fill: float | None = None) -> np.ndarray:
    """Drop in p(cls) when a ``size`` x ``size`` square of value ``fill`` (default: the image's
    mean, a neutral grey) covers each place: (H, W), each pixel the mean drop of the squares
    covering it. One real forward pass per square position."""
    x = np.asarray(x, dtype=network.dtype)
    c, h, w = x.shape
    fill = float(x.mean()) if fill is None else fill
    base = _probs(network, x[None])[0, cls]
    spots = [(r, q) for r in range(0, max(1, h - size + 1), stride) for q in range(0, max(1, w - size + 1), stride)]
    batch = np.repeat(x[None], len(spots), axis=0)
    for k, (r, q) in enumerate(spots):
        batch[k, :, r:r + size, q:q + size] = fill
    drops = base - _probs(network, batch)[:, cls]
    total = np.zeros((h, w))
    count = np.zeros((h, w))
    for d, (r, q) in zip(drops, spots):
        total[r:r + size, q:q + size] += d
        count[r:r + size, q:q + size] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def float64_copy(network: Any) -> Any:
    """The same network (layers, wiring, weights) in float64 on NumPy, for finite differences."""
    from cnnstudio.engine.network import Network

    layers = [type(layer).from_config(layer.get_config()) for layer in network.layers]
    if isinstance(network, GraphNetwork):
        copy: Any = GraphNetwork(layers, network.input_shape, network.inputs, dtype=np.float64)
    else:
        copy = Network(layers, network.input_shape, dtype=np.float64)
    copy.set_weights(network.get_weights())
    return copy
