"""Declared hyperparameters: one ``Hyper`` per field, the single source of its rules.

A layer class lists its hyperparameters once (``Layer.hyperparameters``). From that
list come validation (errors quote the value received), the default config, the JSON
form of a config, the editor's widgets (kind, range, step, label, help) and every
place that needs to know "what does this field accept". Nothing else in the code keeps
its own table of fields, ranges or labels (pyqtgraph's parametertree builds widgets
from a declared schema the same way; Keras 3 keeps ``get_config`` beside ``__init__``).

Kinds:

- ``int``: a whole number in ``[low, high]``.
- ``pair``: one whole number or a pair ``(height, width)``, each in ``[low, high]``;
  stored as a list of two ints. ``optional`` pairs also take ``None`` ("same as
  another field", e.g. a pooling stride defaults to the window).
- ``float``: a finite real number in the interval, each end open or closed.
- ``bool``: ``True`` or ``False`` (not 0/1).
- ``choice``: one of ``choices`` (strings).
- ``padding``: ``"valid"``, ``"same"`` or a whole number of zero rows/columns in ``[low, high]``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from cnnstudio.engine.errors import LayerConfigError

Kind = Literal["int", "pair", "float", "bool", "choice", "padding"]
PADDING_MODES = ("valid", "same")


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter of a layer type: what it is, what it accepts, how people see it.

    ``low``/``high`` bound numbers (for ``pair`` and ``padding`` each number);
    ``low_open``/``high_open`` make a float interval's ends exclusive. ``step`` and
    ``decimals`` are the editor's increments for floats. ``label`` is the form label,
    ``help`` one plain sentence for tooltips and the "?" buttons.
    """

    name: str
    kind: Kind
    default: Any
    label: str
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    step: float = 1.0
    decimals: int = 3

    # ---- validation ----------------------------------------------------------
    def validate(self, layer_type: str, value: Any) -> Any:
        """``value`` normalised (pairs as tuples) or LayerConfigError quoting what was received."""
        if self.optional and value is None:
            return None
        if self.kind == "int":
            return self._int(layer_type, value)
        if self.kind == "pair":
            if isinstance(value, (list, tuple)):
                if len(value) != 2:
                    raise LayerConfigError(layer_type, self.name, value, "one number or a pair (height, width)")
                return (self._int(layer_type, value[0], shown=value), self._int(layer_type, value[1], shown=value))
            v = self._int(layer_type, value)
            return (v, v)
        if self.kind == "float":
            return self._float(layer_type, value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise LayerConfigError(layer_type, self.name, value, "true or false")
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise LayerConfigError(layer_type, self.name, value, _one_of(self.choices))
            return value
        if self.kind == "padding":
            if value in PADDING_MODES:
                return value
            if isinstance(value, str):
                raise LayerConfigError(layer_type, self.name, value,
                                       f"'valid', 'same' or a whole number {self.range_text()}")
            return self._int(layer_type, value)
        raise AssertionError(f"unknown hyperparameter kind {self.kind!r}")

    def _int(self, layer_type: str, value: Any, shown: Any = None) -> int:
        shown = value if shown is None else shown
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise LayerConfigError(layer_type, self.name, shown, "a whole number")
        v = int(value)
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise LayerConfigError(layer_type, self.name, shown, self.range_text())
        return v

    def _float(self, layer_type: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise LayerConfigError(layer_type, self.name, value, "a number")
        v = float(value)
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        too_low = v <= low if self.low_open else v < low
        too_high = v >= high if self.high_open else v > high
        if too_low or too_high or v != v:
            raise LayerConfigError(layer_type, self.name, value, self.range_text())
        return v

    def range_text(self) -> str:
        """The accepted range in words, as validation errors and tooltips say it."""
        if self.kind == "float":
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"in {left}{self.low}, {self.high}{right}"
        low = int(self.low) if self.low is not None else None
        if self.high is None:
            return f"at least {low}"
        return f"between {low} and {int(self.high)}"

    # ---- forms -----------------------------------------------------------------
    def to_json(self, value: Any) -> Any:
        """The JSON-safe form of a validated value (pairs become lists)."""
        if self.kind == "pair" and value is not None:
            return [int(value[0]), int(value[1])]
        return value

    def widget_range(self) -> tuple[float, float]:
        """Closed (minimum, maximum) for a spin box: an open float end moves in by one step of ``decimals``."""
        unbounded = 2**31 - 1 if self.kind != "float" else 1e9   # QSpinBox holds a C int
        low = self.low if self.low is not None else -unbounded
        high = self.high if self.high is not None else unbounded
        if self.kind == "float":
            tick = 10.0 ** -self.decimals
            if self.low_open:
                low = low + tick
            if self.high_open:
                high = high - tick
        return low, high


def _one_of(choices: tuple[str, ...]) -> str:
    quoted = [repr(c) for c in choices]
    return "one of " + ", ".join(quoted)


def bind(layer_type: str, schema: tuple[Hyper, ...], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validated values for every field of ``schema`` from positional and keyword arguments.

    Positional arguments follow the schema's order (so ``Conv2D(8, 3)`` reads as
    filters=8, kernel_size=3); missing fields take their defaults; unknown names raise.
    """
    names = [h.name for h in schema]
    if len(args) > len(names):
        raise LayerConfigError(layer_type, "arguments", args, f"at most {len(names)} values ({', '.join(names)})")
    given = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            allowed = ", ".join(names) or "none"
            raise LayerConfigError(layer_type, key, value, f"a hyperparameter of {layer_type} (it has: {allowed})")
        if key in given:
            raise LayerConfigError(layer_type, key, value, "given once, not both by position and by name")
        given[key] = value
    return {h.name: h.validate(layer_type, given.get(h.name, h.default)) for h in schema}
