"""ONNX export: the checker, ONNX Runtime equal to the engine, metadata, shapes, inference semantics."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")   # the test command installs the export extra: this never skips in CI
ort = pytest.importorskip("onnxruntime")

from exporthelpers import random_chain, raw_pixels, trained_like_weights  # noqa: E402

from cnnstudio import __version__  # noqa: E402
from cnnstudio.model import build_network  # noqa: E402
from cnnstudio.model.spec import LayerSpec, NetworkSpec  # noqa: E402
from cnnstudio.model.templates import TEMPLATES, get_template  # noqa: E402
from cnnstudio.project.export import ExportError  # noqa: E402
from cnnstudio.project.export.onnx_export import build_model, export_onnx  # noqa: E402
from cnnstudio.project.export.onnx_import import import_onnx  # noqa: E402


def run_both(spec, weights, batch):
    """(engine probabilities, ONNX Runtime probabilities) for the same raw pixels."""
    model = build_model(spec, weights)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    net = build_network(spec)
    net.set_weights(weights)
    raw = raw_pixels(batch, spec, seed=batch)
    ours = np.asarray(net.forward(spec.input.prepare(raw)))
    theirs = sess.run(None, {"pixels": raw.transpose(0, 3, 1, 2).astype(np.float32)})[0]
    return ours, theirs


@pytest.mark.parametrize("name", [n for n in TEMPLATES if n != "vgg16"])
def test_every_template_runs_in_onnx_runtime_as_in_the_engine(name):
    spec = get_template(name)
    weights = trained_like_weights(spec)
    for batch in (1, 7):
        ours, theirs = run_both(spec, weights, batch)
        assert theirs.shape == ours.shape == (batch, 10)
        np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_vgg16_runs_in_onnx_runtime_as_in_the_engine():
    spec = get_template("vgg16")
    weights = trained_like_weights(spec)
    ours, theirs = run_both(spec, weights, 1)
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_networks_over_the_registry_run_in_onnx_runtime_as_in_the_engine(data):
    def draw(kind, *args):
        if kind == "int":
            return data.draw(st.integers(*args))
        if kind == "float":
            return data.draw(st.floats(*args, allow_nan=False, allow_infinity=False))
        return data.draw(st.booleans())

    spec = random_chain(draw)
    weights = trained_like_weights(spec, seed=data.draw(st.integers(0, 99)))
    for batch in (1, 7):
        ours, theirs = run_both(spec, weights, batch)
        np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)
    # and back: the identical network
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(spec, weights, Path(folder) / "random.onnx")
        assert import_onnx(path).spec == spec


def test_the_file_passes_the_full_checker_with_shapes_on_every_edge(tmp_path):
    spec = get_template("lenet5")
    path = export_onnx(spec, trained_like_weights(spec), tmp_path / "lenet5.onnx", class_names=list("0123456789"),
                       project_name="my run")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 17
    inp = model.graph.input[0].type.tensor_type
    assert inp.elem_type == onnx.TensorProto.FLOAT
    assert inp.shape.dim[0].dim_param == "batch" and [d.dim_value for d in inp.shape.dim[1:]] == [1, 28, 28]
    typed = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
    for node in model.graph.node:
        for out in node.output:
            dims = typed[out].type.tensor_type.shape.dim
            assert dims and dims[0].dim_param == "batch", out
            assert all(d.dim_value > 0 for d in dims[1:]), out
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["cnnstudio.class_names"]) == list("0123456789")
    assert meta["cnnstudio.project"] == "my run"
    assert meta["cnnstudio.version"] == __version__
    assert json.loads(meta["cnnstudio.preprocessing"]) == {"scale": 1 / 255, "mean": None, "std": None,
                                                           "in_graph": True}
    names = [n.name for n in model.graph.node]
    assert names[0] == "/preprocess/Mul" and "/conv1/Conv" in names and "/dense12/Gemm" in names


def test_inference_semantics_as_written(tmp_path):
    spec = NetworkSpec("sem", (8, 8, 2), [
        LayerSpec("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same"}), LayerSpec("BatchNorm"),
        LayerSpec("Dropout", {"rate": 0.3}), LayerSpec("SumPool2D", {"pool_size": 3, "stride": 2}),
        LayerSpec("AvgPool2D", {"pool_size": 2}), LayerSpec("Flatten"), LayerSpec("Dense", {"units": 4}),
        LayerSpec("Softmax")])
    model = build_model(spec, trained_like_weights(spec))
    ops = [n.op_type for n in model.graph.node]
    assert "Dropout" not in ops
    assert ops[ops.index("AveragePool") + 1] == "Mul"   # SumPool2D = AveragePool x window area
    nodes = {n.op_type + str(i): n for i, n in enumerate(model.graph.node)}
    avg = [n for n in nodes.values() if n.op_type == "AveragePool"]
    for n in avg:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        assert attrs["pads"] == [0, 0, 0, 0] and attrs["count_include_pad"] == 0 and attrs["ceil_mode"] == 0
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    assert len(bn.output) == 1   # inference: no batch statistics out
    sm = next(n for n in model.graph.node if n.op_type == "Softmax")
    assert onnx.helper.get_attribute_value(sm.attribute[0]) == -1
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["cnnstudio.omitted_layers"]) == [{"index": 2, "type": "Dropout", "config": {"rate": 0.3}}]
    ours, theirs = run_both(spec, trained_like_weights(spec), 7)
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)


def test_per_channel_preprocessing_is_folded_into_the_graph():
    spec = NetworkSpec("norm", get_template("simple-cnn").input.resized(12, 12, 3).with_preprocessing(
        1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        [LayerSpec("Conv2D", {"filters": 4}), LayerSpec("ReLU"), LayerSpec("Flatten"),
         LayerSpec("Dense", {"units": 3}), LayerSpec("Softmax")])
    model = build_model(spec, trained_like_weights(spec))
    assert [n.op_type for n in model.graph.node[:3]] == ["Mul", "Sub", "Div"]
    ours, theirs = run_both(spec, trained_like_weights(spec), 7)
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)
    # the same pixels without the normalisation give other outputs: it really is applied
    plain = NetworkSpec("plain", spec.input.with_preprocessing(1 / 255), spec.layers)
    assert np.abs(run_both(plain, trained_like_weights(spec), 7)[1] - theirs).max() > 1e-3


def test_an_untrained_network_exports_its_initial_weights(tmp_path):
    spec = get_template("simple-cnn")
    path = export_onnx(spec, None, tmp_path / "fresh.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    raw = raw_pixels(2, spec)
    got = sess.run(None, {"pixels": raw.transpose(0, 3, 1, 2).astype(np.float32)})[0]
    np.testing.assert_allclose(got, build_network(spec).forward(spec.input.prepare(raw)), atol=1e-5)


def test_export_to_a_folder_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(ExportError, match="is a folder"):
        export_onnx(get_template("simple-cnn"), None, tmp_path)
    assert list(tmp_path.iterdir()) == []
