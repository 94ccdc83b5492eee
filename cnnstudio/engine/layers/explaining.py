"""Small helpers for the layers' ``explain`` blocks (see ``Layer.explain``).

An explanation is plain data (JSON-safe): numbers are Python floats of the engine's own
values (a float32 input stays the float32 value, written exactly), arrays are nested
lists. ``fmt`` writes a number for a formula line the way a person reads it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def floats(a: Any) -> Any:
    """A NumPy array or scalar as nested lists of Python floats (exact, JSON-safe)."""
    arr = np.asarray(a)
    if arr.dtype == np.bool_:
        return arr.tolist()
    return arr.astype(np.float64).tolist()


def fmt(v: Any) -> str:
    """A number for a formula: whole numbers without decimals, others to 4 significant digits."""
    f = float(v)
    if f == 0:
        return "0"
    if f.is_integer() and abs(f) < 1e9:
        return str(int(f))
    return f"{f:.4g}"


def signed(v: Any) -> str:
    """``fmt(v)``, in parentheses when negative, for a number after an operator: "x - (-0.09)",
    "+ (-44)", "1.5*(-0.26)" (not "x - -0.09", "+ -44")."""
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def plus_join(values: Any) -> str:
    """Numbers added up as a person writes it: "50 + 170 + (-44)"."""
    vals = list(values)
    return " + ".join([fmt(vals[0])] + [signed(v) for v in vals[1:]]) if vals else ""


def host(layer: Any, name: str) -> np.ndarray:
    """Parameter or state array ``name`` of a built layer, on the host (NumPy)."""
    arr = layer.params[name] if name in layer.params else layer.state[name]
    get = getattr(arr, "get", None)   # a CuPy array copies itself to the host with .get()
    return np.asarray(get() if callable(get) and not isinstance(arr, np.ndarray) else arr)


def elementwise(x: np.ndarray, y: np.ndarray, at: tuple[int, ...], function: str,
                rule: Callable[[np.ndarray], np.ndarray], note: str = "") -> dict[str, Any]:
    """An element-wise layer's explanation: input, function, output, and the function's curve.

    ``rule`` is the function written plainly (float64), independent of the engine's kernel,
    so "total" checks the engine's output rather than repeating it.
    """
    v = x[at]
    total = y.dtype.type(rule(np.asarray(v, dtype=np.float64)))
    lo, hi = min(-4.0, float(v) - 1.0), max(4.0, float(v) + 1.0)
    xs = np.linspace(lo, hi, 81)
    out: dict[str, Any] = {
        "kind": "elementwise", "input": float(v), "function": function, "output": float(y[at]),
        "total": float(total), "formula": f"{substitute(function, v)} = {fmt(y[at])}",
        "curve": {"x": floats(xs), "y": floats(rule(xs))},
    }
    if note:
        out["note"] = note
    return out


def substitute(function: str, v: Any) -> str:
    """``"max(0, x)"`` with x = -2.31 -> ``"max(0, -2.31)"`` (every standalone x replaced)."""
    text = fmt(v)
    out = []
    for i, ch in enumerate(function):
        alone = ch == "x" and (i == 0 or not function[i - 1].isalnum()) and \
            (i + 1 == len(function) or not function[i + 1].isalnum())
        out.append(text if alone else ch)
    return "".join(out)


def window_at(origin: int, size: int) -> list[int]:
    """Input rows (or columns) a window starting at ``origin`` covers (negative: padding)."""
    return list(range(origin, origin + size))


def cut(plane: np.ndarray, rows: list[int], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """plane[rows][:, cols] of a 2-D map, with 0 where a row or column lies outside it (zero
    padding); returns (values, padding mask)."""
    h, w = plane.shape
    r = np.asarray(rows)
    c = np.asarray(cols)
    inside_r = (r >= 0) & (r < h)
    inside_c = (c >= 0) & (c < w)
    mask = ~(inside_r[:, None] & inside_c[None, :])
    out = np.zeros((len(rows), len(cols)), dtype=plane.dtype)
    out[np.ix_(inside_r, inside_c)] = plane[np.ix_(r[inside_r], c[inside_c])]
    return out, mask
