"""Which engine network the "see inside" views show, and the array helpers around it (no Qt).

``NetworkCache`` picks the network for the current spec and weights: a running trainer's
live weights, the stored trained weights, or a freshly initialised network, and keeps the
built networks so that a refresh does not rebuild them. The ``Inspector`` (Qt-facing:
signals, timers, background jobs) asks it on every rebuild.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnstudio.data import to_float_nchw
from cnnstudio.model import build_network
from cnnstudio.project.session import build_with_weights


class NetworkCache:
    """The networks built for the inspector, cached by spec value.

    Specs are compared by value: ``document.spec`` is a fresh copy on every access, so an
    identity check rebuilt the network on every refresh.
    """

    def __init__(self) -> None:
        self._fresh: tuple[Any, Any] | None = None  # (spec, Network or None)
        self._live: tuple[Any, Any] | None = None   # (spec, Network) refilled with live weights

    def choose(self, state: Any) -> tuple[Any, bool, str]:
        """(network or None, trained, problem) for ``state``'s spec and weights.

        Live weights first, then the state's inference network, then the stored weights
        built here; a fresh network when none of those fits (``problem`` says why).
        """
        problem = ""
        live = state.live_weights
        net = self.live(state.spec, live) if live is not None else state.inference_network()
        if net is None and state.weights:
            net, problem = self.trained(state.spec, state.weights)
        trained = net is not None
        if net is None:
            net, fresh_problem = self.fresh(state.spec)
            problem = fresh_problem or problem
        return net, trained, problem

    def trained(self, spec: Any, weights: dict) -> tuple[Any, str]:
        """(the spec with ``weights``, "") or (None, why) when they do not fit."""
        try:
            net = build_with_weights(spec, weights)
        except Exception as exc:  # weights of another network: show the fresh one and say why
            return None, f"The stored weights do not fit this network: {exc}"
        return net, ""

    def live(self, spec: Any, weights: dict) -> Any:
        """A network of ``spec`` holding a running trainer's weights (one network, refilled in place:
        only the GUI thread uses it), or None when they do not fit."""
        if self._live is None or self._live[0] != spec:
            try:
                self._live = (spec, build_network(spec))
            except Exception:  # an invalid network cannot be training: nothing live to show
                return None
        net = self._live[1]
        try:
            net.set_weights(weights)
        except Exception:  # weights of another network (a stale preview): show the kept ones
            return None
        return net

    def fresh(self, spec: Any) -> tuple[Any, str]:
        """(a freshly initialised network for ``spec``, cached per spec, problem); (None, why) if invalid."""
        if self._fresh is not None and self._fresh[0] == spec:
            return self._fresh[1], ""
        try:
            net, problem = build_network(spec), ""
        except Exception as exc:  # an invalid network: the views say why instead of crashing
            net, problem = None, f"Cannot build the network: {exc}"
        self._fresh = (spec, net)
        return net, problem


def hwc(inp: Any) -> tuple[int, int, int]:
    """An InputSpec (or a plain (h, w, c) tuple) -> (height, width, channels)."""
    value = getattr(inp, "hwc", None)
    return tuple(int(v) for v in (value if value is not None else inp))  # type: ignore[return-value]


def sample_nchw(x: np.ndarray, h: int, w: int, c: int, inp: Any = None) -> np.ndarray:
    """x: uint8 (1, H', W', C') -> float32 (1, c, h, w): fitted to the network input and preprocessed
    as the InputSpec ``inp`` says (None: scaled by 1/255)."""
    if x.shape[1:] != (h, w, c):
        x = fit_images(x, h, w, c)
    return inp.prepare(x) if inp is not None else to_float_nchw(x)


def fit_images(x: np.ndarray, h: int, w: int, c: int) -> np.ndarray:
    """x: uint8 (N, H', W', C') -> uint8 (N, h, w, c): resized, grey replicated / colour averaged."""
    from cnnstudio.data.dataset import resize_images
    if x.shape[3] != c:
        grey = x.mean(axis=3, keepdims=True).astype(np.uint8)
        x = np.repeat(grey, c, axis=3)
    return resize_images(x, h, w) if x.shape[1:3] != (h, w) else x


def shape_text(shape: tuple[int, ...]) -> str:
    """(C, H, W) -> "H x W x C"; (F,) -> "F"."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h} x {w} x {c}"
    return " x ".join(str(s) for s in shape)


def probabilities(last: np.ndarray, types: list[str]) -> np.ndarray | None:
    """The class probabilities (K,) from the last activation (softmax applied if it is not one)."""
    if last.ndim != 1:
        return None
    if types and types[-1] == "Softmax":
        return last.astype(np.float64)
    z = last.astype(np.float64) - float(np.max(last))
    e = np.exp(z)
    return e / e.sum()
