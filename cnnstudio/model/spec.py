"""The network description: plain, versioned data with no engine objects inside.

A ``NetworkSpec`` is an input (height, width, channels) plus an ordered list of
``LayerSpec(type, config)``. Specs are value objects: two specs that mean the
same network compare equal (configs are normalised through the engine layer
class, so ``{"kernel_size": 3}`` and ``{"kernel_size": [3, 3]}`` are one thing),
``copy()`` gives an independent copy, and the undo stack relies on both.

JSON form (``format_version`` 1)::

    {"format_version": 1, "name": "lenet5",
     "input": {"height": 28, "width": 28, "channels": 1},
     "layers": [{"type": "Conv2D", "config": {"filters": 6, ...}}, ...]}

Treat ``config`` dicts as read-only; derive changed layers with ``with_config``.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.engine.layers import LAYER_TYPES, Layer
from cnnstudio.model.errors import ModelFormatError

#: 1: a chain (each layer reads the one before); 2: layers may name their ``inputs`` (a graph).
#: A chain is still written as version 1, so earlier releases keep opening it.
FORMAT_VERSION = 2
CHAIN_FORMAT_VERSION = 1
#: the network input, as a layer's source index in ``inputs``
INPUT = -1
MAX_INPUT_SIZE = 4096
MAX_INPUT_CHANNELS = 512
#: pixels 0..255 -> 0..1, what every network used before the Input block recorded its preprocessing
DEFAULT_SCALE = 1.0 / 255.0


def known_layer_types() -> list[str]:
    return list(LAYER_TYPES)


def layer_class(type_name: str, path: str = "type") -> type[Layer]:
    """The engine class for ``type_name``; ModelFormatError naming the nearest known type otherwise."""
    if not isinstance(type_name, str):
        raise ModelFormatError(path, f"layer type must be a string, got {type_name!r}")
    cls = LAYER_TYPES.get(type_name)
    if cls is None:
        known = ", ".join(LAYER_TYPES)
        near = difflib.get_close_matches(type_name, list(LAYER_TYPES), n=1, cutoff=0.5)
        if not near:  # case slips ("conv2d") score low on ratio; compare case-folded too
            folded = {t.lower(): t for t in LAYER_TYPES}
            near = [folded[m] for m in difflib.get_close_matches(type_name.lower(), list(folded), n=1, cutoff=0.5)]
        if not near:  # long spellings ("Convolution", "maxpooling") share the first letters
            near = [t for t in LAYER_TYPES if type_name[:4].lower() == t[:4].lower()][:1]
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ModelFormatError(path, f"unknown layer type {type_name!r}.{hint} Known types: {known}")
    return cls


def default_config(type_name: str) -> dict[str, Any]:
    """The full config of a layer type with every hyperparameter at its default."""
    return layer_class(type_name).default_config()


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """One layer: its engine type name and hyperparameters.

    Construction checks the type and the field names (``ModelFormatError``) and
    validates the values once, through the layer's declared schema: a valid config is
    normalised (defaults filled in) and its engine layer kept as the description that
    shape inference, summaries and hints read. A config with an impossible *value*
    (``filters=0``) is kept as given so shape inference can report it as a problem;
    ``check()`` raises it.
    """

    type: str
    config: dict[str, Any] = field(default_factory=dict)
    #: indices of the layers it reads (``INPUT`` = -1 for the network input), or None for
    #: "the layer before it" (a chain); merges (Add, Concatenate) name two or more
    inputs: tuple[int, ...] | None = None
    #: training leaves its weights alone (hand-set filters, the lessons); saved as "frozen": true
    frozen: bool = False
    _layer: Layer | None = field(default=None, init=False, repr=False, compare=False)
    _error: LayerConfigError | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cls = layer_class(self.type)
        if not isinstance(self.config, Mapping):
            raise ModelFormatError("config", f"{self.type} config must be a mapping of hyperparameters, "
                                   f"got {type(self.config).__name__}")
        if self.inputs is not None:
            refs = list(self.inputs) if isinstance(self.inputs, (list, tuple)) else None
            if not refs or any(isinstance(r, bool) or not isinstance(r, int) or r < INPUT for r in refs):
                raise ModelFormatError("inputs", f"{self.type} inputs must be a list of layer numbers "
                                       f"(-1 for the network input), got {self.inputs!r}")
            object.__setattr__(self, "inputs", tuple(int(r) for r in refs))
        if not isinstance(self.frozen, bool):
            raise ModelFormatError("frozen", f"{self.type} frozen must be true or false, got {self.frozen!r}")
        allowed = [h.name for h in cls.hyperparameters]
        for key in self.config:
            if key not in allowed:
                fields = ", ".join(allowed) or "none"
                raise ModelFormatError(f"config.{key}", f"{self.type} has no hyperparameter {key!r}; "
                                       f"its hyperparameters are: {fields}")
        layer: Layer | None = None
        error: LayerConfigError | None = None
        try:
            layer = cls.from_config(dict(self.config))
            normal = layer.get_config()
        except LayerConfigError as exc:
            error = exc
            normal = {**cls.default_config(), **copy.deepcopy(dict(self.config))}
        object.__setattr__(self, "config", normal)
        object.__setattr__(self, "_layer", layer)
        object.__setattr__(self, "_error", error)

    def check(self) -> Layer:
        """The engine layer this spec describes (validated once, at construction; treat it as
        read-only: ``new_layer()`` gives one to build); raises ``LayerConfigError`` for an
        impossible value."""
        if self._error is not None:
            raise self._error
        assert self._layer is not None
        return self._layer

    def new_layer(self) -> Layer:
        """A fresh, unbuilt engine layer for a network (no validation again: the values were checked)."""
        layer = copy.copy(self.check())
        layer.frozen = self.frozen
        return layer

    @property
    def is_valid(self) -> bool:
        try:
            self.check()
        except LayerConfigError:
            return False
        return True

    def with_config(self, **changes: Any) -> "LayerSpec":
        return LayerSpec(self.type, {**self.config, **changes}, self.inputs, self.frozen)

    def with_inputs(self, inputs: tuple[int, ...] | list[int] | None) -> "LayerSpec":
        """The same layer reading ``inputs`` (None: the layer before it)."""
        twin = self.copy()
        return LayerSpec(twin.type, twin.config, None if inputs is None else tuple(inputs), self.frozen)

    def copy(self) -> "LayerSpec":
        # Skips re-validation: the config was checked and normalised when self was made.
        # Values are scalars or short lists, so copying lists is enough to be independent.
        twin = object.__new__(LayerSpec)
        object.__setattr__(twin, "type", self.type)
        object.__setattr__(twin, "config", {k: copy.deepcopy(v) if isinstance(v, (list, dict)) else v
                                            for k, v in self.config.items()})
        object.__setattr__(twin, "inputs", self.inputs)
        object.__setattr__(twin, "frozen", self.frozen)
        object.__setattr__(twin, "_layer", self._layer)   # an unbuilt description, never mutated
        object.__setattr__(twin, "_error", self._error)
        return twin

    def summary(self) -> str:
        """Key hyperparameters in a few words (``"8 @ 3x3, stride 1, valid"``), "" if invalid."""
        try:
            return self.check().summary()
        except LayerConfigError:
            return ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "config": copy.deepcopy(self.config)}
        if self.inputs is not None:
            out["inputs"] = list(self.inputs)
        if self.frozen:
            out["frozen"] = True
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerSpec):
            return NotImplemented
        return (self.type == other.type and self.config == other.config and self.inputs == other.inputs
                and self.frozen == other.frozen)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=repr))


def _check_size(name: str, value: Any, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LayerConfigError("Input", name, value, "a whole number")
    if not 1 <= int(value) <= maximum:
        raise LayerConfigError("Input", name, value, f"between 1 and {maximum}")
    return int(value)


@dataclass(frozen=True)
class InputSpec:
    """The network input as a person describes it: height x width x channels, and how pixels
    become numbers: ``x * scale`` (``1/255`` by default: pixels 0..255 -> 0..1), then, when given,
    ``(x - mean[c]) / std[c]`` per channel. Training, prediction, the drawing canvas and every
    export apply it through ``prepare`` / ``normalize`` (or the same arithmetic, in that order).

    Impossible values raise ``LayerConfigError`` with layer type "Input".
    """

    height: int = 28
    width: int = 28
    channels: int = 1
    scale: float = DEFAULT_SCALE
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "height", _check_size("height", self.height, MAX_INPUT_SIZE))
        object.__setattr__(self, "width", _check_size("width", self.width, MAX_INPUT_SIZE))
        object.__setattr__(self, "channels", _check_size("channels", self.channels, MAX_INPUT_CHANNELS))
        object.__setattr__(self, "scale", _check_number("scale", self.scale, positive=True))
        mean = _check_per_channel("mean", self.mean, self.channels, positive=False)
        std = _check_per_channel("std", self.std, self.channels, positive=True)
        if (mean is None) != (std is None):   # one given: the other is the identity
            mean = mean or (0.0,) * self.channels
            std = std or (1.0,) * self.channels
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Engine order ``(C, H, W)``."""
        return (self.channels, self.height, self.width)

    @property
    def hwc(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    def display(self) -> str:
        return f"{self.height} x {self.width} x {self.channels}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"height": self.height, "width": self.width, "channels": self.channels,
                               "scale": self.scale}
        if self.mean is not None:
            out["mean"], out["std"] = list(self.mean), list(self.std or ())
        return out

    # ---- preprocessing -------------------------------------------------------
    @property
    def normalized(self) -> bool:
        """True when a per-channel mean and std follow the scale."""
        return self.mean is not None

    def scale_text(self) -> str:
        """The scale as people write it: ``"1/255"``, ``"0.5"``."""
        inverse = 1.0 / self.scale
        if inverse > 1 and abs(inverse - round(inverse)) < 1e-9 * inverse:
            return f"1/{round(inverse)}"
        return f"{self.scale:g}"

    def preprocessing_text(self) -> str:
        """One line for the Input card: ``"x 1/255"`` or ``"x 1/255, - mean, / std"``."""
        text = f"pixels x {self.scale_text()}"
        if self.mean is not None:
            mean = ", ".join(f"{v:g}" for v in self.mean)
            std = ", ".join(f"{v:g}" for v in self.std or ())
            text += f", - ({mean}), / ({std})"
        return text

    def with_preprocessing(self, scale: float, mean: Any = None, std: Any = None) -> "InputSpec":
        return InputSpec(self.height, self.width, self.channels, scale, mean, std)

    def resized(self, height: int, width: int, channels: int) -> "InputSpec":
        """Another size with this preprocessing; a per-channel mean/std that no longer fits the
        channel count is kept only when every channel had the same values."""
        mean, std = self.mean, self.std
        if mean is not None and std is not None and len(mean) != channels:
            same = len(set(mean)) == 1 and len(set(std)) == 1
            mean, std = ((mean[0],) * channels, (std[0],) * channels) if same else (None, None)
        return InputSpec(height, width, channels, self.scale, mean, std)

    def prepare(self, images_uint8_nhwc: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """images: uint8 (N, H, W, C) -> (N, C, H, W) ``dtype``, preprocessed for the network."""
        x = images_uint8_nhwc
        if x.ndim != 4:
            raise ValueError(f"Input.prepare expects images (N, H, W, C), got shape {x.shape}")
        dt = np.dtype(dtype)
        out = np.empty((x.shape[0], x.shape[3]) + x.shape[1:3], dtype=dt)
        np.multiply(x.transpose(0, 3, 1, 2), dt.type(self.scale), out=out, casting="unsafe")
        return self.normalize(out)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """x: scaled (N, C, H, W) -> ``(x - mean) / std`` per channel, in place (x itself without them)."""
        if self.mean is not None and self.std is not None:
            dt = x.dtype
            x -= np.asarray(self.mean, dtype=dt)[:, None, None]
            x /= np.asarray(self.std, dtype=dt)[:, None, None]
        return x


def _check_number(name: str, value: Any, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise LayerConfigError("Input", name, value, "a finite number")
    if positive and float(value) <= 0:
        raise LayerConfigError("Input", name, value, "a number above 0")
    return float(value)


def _check_per_channel(name: str, values: Any, channels: int, positive: bool) -> tuple[float, ...] | None:
    """None, or one number per channel (one number for all channels is repeated)."""
    if values is None:
        return None
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)) or len(values) not in (1, channels):
        raise LayerConfigError("Input", name, values, f"one number per channel ({channels})")
    checked = tuple(_check_number(name, v, positive) for v in values)
    return checked * channels if len(checked) == 1 and channels > 1 else checked


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """A whole network: ``name``, ``input`` (an InputSpec or an (h, w, c) tuple) and ``layers``."""

    name: str = "untitled"
    input: InputSpec = field(default_factory=InputSpec)
    layers: list[LayerSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ModelFormatError("name", f"must be a string, got {self.name!r}")
        inp = self.input
        if isinstance(inp, (tuple, list)) and len(inp) == 3:
            inp = InputSpec(*inp)
        if not isinstance(inp, InputSpec):
            raise ModelFormatError("input", f"must be an InputSpec or (height, width, channels), got {inp!r}")
        layers = list(self.layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, LayerSpec):
                raise ModelFormatError(f"layers[{i}]", f"must be a LayerSpec, got {type(layer).__name__}")
        object.__setattr__(self, "input", inp)
        object.__setattr__(self, "layers", layers)

    # ---- derived copies ----------------------------------------------------
    def copy(self) -> "NetworkSpec":
        return NetworkSpec(self.name, self.input, [layer.copy() for layer in self.layers])

    def with_layers(self, layers: list[LayerSpec]) -> "NetworkSpec":
        return NetworkSpec(self.name, self.input, [layer.copy() for layer in layers])

    def with_input(self, height: int, width: int, channels: int) -> "NetworkSpec":
        """Another input size; the preprocessing stays (``InputSpec.resized``)."""
        return NetworkSpec(self.name, self.input.resized(height, width, channels),
                           [layer.copy() for layer in self.layers])

    def with_name(self, name: str) -> "NetworkSpec":
        return NetworkSpec(name, self.input, [layer.copy() for layer in self.layers])

    # ---- value semantics ---------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkSpec):
            return NotImplemented
        return self.name == other.name and self.input == other.input and self.layers == other.layers

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __len__(self) -> int:
        return len(self.layers)

    # ---- serialisation -----------------------------------------------------
    @property
    def is_chain(self) -> bool:
        """Every layer reads the one before it (no layer names its inputs)."""
        return all(layer.inputs is None for layer in self.layers)

    def sources(self, index: int) -> tuple[int, ...]:
        """The layers layer ``index`` reads (``INPUT`` for the network input)."""
        refs = self.layers[index].inputs
        return (index - 1,) if refs is None else refs

    def to_dict(self) -> dict[str, Any]:
        version = CHAIN_FORMAT_VERSION if self.is_chain else FORMAT_VERSION
        return {"format_version": version, "name": self.name, "input": self.input.to_dict(),
                "layers": [layer.to_dict() for layer in self.layers]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any) -> "NetworkSpec":
        """Parse and check a dict; ``ModelFormatError`` names the field path of the first fault."""
        return _parse_network(data)

    @classmethod
    def from_json(cls, text: str) -> "NetworkSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFormatError("", f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
        except RecursionError:  # 5,000 nested lists
            raise ModelFormatError("", "not a model: JSON nested far too deeply") from None
        except ValueError:  # Python's int-digits limit (its message suggests sys.set_int_max_str_digits())
            raise ModelFormatError("", "not a model: a number with thousands of digits") from None
        try:
            return _parse_network(data)
        except RecursionError:  # a deep value where a field was expected
            raise ModelFormatError("", "not a model: JSON nested far too deeply") from None


# ---- parsing ---------------------------------------------------------------
def _expect_keys(data: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    where = path or "network"
    if not isinstance(data, dict):
        raise ModelFormatError(path, f"{where} must be a JSON object, got {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ModelFormatError(_join(path, missing[0]), f"missing field {missing[0]!r} in {where}")
    extra = [k for k in data if k not in required and k not in optional]
    if extra:
        raise ModelFormatError(_join(path, str(extra[0])), f"unexpected field {extra[0]!r} in {where}; "
                               f"expected only: {', '.join(required + optional)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parse_network(data: Any) -> NetworkSpec:
    if isinstance(data, dict) and "format_version" in data:
        version = data["format_version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise ModelFormatError("format_version", f"must be a whole number, got {version!r}")
        if version > FORMAT_VERSION:
            raise ModelFormatError("format_version", f"this network was written by a newer CNN Studio "
                                   f"(format_version {version}); this version reads format_version "
                                   f"{CHAIN_FORMAT_VERSION} and {FORMAT_VERSION}; "
                                   "update CNN Studio to open it")
        if version < CHAIN_FORMAT_VERSION:
            raise ModelFormatError("format_version", f"unknown format_version {version}; "
                                   f"this version reads format_version {CHAIN_FORMAT_VERSION} and {FORMAT_VERSION}")
    _expect_keys(data, "", ("format_version", "name", "input", "layers"))
    if not isinstance(data["name"], str):
        raise ModelFormatError("name", f"must be a string, got {data['name']!r}")
    inp = _parse_input(data["input"])
    if not isinstance(data["layers"], list):
        raise ModelFormatError("layers", f"must be a list of layers, got {type(data['layers']).__name__}")
    layers = [_parse_layer(item, f"layers[{i}]") for i, item in enumerate(data["layers"])]
    if data["format_version"] == CHAIN_FORMAT_VERSION:   # version 1 knew only chains
        named = [i for i, layer in enumerate(layers) if layer.inputs is not None]
        if named:
            raise ModelFormatError(f"layers[{named[0]}].inputs", "format_version 1 networks are chains and "
                                   "cannot name inputs; write format_version 2")
    return NetworkSpec(data["name"], inp, layers)


def _parse_input(data: Any) -> InputSpec:
    # scale, mean and std are optional: projects from before preprocessing was recorded used 1/255
    _expect_keys(data, "input", ("height", "width", "channels"), ("scale", "mean", "std"))
    try:
        return InputSpec(data["height"], data["width"], data["channels"], data.get("scale", DEFAULT_SCALE),
                         data.get("mean"), data.get("std"))
    except LayerConfigError as exc:
        raise ModelFormatError(f"input.{exc.field}", f"must be {exc.requirement}, got {exc.value!r}") from None


def _parse_layer(data: Any, path: str) -> LayerSpec:
    _expect_keys(data, path, ("type", "config"), ("inputs", "frozen"))
    layer_class(data["type"], f"{path}.type")
    config = data["config"]
    if not isinstance(config, dict):
        raise ModelFormatError(f"{path}.config", f"must be a JSON object, got {type(config).__name__}")
    inputs = data.get("inputs")
    if inputs is not None and not isinstance(inputs, list):
        raise ModelFormatError(f"{path}.inputs", f"must be a list of layer numbers, got {inputs!r}")
    try:
        spec = LayerSpec(data["type"], config, None if inputs is None else tuple(inputs), data.get("frozen", False))
    except ModelFormatError as exc:
        raise ModelFormatError(f"{path}.{exc.path}", exc.reason) from None
    try:
        spec.check()
    except LayerConfigError as exc:
        raise ModelFormatError(f"{path}.config.{exc.field}",
                               f"{exc.layer_type} {exc.field} must be {exc.requirement}, got {exc.value!r}") from None
    return spec
