"""The message codec between the app and its training process: JSON plus raw array bytes, no pickle.

One message is ``MAGIC``, a 4-byte big-endian header length, a UTF-8 JSON header and then
the bytes of its arrays, back to back. The header is ``{"kind": str, "data": <JSON>,
"arrays": {group: [[name, dtype, shape, offset, nbytes], ...]}}``: ``data`` holds plain
JSON values only (numbers, strings, lists, dicts with string keys, None; NaN allowed, as
loss values can be), and each array group (``weights``, ``optimizer_state``) maps names to
numeric NumPy arrays (bool, int, uint, float, complex; no object arrays). Anything else is
refused with :class:`WireError` when encoding, and a malformed message (bad magic, header,
dtype or a span outside the payload) when decoding: nothing is ever unpickled.

Sent with ``multiprocessing.connection.Connection.send_bytes`` / ``recv_bytes`` (which move
bytes and do not pickle; ``send``/``recv``, Queue and Pool would).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

MAGIC = b"CSW1"
_NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """A message cannot be encoded (a value that is not plain JSON or a numeric array) or decoded."""


@dataclass
class Message:
    """A decoded message: its ``kind``, its JSON ``data`` and its array groups (read-only views
    of the received bytes; copy before writing)."""

    kind: str
    data: Any = None
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _check_json(value: Any, where: str) -> None:
    """Plain JSON values only (json.dumps alone would turn int keys and tuples into something else)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, (int, float)):   # numpy.float64 is a float; numpy ints/float32 are not JSON
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError(f"message field {where}: key {key!r} is a {type(key).__name__}, not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise WireError(f"message field {where}: a {type(value).__name__} is not plain JSON "
                    "(send numbers, strings, lists and dicts; arrays go in an array group)")


def encode(kind: str, data: Any = None, arrays: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """One message as bytes; WireError for anything that is not plain JSON or a numeric array."""
    if not isinstance(kind, str) or not kind:
        raise WireError(f"message kind must be a non-empty string, got {kind!r}")
    _check_json(data, "data")
    spans: dict[str, list[list[Any]]] = {}
    chunks: list[bytes | memoryview] = []
    offset = 0
    for group, named in (arrays or {}).items():
        if not isinstance(group, str):
            raise WireError(f"array group name must be a string, got {group!r}")
        rows = spans.setdefault(group, [])
        for name, value in named.items():
            if not isinstance(name, str):
                raise WireError(f"array name in group {group!r} must be a string, got {name!r}")
            if not isinstance(value, (np.ndarray, np.generic, int, float)) or isinstance(value, bool):
                raise WireError(f"array {group}/{name}: a {type(value).__name__} is not a NumPy array")
            arr = np.asarray(value, order="C")   # (ascontiguousarray would make a 0-d array 1-d)
            if arr.dtype.kind not in _NUMERIC_KINDS:
                raise WireError(f"array {group}/{name}: dtype {arr.dtype} is not numeric")
            raw = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")  # type: ignore[arg-type]  # numpy's stubs lack the buffer protocol
            rows.append([name, arr.dtype.str, list(arr.shape), offset, raw.nbytes])
            chunks.append(raw)
            offset += raw.nbytes
    try:
        header = json.dumps({"kind": kind, "data": data, "arrays": spans}, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as exc:  # _check_json should have caught it; never fall back to repr
        raise WireError(f"message {kind!r} cannot be written as JSON: {exc}") from exc
    return b"".join([MAGIC, struct.pack(">I", len(header)), header, *chunks])


def decode(buf: bytes | bytearray | memoryview) -> Message:
    """A Message from ``encode``'s bytes; WireError when they are not one."""
    view = memoryview(buf).cast("B")
    if len(view) < 8 or bytes(view[:4]) != MAGIC:
        raise WireError("not a CNN Studio training message (bad magic)")
    (size,) = struct.unpack(">I", view[4:8])
    if 8 + size > len(view):
        raise WireError(f"training message header of {size} bytes runs past the message ({len(view)} bytes)")
    try:
        header = json.loads(bytes(view[8:8 + size]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"training message header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise WireError("training message header has no kind")
    payload = view[8 + size:]
    arrays: dict[str, dict[str, np.ndarray]] = {}
    groups = header.get("arrays") or {}
    if not isinstance(groups, dict):
        raise WireError("training message arrays must be an object")
    for group, rows in groups.items():
        out = arrays.setdefault(group, {})
        for row in rows:
            try:
                name, dtype_str, shape, offset, nbytes = row
                dtype = np.dtype(dtype_str)
                shape = tuple(int(s) for s in shape)
                offset, nbytes = int(offset), int(nbytes)
            except (TypeError, ValueError) as exc:
                raise WireError(f"training message array entry {row!r} is malformed: {exc}") from exc
            if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
                raise WireError(f"array {group}/{name}: dtype {dtype_str!r} is not numeric")
            if any(s < 0 for s in shape) or math.prod(shape) * dtype.itemsize != nbytes:
                raise WireError(f"array {group}/{name}: shape {shape} and {nbytes} bytes disagree")
            if offset < 0 or offset + nbytes > len(payload):
                raise WireError(f"array {group}/{name}: bytes {offset}..{offset + nbytes} lie outside the message")
            out[str(name)] = np.frombuffer(payload, dtype=dtype, count=math.prod(shape),
                                           offset=offset).reshape(shape)
    return Message(header["kind"], header.get("data"), arrays)


def copies(named: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Writable host copies of a decoded array group (decoded arrays are views of the message)."""
    return {k: np.array(v, copy=True) for k, v in named.items()}
