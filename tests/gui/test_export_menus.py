"""File > Export (ONNX, PyTorch, Diagram), File > Import > ONNX, and the Input block's preprocessing in the editor."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")   # the test command installs the export extra: never skips in CI
ort = pytest.importorskip("onnxruntime")


def action_texts(menu):
    return [a.text() for a in menu.actions()]


def test_the_file_menu_has_export_and_import(window):
    exports = window.menus.exports
    assert "&Export" in action_texts(window.menus.file_menu) and "&Import" in action_texts(window.menus.file_menu)
    assert action_texts(exports.export_menu) == ["&ONNX...", "&PyTorch...", "&Diagram (SVG and PNG)..."]
    assert action_texts(exports.import_menu) == ["&ONNX..."]


def test_export_onnx_runs_like_the_app(window, tmp_path):
    from cnnstudio.model import build_network

    spec = window.state.spec
    weights = build_network(spec, seed=5).get_weights()
    window.state.set_weights(weights)
    path = window.menus.exports.export_onnx_to(str(tmp_path / "net.onnx"))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    raw = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)).astype(np.uint8)
    net = build_network(spec)
    net.set_weights(weights)
    got = sess.run(None, {"pixels": raw.transpose(0, 3, 1, 2).astype(np.float32)})[0]
    np.testing.assert_allclose(got, net.forward(spec.input.prepare(raw)), atol=1e-5)


def test_export_pytorch_writes_the_folder(window, tmp_path):
    pytest.importorskip("safetensors")
    out = window.menus.exports.export_pytorch_to(str(tmp_path / "pt"))
    assert {p.name for p in out.iterdir()} == {"model.py", "weights.safetensors", "train.py", "README.md",
                                               "data.npz", "project.cnnproj"}


def test_export_diagram_writes_svg_and_png_of_the_editors_network(window, tmp_path):
    from PyQt6.QtGui import QImage

    svg, png = window.menus.exports.export_diagram_to(str(tmp_path / "diagram.svg"))
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "Conv2D" in text and "Softmax" in text
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 200 and image.height() > 200
    # not blank: the cards are drawn in colour on the white background
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 10


def test_import_onnx_opens_the_imported_project(window, tmp_path):
    from cnnstudio.model.templates import get_template
    from cnnstudio.project.export.onnx_export import export_onnx

    spec = get_template("mini-resnet")
    export_onnx(spec, None, tmp_path / "r.onnx")
    window.menus.exports.import_onnx_from(str(tmp_path / "r.onnx"), str(tmp_path / "r.cnnproj"))
    assert window.state.spec == spec
    assert window.state.path.endswith("r.cnnproj") and window.state.weights is not None


def test_a_refused_import_shows_the_message_and_writes_nothing(window, tmp_path, monkeypatch):
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    shown = []
    monkeypatch.setattr(window, "show_error", lambda title, message: shown.append(message))
    window.menus.exports._run("Import ONNX", window.menus.exports.import_onnx_from, str(tmp_path / "bad.onnx"),
                              str(tmp_path / "x.cnnproj"))
    assert shown and "is not an ONNX model" in shown[0]
    assert not (tmp_path / "x.cnnproj").exists()


def test_the_input_card_and_inspector_show_and_edit_the_preprocessing(qtbot, state):
    from cnnstudio.gui.editor.editor import NetworkEditor

    editor = NetworkEditor(state)
    qtbot.addWidget(editor)
    editor.show()
    editor.select(-1)
    ins = editor.inspector
    assert ins.fields["scale"].text() == "1/255" and ins.fields["mean"].text() == ""
    assert editor.view.cards[0].summary == "pixels x 1/255"
    ins.fields["mean"].setText("0.1307")
    ins.fields["std"].setText("0.3081")
    ins.fields["std"].editingFinished.emit()
    assert state.spec.input.mean == (0.1307,) and state.spec.input.std == (0.3081,)
    assert editor.view.cards[0].summary == "pixels x 1/255, - (0.1307), / (0.3081)"
    assert state.document.undo_text.startswith("Undo Change input preprocessing")
    ins.fields["scale"].setText("0")
    ins.fields["scale"].editingFinished.emit()
    assert "scale" in ins.error.text() and state.spec.input.scale == 1 / 255
    state.document.undo()
    assert state.spec.input.mean is None


def test_weights_that_no_longer_fit_are_not_exported_as_if_trained(window, tmp_path):
    from cnnstudio.model import build_network
    from cnnstudio.model.commands import SetLayerConfig
    from cnnstudio.project.export import ExportError

    window.state.set_weights(build_network(window.state.spec).get_weights())
    window.state.document.execute(SetLayerConfig(0, "filters", 7))
    with pytest.raises(ExportError, match="do not fit the network as it is now"):
        window.menus.exports.export_onnx_to(str(tmp_path / "net.onnx"))
    assert not (tmp_path / "net.onnx").exists()
