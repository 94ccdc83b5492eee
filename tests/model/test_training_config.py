"""TrainingConfig: defaults, dict round-trip, refusals that quote the value."""

import pytest

from cnnstudio.engine.schedules import schedule_from_config
from cnnstudio.model.training_config import TrainingConfig, TrainingConfigError


def test_defaults_suit_mnist_and_round_trip():
    c = TrainingConfig()
    assert (c.optimizer, c.lr, c.schedule, c.batch_size, c.epochs, c.dataset) == ("adam", 2e-3, "cosine", 32, 10, "sample")
    assert TrainingConfig.from_dict(c.to_dict()) == c
    custom = TrainingConfig(optimizer="sgd", lr=0.05, nesterov=True, schedule="cosine", min_lr=1e-4,
                            augment=True, rotation=15, seed=7, backend="cupy")
    back = TrainingConfig.from_dict(custom.to_dict())
    assert back == custom and back.rotation == 15.0 and isinstance(back.rotation, float)


def test_missing_keys_take_defaults():
    assert TrainingConfig.from_dict({"epochs": 3}) == TrainingConfig(epochs=3)


@pytest.mark.parametrize("field, value, needle", [
    ("lr", -0.1, "lr must be a number > 0"), ("lr", "fast", "'fast'"), ("epochs", 0, "from 1 to"),
    ("batch_size", 6.5, "6.5"), ("optimizer", "rmsprop", "'sgd', 'adam'"), ("schedule", "linear", "'cosine'"),
    ("augment", "yes", "true or false"), ("val_fraction", 0.95, "0.95"), ("backend", "torch", "'numpy'"),
    ("momentum", 1.0, "momentum"), ("seed", -1, "seed"), ("rotation", 270, "180"),
])
def test_bad_values_are_refused_quoting_the_value(field, value, needle):
    with pytest.raises(TrainingConfigError) as info:
        TrainingConfig(**{field: value})
    assert info.value.field == field and needle in str(info.value)
    c = TrainingConfig()
    with pytest.raises(TrainingConfigError):
        setattr(c, field, value)
    assert getattr(c, field) == getattr(TrainingConfig(), field)


def test_unknown_key_suggests_the_nearest():
    with pytest.raises(TrainingConfigError, match="unknown setting 'epoch'; did you mean 'epochs'"):
        TrainingConfig.from_dict({"epoch": 3})


def test_dependent_settings():
    with pytest.raises(TrainingConfigError, match="Nesterov needs momentum"):
        TrainingConfig(optimizer="sgd", momentum=0.0, nesterov=True)
    with pytest.raises(TrainingConfigError, match="min_lr"):
        TrainingConfig(schedule="cosine", lr=0.01, min_lr=0.1)


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine"])
def test_schedule_config_builds_an_engine_schedule(schedule):
    c = TrainingConfig(schedule=schedule, lr=0.01)
    s = schedule_from_config(c.schedule_config()).bind(steps_per_epoch=10, total_steps=100)
    assert s.lr_at(0) == pytest.approx(0.01)
    if schedule != "constant":
        assert s.lr_at(99) < 0.01


def test_every_field_is_declared_once_with_a_label_help_and_a_rule_that_matches():
    from dataclasses import fields

    from cnnstudio.model.training_config import SETTINGS

    assert [f.name for f in fields(TrainingConfig)] == list(SETTINGS)
    defaults = TrainingConfig()
    for name, setting in SETTINGS.items():
        assert setting.label and setting.help
        assert setting.check(getattr(defaults, name)) == getattr(defaults, name)
        if setting.kind in ("int", "float"):
            low, high = setting.widget_range()
            setting.check(low if setting.kind == "float" else int(low))
            setting.check(high if setting.kind == "float" else int(high))
            with pytest.raises(TrainingConfigError):
                setting.check(high + 1)
            with pytest.raises(TrainingConfigError):
                setting.check(setting.low if setting.low_open else setting.low - 1)
