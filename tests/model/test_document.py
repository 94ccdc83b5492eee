"""Document: every command's execute/undo/redo, exact restore, dirty tracking, listeners, read-only."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.engine.errors import LayerConfigError
from cnnstudio.model import EditError, LayerSpec, NetworkSpec, ReadOnlyError, get_template
from cnnstudio.model.commands import (AddLayer, DuplicateLayer, MoveLayer, RemoveLayer, RenameNetwork,
                                      ReplaceLayer, ReplaceNetwork, SetInput, SetLayerConfig)
from cnnstudio.model.document import Document


@pytest.fixture
def doc():
    return Document(get_template("simple-cnn"))


def names(spec):
    return [layer.type for layer in spec.layers]


COMMANDS = [
    (lambda: AddLayer(1, LayerSpec("Dropout", {"rate": 0.25})), "Add Dropout",
     ["Conv2D", "Dropout", "ReLU", "MaxPool2D", "Flatten", "Dense", "Softmax"]),
    (lambda: AddLayer(6, LayerSpec("ReLU")), "Add ReLU",
     ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "Softmax", "ReLU"]),
    (lambda: RemoveLayer(2), "Remove MaxPool2D", ["Conv2D", "ReLU", "Flatten", "Dense", "Softmax"]),
    (lambda: MoveLayer(2, 0), "Move MaxPool2D", ["MaxPool2D", "Conv2D", "ReLU", "Flatten", "Dense", "Softmax"]),
    (lambda: MoveLayer(0, 2), "Move Conv2D", ["ReLU", "MaxPool2D", "Conv2D", "Flatten", "Dense", "Softmax"]),
    (lambda: DuplicateLayer(0), "Duplicate Conv2D",
     ["Conv2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "Softmax"]),
    (lambda: SetLayerConfig(0, "filters", 16), "Change Conv2D filters", None),
    (lambda: SetInput(32, 32, 3), "Change input to 32 x 32 x 3", None),
    (lambda: ReplaceNetwork(get_template("lenet5")), "Load lenet5", None),
    (lambda: RenameNetwork("mine"), "Rename network", None),
    (lambda: ReplaceLayer(2, LayerSpec("AvgPool2D")), "Change MaxPool2D to AvgPool2D",
     ["Conv2D", "ReLU", "AvgPool2D", "Flatten", "Dense", "Softmax"]),
]


@pytest.mark.parametrize("make, text, after", COMMANDS, ids=[c[1] for c in COMMANDS])
def test_every_command_executes_undoes_and_redoes_exactly(doc, make, text, after):
    before = doc.spec
    assert doc.execute(make())
    done = doc.spec
    assert done != before
    if after is not None:
        assert names(done) == after
    assert doc.undo_text == f"Undo {text}" and doc.can_undo and not doc.can_redo
    doc.undo()
    assert doc.spec == before and doc.redo_text == f"Redo {text}" and doc.can_redo
    doc.redo()
    assert doc.spec == done


def test_set_config_changes_downstream_shapes(doc):
    doc.execute(SetLayerConfig(0, "filters", 16))
    assert doc.spec.layers[0].config["filters"] == 16
    assert doc.report.layers[2].output_shape == (16, 13, 13)
    doc.execute(SetInput(32, 32, 3))
    assert doc.report.layers[0].output_shape == (16, 30, 30)


def test_new_command_after_undo_drops_the_redo_tail(doc):
    doc.execute(RemoveLayer(1))
    doc.execute(RemoveLayer(1))
    doc.undo()
    assert doc.can_redo
    doc.execute(DuplicateLayer(0))
    assert not doc.can_redo and doc.redo_text == "Redo"
    doc.redo()  # nothing to redo: no change
    assert names(doc.spec)[:2] == ["Conv2D", "Conv2D"]


def test_dirty_tracking(doc):
    assert not doc.is_dirty and doc.clean
    doc.execute(RemoveLayer(1))
    assert doc.is_dirty
    doc.set_clean()
    assert not doc.is_dirty
    doc.undo()
    assert doc.is_dirty
    doc.redo()
    assert not doc.is_dirty
    doc.undo()
    doc.execute(RemoveLayer(0))  # the saved state is now unreachable
    assert doc.is_dirty
    doc.undo()
    assert doc.is_dirty


def test_listeners_get_an_event_after_every_change(doc):
    events = []
    unsubscribe = doc.subscribe(events.append)
    doc.execute(AddLayer(0, LayerSpec("BatchNorm")))
    doc.undo()
    doc.redo()
    doc.set_clean()
    assert [e.action for e in events] == ["execute", "undo", "redo", "clean"]
    assert events[0].text == "Add BatchNorm" and events[0].dirty
    assert events[1].spec == get_template("simple-cnn")
    assert events[2].spec == doc.spec and not events[3].dirty
    unsubscribe()
    doc.execute(RemoveLayer(0))
    assert len(events) == 4


def test_invalid_network_edit_is_allowed_but_invalid_value_is_refused(doc):
    assert doc.execute(SetLayerConfig(2, "pool_size", [30, 30]))  # 30 > 26: too big: allowed, shown as a problem
    assert doc.report.problem.index == 2
    before = doc.spec
    with pytest.raises(LayerConfigError, match="filters must be between 1 and 8192, got 0"):
        doc.execute(SetLayerConfig(0, "filters", 0))
    with pytest.raises(LayerConfigError, match="height"):
        doc.execute(SetInput(0, 28, 1))
    with pytest.raises(LayerConfigError, match="rate"):
        doc.execute(AddLayer(0, LayerSpec("Dropout", {"rate": 2.0})))
    assert doc.spec == before and doc.undo_text == "Undo Change MaxPool2D window"


@pytest.mark.parametrize("command, needle", [
    (SetLayerConfig(0, "filter", 3), "no hyperparameter 'filter'; its hyperparameters are: filters"),
    (RemoveLayer(6), "layer index 6 is out of range (valid: 0..5)"),
    (MoveLayer(0, -1), "out of range"),
    (AddLayer(7, LayerSpec("ReLU")), "valid: 0..6"),
    (AddLayer(0, "ReLU"), "expected a LayerSpec"),
    (RenameNetwork(""), "non-empty"),
])
def test_bad_edits_are_refused_with_a_clear_error(doc, command, needle):
    with pytest.raises(EditError) as info:
        doc.execute(command)
    assert needle in str(info.value)
    assert not doc.can_undo


def test_no_op_edits_record_nothing(doc):
    assert not doc.execute(MoveLayer(1, 1))
    assert not doc.execute(SetLayerConfig(0, "filters", 8))
    assert not doc.can_undo and not doc.is_dirty


def test_spin_box_steps_merge_into_one_undo(doc):
    for value in (9, 10, 11):
        doc.execute(SetLayerConfig(0, "filters", value), merge=True)
    assert doc.spec.layers[0].config["filters"] == 11
    with pytest.raises(LayerConfigError):
        doc.execute(SetLayerConfig(0, "filters", -1), merge=True)
    assert doc.spec.layers[0].config["filters"] == 11
    doc.undo()
    assert doc.spec == get_template("simple-cnn") and not doc.can_undo


def test_read_only_refuses_edits_with_the_reason(doc):
    doc.execute(RemoveLayer(0))
    doc.read_only = True
    for action in (lambda: doc.execute(RemoveLayer(0)), doc.undo, doc.redo):
        with pytest.raises(ReadOnlyError, match="cannot be edited while training runs; stop training first"):
            action()
    doc.read_only = False
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


def test_spec_is_a_copy_so_outside_mutation_cannot_corrupt_history(doc):
    spec = doc.spec
    spec.layers[0].config["filters"] = 99
    spec.layers.pop()
    assert doc.spec == get_template("simple-cnn")


def test_reset_clears_history_and_is_clean(doc):
    doc.execute(RemoveLayer(0))
    doc.reset(get_template("mlp"))
    assert doc.spec == get_template("mlp") and not doc.can_undo and not doc.is_dirty


# ---- property: undo all restores the start, redo all restores the end -------------------------
LAYER_CHOICES = [LayerSpec("ReLU"), LayerSpec("Flatten"), LayerSpec("Dense", {"units": 5}),
                 LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3}), LayerSpec("MaxPool2D"),
                 LayerSpec("Dropout", {"rate": 0.3}), LayerSpec("Softmax"), LayerSpec("BatchNorm")]
FIELD_VALUES = {"filters": [1, 3, 16], "units": [2, 7], "rate": [0.0, 0.9], "kernel_size": [1, [5, 3]],
                "padding": ["same", "valid", 2], "pool_size": [3, [1, 2]], "momentum": [0.5],
                "use_bias": [False, True], "stride": [2, 1]}


def draw_command(data, spec):
    n = len(spec.layers)
    kinds = ["add", "input", "replace"] + (["remove", "move", "dup", "set", "replace_layer"] if n else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "add":
        return AddLayer(data.draw(st.integers(0, n)), data.draw(st.sampled_from(LAYER_CHOICES)))
    if kind == "input":
        return SetInput(data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40)), data.draw(st.integers(1, 3)))
    if kind == "replace":
        return ReplaceNetwork(get_template(data.draw(st.sampled_from(["mlp", "simple-cnn", "lenet5"]))))
    i = data.draw(st.integers(0, n - 1))
    if kind == "remove":
        return RemoveLayer(i)
    if kind == "move":
        return MoveLayer(i, data.draw(st.integers(0, n - 1)))
    if kind == "dup":
        return DuplicateLayer(i)
    if kind == "replace_layer":
        return ReplaceLayer(i, data.draw(st.sampled_from(LAYER_CHOICES)))
    fields = [f for f in spec.layers[i].config if f in FIELD_VALUES]
    if not fields:
        return DuplicateLayer(i)
    f = data.draw(st.sampled_from(fields))
    return SetLayerConfig(i, f, data.draw(st.sampled_from(FIELD_VALUES[f])))


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(["simple-cnn", "mlp", "lenet5"]), st.integers(1, 12))
def test_undo_all_restores_start_and_redo_all_restores_end(data, template, steps):
    doc = Document(get_template(template))
    start = doc.spec
    for _ in range(steps):
        doc.execute(draw_command(data, doc.spec))
    end = doc.spec
    while doc.can_undo:
        doc.undo()
    assert doc.spec == start and not doc.is_dirty
    while doc.can_redo:
        doc.redo()
    assert doc.spec == end
    assert NetworkSpec.from_json(end.to_json()) == end  # documents only ever hold valid hyperparameters


def test_pool_stride_follows_pool_size_unless_set_apart(doc):
    doc.execute(SetLayerConfig(2, "pool_size", 3))
    assert doc.spec.layers[2].config == {"pool_size": [3, 3], "stride": [3, 3]}
    doc.execute(SetLayerConfig(2, "stride", 1))
    doc.execute(SetLayerConfig(2, "pool_size", 2))
    assert doc.spec.layers[2].config == {"pool_size": [2, 2], "stride": [1, 1]}
    doc.undo()
    doc.undo()
    doc.undo()
    assert doc.spec == get_template("simple-cnn")


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(1, 20))
def test_interleaved_edits_undo_redo_match_a_snapshot_model(data, steps):
    # Reference model: a list of snapshots and a cursor, as a person expects undo to behave.
    doc = Document(get_template("simple-cnn"))
    history, cursor = [doc.spec], 0
    for _ in range(steps):
        action = data.draw(st.sampled_from(["edit", "edit", "undo", "redo"]))
        if action == "undo" and doc.can_undo:
            doc.undo()
            cursor -= 1
        elif action == "redo" and doc.can_redo:
            doc.redo()
            cursor += 1
        elif action == "edit" and doc.execute(draw_command(data, doc.spec)):
            history = history[:cursor + 1] + [doc.spec]
            cursor += 1
        assert doc.spec == history[cursor]
        assert doc.can_undo == (cursor > 0) and doc.can_redo == (cursor < len(history) - 1)
        assert doc.is_dirty == (cursor != 0)  # the opened state (empty undo stack) is the saved one
