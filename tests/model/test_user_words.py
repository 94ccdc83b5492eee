"""Messages name hyperparameters as the user sees them (the schema's labels: "kernel", "window",
"bias"), never by internal names such as ``kernel_size`` (issue 13). Scans the messages of
every layer type's every field: refused edits, the problems list, fixes and undo texts."""

from __future__ import annotations

import pytest

from cnnstudio.engine.errors import EngineError, field_words
from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.model import Document, InputSpec, LayerSpec, NetworkSpec, SetLayerConfig
from cnnstudio.model.errors import ModelError
from cnnstudio.model.shapes import infer_shapes

BAD_VALUES = (-5, 0, 10**9, "nonsense", [0, 0], [1, 2, 3], None, 2.5, True)


def _internal_names() -> set[str]:
    """Hyperparameter names that differ from the words the editor shows (kernel_size, pool_size, use_bias)."""
    return {h.name for t, cls in LAYER_TYPES.items() for h in cls.hyperparameters if field_words(t, h.name) != h.name}


def _network_with(layer: LayerSpec) -> NetworkSpec:
    flat_first = layer.type in ("Dense", "Dropout")
    head = [LayerSpec("Flatten")] if flat_first else []
    tail = [] if flat_first else [LayerSpec("Flatten")]
    return NetworkSpec("t", InputSpec(28, 28, 1), head + [layer] + tail + [LayerSpec("Dense", {"units": 10}),
                                                                          LayerSpec("Softmax")])


FIELDS = [(t, h.name) for t, cls in LAYER_TYPES.items() for h in cls.hyperparameters]


def test_the_internal_names_exist_and_have_words():
    names = _internal_names()
    assert {"kernel_size", "pool_size", "use_bias"} <= names
    assert field_words("Conv2D", "kernel_size") == "kernel" and field_words("MaxPool2D", "pool_size") == "window"


@pytest.mark.parametrize("layer_type,field", FIELDS)
def test_messages_about_every_field_use_the_users_words(layer_type, field):
    internal = _internal_names()
    messages: list[str] = []
    layer = LayerSpec(layer_type)
    spec = _network_with(layer)
    index = next(i for i, ls in enumerate(spec.layers) if ls.type == layer_type)
    for bad in BAD_VALUES:
        doc = Document(spec)
        try:
            doc.execute(SetLayerConfig(index, field, bad))   # the inspector's edit
        except (EngineError, ModelError, ValueError) as exc:
            messages.append(str(exc))
        else:
            messages.append(doc.undo_text)                      # "Undo Change Conv2D kernel"
    good = Document(spec)
    good.execute(SetLayerConfig(index, field, spec.layers[index].config[field]))
    messages.append(good.undo_text)
    assert messages
    for text in messages:
        for name in internal:
            assert name not in text, f"{layer_type}.{field}: {text!r} names {name!r}"


@pytest.mark.parametrize("layer_type", ["Conv2D", "MaxPool2D", "AvgPool2D", "SumPool2D"])
def test_window_fixes_and_config_problems_use_the_users_words(layer_type):
    internal = _internal_names()
    field = LAYER_TYPES[layer_type].window_field
    big = LayerSpec(layer_type, {field: [40, 40]})     # larger than the 28 x 28 input
    report = infer_shapes(_network_with(big))
    texts = [p.message + " / " + p.fix for p in report.problems]
    assert texts, "the oversized window is a problem"
    assert any(f"{field_words(layer_type, field)} of at most" in t for t in texts), texts
    for text in texts:
        assert not any(name in text for name in internal), text


@pytest.mark.parametrize("layer_type,field,bad", [("Conv2D", "kernel_size", [0, 0]), ("MaxPool2D", "pool_size", -1),
                                                  ("Conv2D", "use_bias", "maybe"), ("Dense", "use_bias", 3)])
def test_a_loaded_network_with_a_bad_value_is_explained_in_the_users_words(layer_type, field, bad):
    report = infer_shapes(_network_with(LayerSpec(layer_type, {field: bad})))
    [problem] = [p for p in report.problems if p.kind == "bad_config"]
    words = field_words(layer_type, field)
    assert f"{words} must be" in problem.message and problem.fix.startswith(f"set {words} to")
    assert field not in problem.message + problem.fix
