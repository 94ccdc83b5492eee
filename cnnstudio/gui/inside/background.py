"""Feature maps of a large network, computed off the GUI thread.

Building VGG16 (138 M parameters) and running one image through it takes seconds on a
laptop CPU: done in the GUI thread, every edit froze the window while the Feature maps
dock was shown (measured: 4.6-5.5 s per edit). Small networks stay synchronous (a few
milliseconds, and the views update in the same event).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: a network above either size is computed in the background
HEAVY_MULTIPLY_ADDS = 200_000_000
HEAVY_PARAMS = 10_000_000


def is_heavy(report: Any) -> bool:
    """True for a network (model ShapeReport) too big to build and run in the GUI thread."""
    macs = getattr(report, "multiply_adds", None) or 0
    params = getattr(report, "total_params", None) or 0
    return macs > HEAVY_MULTIPLY_ADDS or params > HEAVY_PARAMS


def forward_quietly(network: Any, x: np.ndarray) -> list:
    """network.forward_activations(x) without NumPy's overflow/invalid warnings: a diverged
    run's weights (NaN, 1e30) are shown as such in the maps, not printed on the console."""
    with np.errstate(all="ignore"):
        return network.forward_activations(x)


def refresh_job(spec: Any, weights: dict | None, network: Any, trained: bool, x: np.ndarray | None):
    """A TaskThread job: (network, trained, problem, x, activations) for the sample ``x`` (1, C, H, W).

    ``network`` None: build one for ``spec`` (with ``weights`` when they fit). Inference writes
    no shared state (engine contract), so a network the GUI also holds may run here.
    """
    def job(_report, _cancel):
        net, is_trained, problem = network, trained, ""
        if net is None:
            from cnnstudio.model import build_network
            net = build_network(spec)  # an invalid network raises: the job fails with the reason
            is_trained = False
            if weights:
                try:
                    net.set_weights(weights)
                    is_trained = True
                except Exception as exc:  # weights of another network: show the fresh one, say why
                    problem = f"The stored weights do not fit this network: {exc}"
        acts = forward_quietly(net, x) if x is not None else None
        return net, is_trained, problem, x, acts
    return job
