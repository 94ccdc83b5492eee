"""Typed errors of the model package.

``ModelFormatError``: a saved or hand-written network description cannot be read
(names the field path, e.g. ``layers[3].config.filters``).
``NetworkError``: a network is well-formed but cannot run; carries the
``NetworkProblem`` (layer index, type, field, value, message, fix) the editor shows.
``EditError``: an edit command cannot be applied (bad index, unknown field, read-only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ModelError(Exception):
    """Base class for every error the model package raises on purpose."""


class ModelFormatError(ModelError, ValueError):
    """A network description is malformed. ``path`` names the field, e.g. ``layers[3].config.filters``."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


@dataclass(frozen=True)
class NetworkProblem:
    """Why a network cannot run, and what to do about it.

    ``index``: 0-based position in ``spec.layers`` (the editor shows ``index + 1``);
    ``None`` when the problem is the input or the network as a whole.
    ``kind``: a stable code ("bad_config", "window_too_large", "needs_flat",
    "needs_spatial", "softmax_not_last", "no_softmax", "classes_mismatch",
    "channels_mismatch", "output_not_flat", "empty").
    ``message``: ``"layer 5 MaxPool2D: 2x2 window does not fit a 1x1 input"``;
    ``fix``: ``"remove it or use padding 'same' in layer 3"``; ``text`` joins them.
    """

    index: int | None
    layer_type: str
    field: str | None
    value: Any
    message: str
    fix: str
    kind: str = ""

    @property
    def number(self) -> int | None:
        """1-based layer number as the editor shows it (None for the input)."""
        return None if self.index is None else self.index + 1

    @property
    def text(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message

    def __str__(self) -> str:
        return self.text


class NetworkError(ModelError, ValueError):
    """A network cannot run; ``problem`` says where and how to fix it."""

    def __init__(self, problem: NetworkProblem):
        self.problem = problem
        super().__init__(problem.text)


class EditError(ModelError, ValueError):
    """An edit command cannot be applied (index out of range, unknown field, ...)."""


class ReadOnlyError(EditError):
    """The document is read-only (training runs)."""


class GraphError(NetworkError):
    """The layers are wired wrongly (a branching network); ``problem.kind`` says how."""


class GraphCycleError(GraphError):
    """Some layers read each other in a circle, so none of them can run first."""


class GraphOrderError(GraphError):
    """A layer reads a layer that comes after it (the list must run from input to output)."""


class GraphInputError(GraphError):
    """A layer names an input that does not exist, or reads more inputs than it can merge."""


class GraphOutputError(GraphError):
    """More than one layer's output is read by nobody: the network must have one output."""


class MergeError(GraphError):
    """A merge (Add, Concatenate) has a single input, or inputs whose shapes disagree."""


#: NetworkProblem.kind -> the typed error ``validate`` raises for it
GRAPH_ERRORS: dict[str, type[GraphError]] = {
    "cycle": GraphCycleError, "forward_reference": GraphOrderError, "bad_input": GraphInputError,
    "too_many_inputs": GraphInputError, "multiple_outputs": GraphOutputError,
    "merge_single_input": MergeError, "merge_mismatch": MergeError,
}
