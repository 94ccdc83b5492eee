"""The layer base class: the contract every layer type fulfils, declared once.

A layer is one class that says everything about itself (Keras 3's layer contract,
teenygrad's paired forward/backward):

- ``hyperparameters``: the declared schema (``schema.Hyper``: name, kind, default,
  range, label, help). Construction, validation, ``get_config``/``from_config``, the
  default config and the editor's widgets all come from it.
- ``param_shapes(input_shape)`` / ``state_shapes(input_shape)``: the trainable and the
  non-trainable arrays for an input shape. Parameter counts, allocation and the
  weight-file checks all come from these.
- traits the rest of the code asks about instead of keeping lists of type names:
  ``sample_independent``, ``window_field``, ``receptive_rule``, ``affine``,
  ``keeps_linearity``, ``must_be_last``, ``interchangeable``.
- ``output_shape``, ``multiply_adds``, ``summary``, ``hints``, and the runtime:
  ``build``, ``forward``, ``backward`` side by side.

Shapes here are per sample, without the batch axis: ``(C, H, W)`` for images
and ``(F,)`` for flat vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from cnnstudio.engine.errors import ShapeError
from cnnstudio.engine.initializers import init_weight
from cnnstudio.engine.layers.schema import Hyper, bind

Shape = tuple[int, ...]
#: How a layer changes the receptive field of the units after it (see model.shapes):
#: "window" slides ``window()`` with its stride; "same" keeps it; "flatten" keeps each
#: element's own window but records the union over all positions for the next layer;
#: "global" makes each output see every position at once; "connect_all" (dense) sees
#: the union recorded by the flatten before it.
ReceptiveRule = Literal["window", "same", "flatten", "global", "connect_all"]


def require_spatial(layer_type: str, input_shape: Shape) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ShapeError(layer_type, "needs_spatial",
                         f"needs an image-shaped input (height x width x channels), got a flat vector of {input_shape[0]}",
                         input_shape=tuple(input_shape))
    c, h, w = (int(s) for s in input_shape)
    return c, h, w


def require_flat(layer_type: str, input_shape: Shape) -> int:
    if len(input_shape) != 1:
        raise ShapeError(layer_type, "needs_flat",
                         "needs a flat vector input, got an image-shaped input "
                         f"{input_shape[1]}x{input_shape[2]}x{input_shape[0]}",
                         input_shape=tuple(input_shape))
    return int(input_shape[0])


class Layer:
    """Base class. Subclasses set ``type_name`` and ``category`` and implement the hooks.

    Construction validates hyperparameters only; nothing is allocated until
    ``build`` is called with the input shape, so shape inference is instant.
    """

    type_name: ClassVar[str] = ""
    #: palette group: "conv", "activation", "pool", "reshape", "dense", "regularization",
    #: "normalization", "output"
    category: ClassVar[str] = ""
    #: short description shown in palettes and tooltips
    description: ClassVar[str] = ""
    #: the declared hyperparameters, in constructor order (positional arguments follow it)
    hyperparameters: ClassVar[tuple[Hyper, ...]] = ()

    # ---- traits (asked by the model, the executor and the GUI) -------------------
    #: each sample's output depends on that sample alone (False for BatchNorm's batch
    #: statistics): the network may then run parts of a batch on separate replicas
    sample_independent: ClassVar[bool] = True
    #: the hyperparameter holding the sliding window ("kernel_size", "pool_size"), if any;
    #: its stride is the ``stride`` hyperparameter
    window_field: ClassVar[str | None] = None
    receptive_rule: ClassVar[ReceptiveRule] = "same"
    #: a weighted linear map (x -> Wx + b): two in a row with nothing non-linear between
    #: them are still one linear map
    affine: ClassVar[bool] = False
    #: linear and weight-free (dropout, flatten, average pooling): does not break a
    #: chain of affine layers
    keeps_linearity: ClassVar[bool] = False
    #: may only end the network (Softmax)
    must_be_last: ClassVar[bool] = False
    #: layer types with the same hyperparameters that the editor offers to switch
    #: between in place ("pool": max / average / sum); "" for none
    interchangeable: ClassVar[str] = ""
    #: reads two or more tensors (Add, Concatenate): ``input_shape`` is then the tuple of
    #: their shapes, ``forward`` takes a list and ``backward`` returns one gradient each
    merges: ClassVar[bool] = False
    #: what to insert before the layer when it gets an image but needs a flat vector
    needs_flat_fix: ClassVar[str] = "insert Flatten before it"

    def __init__(self, *args: Any, **config: Any) -> None:
        """Hyperparameters by position (schema order) or name; each validated by its ``Hyper``."""
        for name, value in bind(self.type_name, self.hyperparameters, args, config).items():
            setattr(self, name, value)
        self._derive()

    def _derive(self) -> None:
        """Hook: values computed from the validated hyperparameters (e.g. a default stride)."""

    # ---- description -------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-safe hyperparameters; ``type(self).from_config(cfg)`` rebuilds an equal layer."""
        return {h.name: h.to_json(getattr(self, h.name)) for h in self.hyperparameters}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every hyperparameter at its default, as JSON."""
        return cls().get_config()

    @classmethod
    def hyper(cls, name: str) -> Hyper:
        """The declaration of hyperparameter ``name`` (KeyError if the type has none)."""
        for h in cls.hyperparameters:
            if h.name == name:
                return h
        raise KeyError(f"{cls.type_name} has no hyperparameter {name!r}")

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample output shape; raises ShapeError when the input cannot be accepted."""
        return tuple(input_shape)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """Trainable arrays for this input, name -> shape (``"W"``, ``"b"``, ``"gamma"`` ...)."""
        return {}

    def state_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """Non-trainable arrays saved with the weights (running statistics), name -> shape."""
        return {}

    def param_count(self, input_shape: Shape) -> int:
        """Number of trainable parameters for this input shape."""
        return sum(math.prod(s) for s in self.param_shapes(input_shape).values())

    def non_trainable_count(self, input_shape: Shape) -> int:
        """Number of non-trainable values stored with the weights (e.g. running statistics)."""
        return sum(math.prod(s) for s in self.state_shapes(input_shape).values())

    def window(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """((kh, kw), (sh, sw)) of the sliding window, or None for layers without one."""
        if self.window_field is None:
            return None
        kh, kw = getattr(self, self.window_field)
        sh, sw = getattr(self, "stride")
        return (int(kh), int(kw)), (int(sh), int(sw))

    def hints(self, input_shape: Shape) -> list[str]:
        """Teaching hints about this layer alone (allowed, probably unintended), each without
        the "layer N Type:" head, which the model adds."""
        win = self.window()
        if win is None:
            return []
        (kh, kw), (sh, sw) = win
        if sh > kh or sw > kw:
            return [f"stride {sh}x{sw} is larger than the {kh}x{kw} window, so some pixels are never "
                    f"looked at; use a stride of at most {kh}x{kw}"]
        return []

    def multiply_adds(self, input_shape: Shape) -> int:
        """Approximate multiply-accumulate operations per sample (forward pass)."""
        return 0

    def summary(self) -> str:
        """Key hyperparameters in a few words, e.g. ``"8 @ 3x3, stride 1, same"``."""
        return ""

    # ---- export ----------------------------------------------------------------
    # How the layer maps to ONNX and PyTorch, declared here so the exporters and the importer
    # (cnnstudio.project.export) only iterate over the registry: no format keeps a table of
    # type names. Nothing here imports onnx or torch. Arrays are host NumPy, keyed by the
    # layer's own names ("W", "b", "running_mean"); shapes are per sample.
    #: the ONNX op of a one-node, weight-free layer (element-wise activations); others override
    #: ``onnx_nodes`` / ``from_onnx``
    onnx_op: ClassVar[str] = ""
    #: ONNX ops with no CNN Studio block for which this layer is the nearest substitute: the
    #: importer's refusal names it ("node /fc/Gelu (Gelu) has no CNN Studio block; replace it with ReLU")
    onnx_substitute_for: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def export_stem(cls) -> str:
        """Stem of the block's name in exported files ("conv" for Conv2D): ``conv1``, ``relu2``."""
        stem = cls.type_name.lower()
        return stem[:-2] if stem.endswith("2d") else stem

    def onnx_attrs(self) -> dict[str, Any]:
        """Attributes of the ``onnx_op`` node (e.g. LeakyRelu's alpha)."""
        return {}

    def onnx_nodes(self, g: "OnnxGraph", x: str, input_shape: Shape, weights: dict[str, np.ndarray]) -> str:
        """Add this layer's inference nodes to the builder ``g`` reading value ``x``; return the
        output value's name (``x`` itself when inference needs no node, e.g. Dropout).

        ``g.node(op, inputs, **attrs) -> output``; ``g.weight(suffix, array) -> initializer name``
        (named ``{block}.{suffix}``); ``g.const(suffix, array)`` for other constants.
        """
        if not self.onnx_op:
            raise NotImplementedError(f"{self.type_name} declares no ONNX mapping")
        return g.node(self.onnx_op, [x], **self.onnx_attrs())

    @classmethod
    def onnx_config(cls, attrs: dict[str, Any]) -> dict[str, Any]:
        """Hyperparameters from the ``onnx_op`` node's attributes (the inverse of ``onnx_attrs``)."""
        return {}

    @classmethod
    def from_onnx(cls, node: Any, reader: Any) -> "OnnxMatch | None":
        """This layer read from ``node`` (plus the nodes after it that it claims), or None when the
        node is not this layer type.

        ``node``: ``op``, ``name``, ``inputs``, ``outputs``, ``attrs`` (plain Python values).
        ``reader``: ``const(value) -> ndarray | None``, ``weight(node, i) -> ndarray`` (refuses a
        non-constant), ``only_consumer(value) -> node | None``, ``shape_of(value)`` (a Reshape's
        target with ``reader.BATCH`` for the batch size), ``input_shape`` (per sample, the engine's),
        ``refuse(node, why, substitute="")``.
        """
        if cls.onnx_op and node.op == cls.onnx_op:
            return OnnxMatch(cls(**cls.onnx_config(node.attrs)), {}, (node,), node.outputs[0])
        return None

    def torch_module(self, input_shape: Shape) -> str | None:
        """PyTorch source building this block's ``nn.Module`` (``"nn.ReLU()"``); None: no module."""
        return None

    def torch_forward(self, attr: str, x: str, input_shape: Shape) -> str:
        """PyTorch source of this block's step in ``forward`` applied to the expression ``x``."""
        return f"self.{attr}({x})"

    def torch_tensors(self, weights: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        """This layer's arrays under the module's ``state_dict`` names and layouts ("weight", ...)."""
        return {}

    def from_torch_tensors(self, tensors: dict[str, np.ndarray], input_shape: Shape) -> dict[str, np.ndarray]:
        """The inverse of ``torch_tensors``: the layer's own arrays ("W", "b", ...) from a state dict."""
        return {}

    # ---- explain ---------------------------------------------------------------
    # How one output cell was computed, beside the forward pass that computed it: the
    # Explain view and ``cnnstudio explain`` (through engine.explain) only call this.
    def explain(self, x: np.ndarray, y: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
        """The arithmetic of output cell ``at`` of one sample, as plain JSON-safe data.

        ``x``: this layer's input for the sample, ``(C, H, W)`` or ``(F,)``; ``y``: its output
        from the same forward pass, ``(C', H', W')`` or ``(F',)``; host NumPy arrays in the
        engine's dtype. ``at``: ``(c, row, col)`` or ``(i,)``, inside ``y``. Returns at least
        ``kind`` (how to draw it: "convolution", "elementwise", "pooling", "flatten",
        "weighted_sum", "softmax", "normalise"), ``formula`` (one line with the numbers
        plugged in) and ``total``: the shown terms recombined in the engine's dtype, equal to
        ``y[at]`` up to its rounding (tests/engine/test_explain.py checks every layer type).
        """
        raise NotImplementedError(f"{self.type_name} cannot explain its output yet")

    # ---- runtime -----------------------------------------------------------
    #: The network sets this to False on its first layer: nobody reads that input
    #: gradient, and skipping it saves a GEMM and a col2im per step. ``backward``
    #: then returns None.
    need_input_grad: bool = True
    #: training leaves this layer's parameters as they are (a hand-set filter): ``Network.parameters``
    #: skips it, so no optimizer sees it (set from ``LayerSpec.frozen``)
    frozen: bool = False
    #: Dropout's pre-drawn numbers for the next training forward (engine.replicas sets them on
    #: every replica; layers without randomness ignore them)
    uniform: Any = None

    def build(self, input_shape: Shape, xp: Any, dtype: Any = np.float32,
              rng: np.random.Generator | None = None, init: str = "he") -> "Layer":
        """Allocate ``params``, ``grads`` (same keys, zeros) and ``state`` for ``input_shape``.

        ``input_shape`` is per sample: ``(C, H, W)`` or ``(F,)``. ``xp`` is the array
        module (numpy or cupy); ``rng`` a host NumPy Generator used for the initial
        weights and kept for Dropout masks; ``init`` is "he" or "glorot".
        Returns self so calls chain.
        """
        self.input_shape = tuple(int(s) for s in input_shape)
        self.out_shape = self.output_shape(self.input_shape)
        self.xp = xp
        self.dtype = np.dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.init = init
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self._bufs: dict[str, Any] = {}
        self._allocate()
        for name, value in self.params.items():
            self.grads[name] = xp.zeros_like(value)
        return self

    def _allocate(self) -> None:
        """Fill ``self.params`` and ``self.state`` from the declared shapes (grads are made by ``build``).

        Layers with plans or caches extend this (call ``super()._allocate()`` first).
        """
        for name, shape in self.param_shapes(self.input_shape).items():
            self.params[name] = self.initial_value(name, shape)
        for name, shape in self.state_shapes(self.input_shape).items():
            self.state[name] = self.initial_value(name, shape)

    def initial_value(self, name: str, shape: Shape) -> Any:
        """Starting value of array ``name``: weights ``W`` from the initialiser, everything else 0."""
        if name == "W":
            return init_weight(self.init, shape, self.rng, self.xp, self.dtype)
        return self.xp.zeros(shape, dtype=self.dtype)

    def _buffer(self, name: str, shape: tuple[int, ...], zero: bool = False, dtype: Any = None) -> Any:
        """A work array kept between calls and reallocated only when ``shape`` changes.

        Reuse matters: fresh multi-megabyte arrays cost page faults on every step.
        ``zero`` fills a new buffer with zeros (for cells the caller never writes).
        """
        buf = self._bufs.get(name)
        dtype = self.dtype if dtype is None else dtype
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            make = self.xp.zeros if zero else self.xp.empty
            buf = self._bufs[name] = make(shape, dtype=dtype)
        return buf

    def forward(self, x: Any, training: bool = False) -> Any:
        """x: (C, N, H, W) for images (CNHW, the engine's layout) or (N, F) -> output.

        With ``training`` the output may be a buffer the layer reuses on its next
        training forward (copy it to keep it). Inference outputs are always fresh and
        inference writes no shared buffer nor any state read by backward, so several
        threads may run inference on one built layer at once.
        """
        raise NotImplementedError(f"{self.type_name} has no forward pass")

    def backward(self, dy: Any) -> Any:
        """dy: gradient of the loss w.r.t. the last forward output -> dx (same shape as x).

        Overwrites ``self.grads``. May overwrite ``dy`` in place (it is a temporary of
        the backward chain); pass a copy if you need it afterwards. The returned dx may
        be an internal buffer, valid until the next backward. Returns None when
        ``need_input_grad`` is False.
        """
        raise NotImplementedError(f"{self.type_name} has no backward pass")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layer) and type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---- export ----------------------------------------------------------------------
class OnnxGraph(Protocol):
    """What ``Layer.onnx_nodes`` writes to (project.export.onnx_export.OnnxBuilder)."""

    def node(self, op: str, inputs: list[str], hint: dict[str, Any] | None = None, **attrs: Any) -> str: ...

    def weight(self, suffix: str, array: np.ndarray) -> str: ...

    def const(self, suffix: str, array: np.ndarray) -> str: ...


@dataclass(frozen=True)
class OnnxMatch:
    """What ``Layer.from_onnx`` read: the layer, its arrays (its own names; None: absent), the
    ONNX nodes it stands for (in graph order) and the value its output continues as."""

    layer: Layer
    weights: dict[str, Any]
    nodes: tuple[Any, ...]
    output: str
