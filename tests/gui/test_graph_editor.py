"""The graph editor driven by the mouse: connect by dragging port to card, select a wire and
Delete it, drop a block on a wire, "Add skip connection"; every edit one undo step that restores
the exact graph; a graph project saved and reopened; the views of every layer of every branch."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt

from cnnstudio.gui.editor.canvas import layer_mime
from cnnstudio.gui.editor.cards import EdgeItem
from cnnstudio.gui.state import AppState
from cnnstudio.model.templates import get_template
from test_editor import drop_on_canvas

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

# mini-resnet: 3 MaxPool2D feeds block 1 (4..8) and its Add (9); 6 is block 1's ReLU


@pytest.fixture
def graph_state(qapp):
    return AppState(template="mini-resnet")


@pytest.fixture
def graph_editor(qtbot, graph_state):
    from cnnstudio.gui.editor.editor import NetworkEditor

    widget = NetworkEditor(graph_state)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def view_point(canvas, scene_xy) -> QPoint:
    """The viewport point of a scene point, scrolled into view first."""
    canvas.ensureVisible(scene_xy[0] - 5, scene_xy[1] - 5, 10, 10, 40, 40)
    return canvas.mapFromScene(QPointF(*scene_xy))


def drag(qtbot, canvas, start: QPoint, end: QPoint) -> None:
    """Press at ``start``, move there in steps with the button held, release at ``end``."""
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(vp, start + (end - start) * (k / 4))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def wire_midpoint(canvas, src: int, dst: int) -> tuple[float, float]:
    """The middle of the longest piece of a wire, in scene coordinates (from the layout)."""
    wire = canvas.layout_.wire(src, dst)
    a, b = max(wire.segments(), key=lambda s: abs(s[1][1] - s[0][1]) + abs(s[1][0] - s[0][0]))
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def drawn_wires(canvas) -> set[tuple[int, int]]:
    return {(item.src, item.dst) for item in canvas.scene().items() if isinstance(item, EdgeItem)}


def graph_wires(spec) -> set[tuple[int, int]]:
    return {(s, i) for i in range(len(spec.layers)) for s in spec.sources(i)}


def test_the_canvas_draws_one_wire_per_connection_along_the_layout(graph_editor, graph_state):
    canvas = graph_editor.canvas
    assert drawn_wires(canvas) == graph_wires(graph_state.spec)
    for edge in canvas.edges:
        path = edge.path()
        drawn = [(path.elementAt(k).x, path.elementAt(k).y) for k in range(path.elementCount())]
        assert drawn == [tuple(map(float, p)) for p in canvas.layout_.wire(edge.src, edge.dst).points]
        assert edge.label == next(c.shape_text for c in graph_editor.view.cards if c.index == edge.src)
    for card in canvas.cards:   # cards sit where the layout put them
        assert (card.pos().x(), card.pos().y()) == canvas.layout_.positions[card.info.index]


def test_dragging_an_output_port_onto_a_merge_connects_it_and_undo_restores_the_graph(qtbot, graph_editor,
                                                                                      graph_state):
    canvas, doc = graph_editor.canvas, graph_state.document
    before = graph_state.spec
    start = view_point(canvas, canvas.layout_.output_port(6))
    x, y, w, h = canvas.layout_.card_rect(9)
    end = view_point(canvas, (x + w / 2, y + h / 2))
    start = view_point(canvas, canvas.layout_.output_port(6))   # both in view after scrolling
    drag(qtbot, canvas, start, end)
    after = graph_state.spec
    assert after.layers[9].inputs == (8, 3, 6)                    # the Add gained a third input
    assert (6, 9) in drawn_wires(canvas) and (6, 9) in graph_wires(after)
    assert doc.undo_text == "Undo Connect 7 ReLU to 10 Add"
    doc.undo()
    assert graph_state.spec == before and (6, 9) not in drawn_wires(canvas)
    doc.redo()
    assert graph_state.spec == after


def test_dragging_onto_a_one_input_block_rewires_it(qtbot, graph_editor, graph_state):
    canvas = graph_editor.canvas
    x, y, w, h = canvas.layout_.card_rect(5)                      # BatchNorm after block 1's first conv
    end = view_point(canvas, (x + w / 2, y + 3))
    start = view_point(canvas, canvas.layout_.output_port(3))
    drag(qtbot, canvas, start, end)
    assert graph_state.spec.sources(5) == (3,)
    assert graph_editor.view.problem is not None and graph_editor.view.problem.index == 4  # 5 Conv2D dangles


def test_a_drag_that_ends_beside_the_blocks_changes_nothing(qtbot, graph_editor, graph_state):
    canvas = graph_editor.canvas
    before = graph_state.spec
    start = view_point(canvas, canvas.layout_.output_port(6))
    drag(qtbot, canvas, start, start + QPoint(0, 12) + QPoint(-int(canvas.layout_.geometry.card_w), 0))
    assert graph_state.spec == before and not graph_state.document.can_undo


def test_clicking_a_wire_and_pressing_delete_disconnects_it(qtbot, graph_editor, graph_state):
    canvas, doc = graph_editor.canvas, graph_state.document
    before = graph_state.spec
    pos = view_point(canvas, wire_midpoint(canvas, 3, 9))        # block 1's identity shortcut
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert canvas.selected_wire == (3, 9) and graph_editor.selected == -2
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert graph_state.spec.layers[9].inputs == (8,)
    assert (3, 9) not in drawn_wires(canvas)
    problem = graph_editor.view.problem                           # the Add now merges one input: red, explained
    assert problem.index == 9 and "merges two or more inputs" in problem.message
    card = next(c for c in canvas.cards if c.info.index == 9)
    assert card.info.status == "error"
    assert doc.undo_text == "Undo Disconnect 4 MaxPool2D from 10 Add"
    doc.undo()
    assert graph_state.spec == before and (3, 9) in drawn_wires(canvas)


def test_dropping_a_block_on_a_graph_wire_inserts_it_on_that_wire_only(qtbot, graph_editor, graph_state):
    canvas, doc = graph_editor.canvas, graph_state.document
    before = graph_state.spec
    point = QPointF(*wire_midpoint(canvas, 3, 9))
    canvas.ensureVisible(point.x() - 5, point.y() - 5, 10, 10)
    assert drop_on_canvas(qtbot, canvas, layer_mime("Dropout"), point)
    spec = graph_state.spec
    assert spec.layers[9].type == "Dropout" and spec.sources(9) == (3,)
    assert spec.layers[10].type == "Add" and spec.sources(10) == (8, 9)
    assert spec.sources(4) == (3,)                                # the block's other wire is untouched
    assert graph_editor.view.problem is None
    assert doc.undo_text == "Undo Insert Dropout between 4 MaxPool2D and 10 Add"
    doc.undo()
    assert graph_state.spec == before


def test_dropping_a_block_on_a_chain_wire_of_a_graph_keeps_that_part_a_chain(qtbot, graph_editor, graph_state):
    canvas = graph_editor.canvas
    point = QPointF(*wire_midpoint(canvas, 5, 6))
    canvas.ensureVisible(point.x() - 5, point.y() - 5, 10, 10)
    assert drop_on_canvas(qtbot, canvas, layer_mime("Dropout"), point)
    spec = graph_state.spec
    assert spec.layers[6].type == "Dropout" and spec.layers[6].inputs is None and spec.sources(7) == (6,)
    assert spec.sources(10) == (9, 3)                             # the Add still reads block 1 and the pool


def test_add_skip_connection_then_click_a_later_block(qtbot, editor, state):
    """On a chain (lenet5): the skip makes it a graph; one undo makes it the same chain again."""
    canvas, doc = editor.canvas, state.document
    before = state.spec
    editor.select(1)                                              # 2 ReLU (24 x 24 x 6)
    editor.add_skip_connection()
    assert editor.pick_hint.isVisible() and "layer 2 ReLU" in editor.pick_hint.text()
    x, y, w, h = canvas.layout_.card_rect(2)                      # 3 MaxPool2D ... pick 2 ReLU's next: 3
    pos = view_point(canvas, (x + w / 2, y + h / 2))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    spec = state.spec
    assert spec.layers[3].type == "Add" and spec.sources(3) == (1, 2)
    assert spec.sources(4) == (3,)                                # whoever read the pool reads the Add
    assert not editor.pick_hint.isVisible()
    assert editor.selected == 3 and (1, 3) in drawn_wires(canvas)
    assert doc.undo_text == "Undo Add skip connection from 2 ReLU to 3 MaxPool2D"
    doc.undo()
    assert state.spec == before and state.spec.is_chain


def test_escape_cancels_a_skip_connection(qtbot, editor, state):
    editor.select(0)
    editor.add_skip_connection()
    assert editor.pick_hint.isVisible()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Escape)
    assert not editor.pick_hint.isVisible() and not state.document.can_undo


def test_undo_and_redo_of_a_run_of_graph_edits_restore_each_exact_graph(qtbot, graph_editor, graph_state):
    from cnnstudio.gui.editor import wiring

    doc = graph_state.document
    specs = [graph_state.spec]
    for edit in (lambda: wiring.connect(doc, 6, 9), lambda: wiring.disconnect(doc, 3, 9),
                 lambda: wiring.insert_on_wire(doc, 8, 9, "ReLU"), lambda: wiring.add_skip_connection(doc, -1, 2),
                 lambda: wiring.move_onto_wire(doc, 2, 0, 1)):
        edit()
        specs.append(graph_state.spec)
    assert len({s.to_json() for s in specs}) == len(specs)        # each edit changed the graph
    for k in range(len(specs) - 1, 0, -1):
        doc.undo()
        assert graph_state.spec == specs[k - 1]
        assert drawn_wires(graph_editor.canvas) == graph_wires(specs[k - 1])
    for k in range(1, len(specs)):
        doc.redo()
        assert graph_state.spec == specs[k]
    assert drawn_wires(graph_editor.canvas) == graph_wires(specs[-1])


def test_a_graph_project_saves_and_reopens_with_its_wiring(qtbot, tmp_path, graph_editor, graph_state):
    from cnnstudio.gui.editor import wiring

    wiring.connect(graph_state.document, 6, 9)
    saved = graph_state.spec
    path = graph_state.save(str(tmp_path / "graph.cnnproj"))
    reopened = AppState(template="lenet5")
    reopened.open(path)
    assert reopened.spec == saved and reopened.spec.layers[9].inputs == (8, 3, 6)
    assert not reopened.spec.is_chain
    from cnnstudio.gui.editor.editor import NetworkEditor
    other = NetworkEditor(reopened)
    qtbot.addWidget(other)
    assert drawn_wires(other.canvas) == graph_wires(saved)


def test_feature_maps_show_every_layer_of_every_branch(qtbot):
    from cnnstudio.data import to_float_nchw
    from cnnstudio.gui.inside import FeatureMapsPanel, Inspector
    from cnnstudio.gui.inside.mosaic import as_maps, unpack

    state = AppState(template="mini-resnet")
    inspector = Inspector(state)
    panel = FeatureMapsPanel(inspector)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    inspector.refresh_now()
    spec = get_template("mini-resnet")
    assert len(inspector.labels) == len(spec.layers) + 1         # the input, then every layer
    assert inspector.labels[17] == "17 Conv2D  7 x 7 x 32"        # block 2's 1x1 projection, a side branch
    x = to_float_nchw(inspector.validation_set().x[:1])
    expected = inspector.network.forward_activations(x)
    view = panel.maps
    assert len(view.items) == len(spec.layers) + 1
    for i in (9, 16, 17, 18):                                     # the Add, both branches of block 2, its Add
        maps = as_maps(expected[i][0])
        np.testing.assert_allclose(unpack(view.items[i + 1].image, view.layouts[i + 1], 0), maps[0],
                                   rtol=1e-6, atol=1e-7)
    assert len(panel.filters.items) == sum(layer.type == "Conv2D" for layer in spec.layers)


def test_the_drawing_canvas_predicts_with_a_graph_network(qtbot):
    from cnnstudio.data import to_float_nchw
    from cnnstudio.gui.inside import DrawingPanel, Inspector

    state = AppState(template="mini-inception")
    inspector = Inspector(state)
    draw = DrawingPanel(inspector)
    qtbot.addWidget(draw)
    draw.resize(700, 420)
    inspector.refresh_now()
    draw.show()
    qtbot.waitExposed(draw)
    with qtbot.waitSignal(inspector.activationsChanged, timeout=5000):
        draw.canvas.draw_stroke([(140, 40), (141, 130), (140, 230)], 24)
    probs = draw.prediction.probs
    expected = inspector.network.forward(to_float_nchw(draw.digit[None, :, :, None]))[0]
    assert probs.shape == (10,)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)


def test_evaluation_runs_a_graph_network(qtbot):
    from cnnstudio.data import to_float_nchw
    from cnnstudio.engine.evaluation import evaluate
    from cnnstudio.gui.evaluation import EvaluationPanel
    from cnnstudio.project.session import build_network, build_with_weights

    state = AppState(template="mini-inception")
    state.set_dataset(state.dataset)
    panel = EvaluationPanel(state, show_sample=lambda *_: None)
    panel.show_error = lambda title, msg: pytest.fail(msg)
    qtbot.addWidget(panel)
    panel.resize(600, 900)
    panel.show()
    qtbot.waitExposed(panel)
    weights = build_network(state.spec, seed=0).get_weights()
    with qtbot.waitSignal(panel.evaluated, timeout=60_000):
        state.set_weights(weights)
    val = state.dataset[1]
    expected = evaluate(build_with_weights(state.spec, weights), to_float_nchw(val.x), val.y)
    assert np.array_equal(panel.matrix.matrix, expected.confusion)


def test_health_fixes_keep_a_graphs_wiring(graph_state):
    from cnnstudio.engine import health
    from cnnstudio.gui.training import runtools
    from cnnstudio.model.shapes import infer_shapes

    doc = graph_state.document
    spec = graph_state.spec
    layers = list(spec.layers)
    layers[6] = layers[6].with_inputs((5,))       # the same graph, with the ReLU's and Dense's inputs named
    layers[30] = layers[30].with_inputs((29,))
    from cnnstudio.model.commands import ReplaceNetwork
    doc.execute(ReplaceNetwork(spec.with_layers(layers)))
    runtools.edit_network(graph_state, health.Fix(health.REPLACE_WITH_LEAKY_RELU, "", {"index": 6}))
    assert graph_state.spec.layers[6].type == "LeakyReLU" and graph_state.spec.layers[6].inputs == (5,)
    runtools.edit_network(graph_state, health.Fix(health.INSERT_DROPOUT, "", {"index": 30, "rate": 0.5}))
    after = graph_state.spec
    assert after.layers[30].type == "Dropout" and after.sources(30) == (29,) and after.sources(31) == (30,)
    assert infer_shapes(after).complete


def test_the_training_panel_trains_a_graph_network(qtbot, small_data):
    from cnnstudio.gui.training.panel import TrainingPanel

    state = AppState(template="mini-inception")
    panel = TrainingPanel(state)
    qtbot.addWidget(panel)
    qtbot.addWidget(panel.plots)
    errors = []
    panel.show_error = lambda title, text: errors.append((title, text))
    panel.batch_size.setValue(64)
    panel.augment.setChecked(False)
    panel.epochs.setValue(1)
    try:
        with qtbot.waitSignal(panel.controller.finished, timeout=120_000) as blocker:
            assert panel.start(datasets=small_data), errors
        assert blocker.args == ["completed"], errors
        from cnnstudio.project.session import build_network

        assert [e["epoch"] for e in panel.controller.history["epochs"]] == [1]
        start = build_network(state.spec, seed=state.training_config.seed).get_weights()
        for key in ("9.W", "14.W", "18.W"):       # the 5x5 branch's 1x1 conv, the pool branch's conv, the Dense
            assert not np.allclose(state.weights[key], start[key]), key   # every branch was trained
    finally:
        if panel.controller.running:
            panel.controller.shutdown()


def test_dragging_a_card_onto_a_graph_wire_moves_it_there_in_one_step(qtbot, graph_editor, graph_state):
    from PyQt6.QtCore import QByteArray, QMimeData

    from cnnstudio.gui.editor.canvas import MOVE_MIME

    canvas, doc = graph_editor.canvas, graph_state.document
    before = graph_state.spec
    mime = QMimeData()
    mime.setData(MOVE_MIME, QByteArray(b"2"))                     # the stem's ReLU
    point = QPointF(*wire_midpoint(canvas, 3, 9))
    canvas.ensureVisible(point.x() - 5, point.y() - 5, 10, 10)
    assert drop_on_canvas(qtbot, canvas, mime, point)
    spec = graph_state.spec
    assert spec.layers[8].type == "ReLU" and spec.sources(8) == (2,) and spec.sources(9) == (7, 8)
    assert graph_editor.selected == 8
    doc.undo()
    assert graph_state.spec == before


def test_a_connection_that_makes_a_circle_is_drawn_and_explained_not_refused(qtbot, graph_editor, graph_state):
    from cnnstudio.gui.editor import wiring

    wiring.connect(graph_state.document, 9, 5)                   # 6 BatchNorm reads the Add after it
    assert graph_state.spec.sources(5) == (9,)
    edge = next(e for e in graph_editor.canvas.edges if (e.src, e.dst) == (9, 5))
    assert edge.wire.backward and edge.pen().style() == Qt.PenStyle.DashLine
    problem = graph_editor.view.problem
    assert "circle" in problem.message and "remove the connection" in problem.fix
    graph_state.document.undo()
    assert all(not e.wire.backward for e in graph_editor.canvas.edges)
