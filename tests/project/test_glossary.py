"""Every "?" has an entry: every layer type, every hyperparameter of the layer schema, every
training setting (the registry, the schema and SETTINGS, not a list kept here)."""

from __future__ import annotations

import pytest

from cnnstudio.engine.layers import LAYER_TYPES
from cnnstudio.model.training_config import SETTINGS
from cnnstudio.project.glossary import entry, hyper_key, layer_key, setting_key, terms

HYPERS = [(t, h.name) for t, cls in LAYER_TYPES.items() for h in cls.hyperparameters]


def _check(key: str) -> None:
    e = entry(key)
    assert isinstance(e["title"], str) and e["title"].strip()
    assert isinstance(e["text"], str) and 40 <= len(e["text"]) <= 400, (key, len(e["text"]))


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES) + [""])
def test_every_block_has_an_entry(type_name: str) -> None:
    _check(layer_key(type_name))


@pytest.mark.parametrize("type_name,name", HYPERS)
def test_every_hyperparameter_has_an_entry(type_name: str, name: str) -> None:
    _check(hyper_key(type_name, name))


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_training_setting_has_an_entry(name: str) -> None:
    _check(setting_key(name))


def test_type_specific_entry_overrides_the_shared_one() -> None:
    assert hyper_key("MaxPool2D", "stride") == "hyper.MaxPool2D.stride"
    assert hyper_key("Conv2D", "stride") == "hyper.stride"


def test_every_entry_is_plain_text() -> None:
    for key, e in terms().items():
        assert set(e) == {"title", "text"}, key
        assert "<" not in e["text"] and "{" not in e["text"], key


def test_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="glossary has no entry 'layer.Nope'.*layer.Conv2D"):
        entry("layer.Nope")
