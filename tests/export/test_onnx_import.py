"""ONNX import: torch.onnx-style graphs built with onnx.helper, refusals, the round trip."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")   # installed by the test command: never skips in CI
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporthelpers import raw_pixels, trained_like_weights  # noqa: E402

from cnnstudio.model import build_network  # noqa: E402
from cnnstudio.model.spec import LayerSpec, NetworkSpec  # noqa: E402
from cnnstudio.model.templates import TEMPLATES, get_template  # noqa: E402
from cnnstudio.project.export.onnx_export import export_onnx  # noqa: E402
from cnnstudio.project.export.onnx_import import ImportRefused, import_onnx  # noqa: E402

RNG = np.random.default_rng(7)


def arr(*shape, name):
    return numpy_helper.from_array(RNG.normal(0, 0.3, shape).astype(np.float32), name)


def save(tmp_path, nodes, inits, in_shape, out_shape, opset=13, name="torch.onnx", out="output"):
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *in_shape])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", *out_shape])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def assert_runs_alike(path, imported, in_shape, atol=1e-5):
    """ONNX Runtime on the file == the engine on the imported network, at batch 1 and 7.
    The imported network's preprocessing is the default 1/255, so the file gets pixels / 255."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    net = build_network(imported.spec)
    net.set_weights(imported.weights)
    for n in (1, 7):
        raw = np.random.default_rng(n).integers(0, 256, (n, in_shape[1], in_shape[2], in_shape[0])).astype(np.uint8)
        x = imported.spec.input.prepare(raw)
        theirs = sess.run(None, {"input": x})[0]
        np.testing.assert_allclose(net.forward(x), theirs, atol=atol, rtol=0)


def reshape_chain(src, prefix="/Reshape"):
    """What torch.onnx emits for x.view(x.size(0), -1) at opset 13."""
    return [
        helper.make_node("Shape", [src], ["/Shape_output_0"], name="/Shape"),
        helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant",
                         value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name="/Gather",
                         axis=0),
        helper.make_node("Constant", [], ["/Constant_1_output_0"], name="/Constant_1",
                         value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"],
                         name="/Unsqueeze"),
        helper.make_node("Constant", [], ["/Constant_2_output_0"], name="/Constant_2",
                         value=numpy_helper.from_array(np.array([-1], np.int64))),
        helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"],
                         name="/Concat", axis=0),
        helper.make_node("Reshape", [src, "/Concat_output_0"], [f"{prefix}_output_0"], name=prefix),
    ]


def test_a_torch_style_lenet_with_the_reshape_chain_gemm_and_batchnorm(tmp_path):
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["/conv1/Conv_output_0"],
                         name="/conv1/Conv", kernel_shape=[5, 5], pads=[2, 2, 2, 2], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["/conv1/Conv_output_0", "bn.weight", "bn.bias", "bn.running_mean",
                                                "bn.running_var"], ["/bn/BN_output_0"], name="/bn/BatchNormalization",
                         epsilon=1e-5, momentum=0.9),
        helper.make_node("LeakyRelu", ["/bn/BN_output_0"], ["/act/LeakyRelu_output_0"], name="/act/LeakyRelu",
                         alpha=0.1),
        helper.make_node("MaxPool", ["/act/LeakyRelu_output_0"], ["/pool/MaxPool_output_0"], name="/pool/MaxPool",
                         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0),
        *reshape_chain("/pool/MaxPool_output_0"),
        helper.make_node("Gemm", ["/Reshape_output_0", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"],
                         name="/fc1/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Tanh", ["/fc1/Gemm_output_0"], ["/t/Tanh_output_0"], name="/t/Tanh"),
        helper.make_node("MatMul", ["/t/Tanh_output_0", "fc2.weight"], ["/fc2/MatMul_output_0"], name="/fc2/MatMul"),
        helper.make_node("Add", ["/fc2/MatMul_output_0", "fc2.bias"], ["/fc2/Add_output_0"], name="/fc2/Add"),
        helper.make_node("Sigmoid", ["/fc2/Add_output_0"], ["/s/Sigmoid_output_0"], name="/s/Sigmoid"),
        helper.make_node("Dropout", ["/s/Sigmoid_output_0"], ["/d/Dropout_output_0"], name="/d/Dropout"),
        helper.make_node("Softmax", ["/d/Dropout_output_0"], ["output"], name="/Softmax", axis=1),
    ]
    var = numpy_helper.from_array(RNG.uniform(0.5, 2, 4).astype(np.float32), "bn.running_var")
    inits = [arr(4, 1, 5, 5, name="conv1.weight"), arr(4, name="conv1.bias"), arr(4, name="bn.weight"),
             arr(4, name="bn.bias"), arr(4, name="bn.running_mean"), var, arr(6, 4 * 6 * 6, name="fc1.weight"),
             arr(6, name="fc1.bias"), arr(6, 3, name="fc2.weight"), arr(3, name="fc2.bias")]
    path = save(tmp_path, nodes, inits, (1, 12, 12), (3,))
    imported = import_onnx(path)
    assert [ls.type for ls in imported.spec.layers] == [
        "Conv2D", "BatchNorm", "LeakyReLU", "MaxPool2D", "Flatten", "Dense", "Tanh", "Dense", "Sigmoid", "Dropout",
        "Softmax"]
    conv = imported.spec.layers[0].config
    assert conv["padding"] == "same" and conv["kernel_size"] == [5, 5] and conv["filters"] == 4
    assert imported.spec.layers[2].config["alpha"] == 0.1
    assert imported.spec.input.scale == 1 / 255 and imported.notes   # says it assumed 1/255
    np.testing.assert_array_equal(imported.weights["5.W"], numpy_helper.to_array(inits[6]).T)
    assert_runs_alike(path, imported, (1, 12, 12))


def test_asymmetric_pads_the_engine_expresses_become_same_padding(tmp_path):
    # stride 2 on 12x12 with a 3x3 kernel: TensorFlow-style 'same' pads 0 before and 1 after
    nodes = [helper.make_node("Conv", ["input", "w"], ["/c/Conv_output_0"], name="/c/Conv", kernel_shape=[3, 3],
                              pads=[0, 0, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["/c/Conv_output_0"], ["/r/Relu_output_0"], name="/r/Relu"),
             helper.make_node("GlobalAveragePool", ["/r/Relu_output_0"], ["/g/GAP_output_0"], name="/g/GlobalAveragePool"),
             helper.make_node("Flatten", ["/g/GAP_output_0"], ["output"], name="/f/Flatten", axis=1)]
    path = save(tmp_path, nodes, [arr(5, 2, 3, 3, name="w")], (2, 12, 12), (5,))
    imported = import_onnx(path)
    assert [ls.type for ls in imported.spec.layers] == ["Conv2D", "ReLU", "GlobalAveragePool2D"]
    assert imported.spec.layers[0].config == {"filters": 5, "kernel_size": [3, 3], "stride": [2, 2],
                                              "padding": "same", "use_bias": False}
    assert_runs_alike(path, imported, (2, 12, 12))


def test_opset_9_graphs_read_too(tmp_path):
    nodes = [helper.make_node("AveragePool", ["input"], ["/p/AveragePool_output_0"], name="/p/AveragePool",
                              kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["/p/AveragePool_output_0"], ["/f/Flatten_output_0"], name="/f/Flatten"),
             helper.make_node("Dropout", ["/f/Flatten_output_0"], ["/d/Dropout_output_0"], name="/d/Dropout",
                              ratio=0.25),
             helper.make_node("Gemm", ["/d/Dropout_output_0", "w", "b"], ["output"], name="/fc/Gemm", transB=1)]
    path = save(tmp_path, nodes, [arr(4, 3 * 4 * 4, name="w"), arr(4, name="b")], (3, 8, 8), (4,), opset=9)
    imported = import_onnx(path)
    assert [ls.type for ls in imported.spec.layers] == ["AvgPool2D", "Flatten", "Dropout", "Dense"]
    assert imported.spec.layers[2].config == {"rate": 0.25}
    assert_runs_alike(path, imported, (3, 8, 8))


def gelu_graph(tmp_path):
    nodes = [helper.make_node("Flatten", ["input"], ["/f/Flatten_output_0"], name="/f/Flatten"),
             helper.make_node("Gemm", ["/f/Flatten_output_0", "w"], ["/fc/Gemm_output_0"], name="/fc/Gemm", transB=1),
             helper.make_node("Gelu", ["/fc/Gemm_output_0"], ["output"], name="/fc/Gelu")]
    return save(tmp_path, nodes, [arr(4, 16, name="w")], (1, 4, 4), (4,), opset=20, name="gelu")


def test_an_op_without_a_block_is_refused_naming_node_op_and_substitute(tmp_path):
    with pytest.raises(ImportRefused) as info:
        import_onnx(gelu_graph(tmp_path))
    assert str(info.value).endswith("node /fc/Gelu (Gelu) has no CNN Studio block; replace it with ReLU")


@pytest.mark.parametrize("case, message", [
    ("pads", "node /c/Conv (Conv) pads [1, 0, 0, 0] (top, left, bottom, right) cannot be expressed"),
    ("group", "node /c/Conv (Conv) is a grouped convolution (group=2)"),
    ("branch", "node /add/Mul (Mul) combines two branches of the network"),
    ("transpose", "node /t/Transpose (Transpose) has no CNN Studio block"),
])
def test_refusals_name_the_node_and_what_to_do(tmp_path, case, message):
    conv_attrs = {"kernel_shape": [3, 3], "pads": [1, 0, 0, 0] if case == "pads" else [1, 1, 1, 1]}
    if case == "group":
        conv_attrs["group"] = 2
    w = arr(2, 1 if case == "group" else 2, 3, 3, name="w")
    nodes = [helper.make_node("Conv", ["input", "w"], ["/c/Conv_output_0"], name="/c/Conv", **conv_attrs)]
    last = "/c/Conv_output_0"
    if case == "branch":
        nodes += [helper.make_node("Relu", [last], ["/r/Relu_output_0"], name="/r/Relu"),
                  helper.make_node("Mul", ["/r/Relu_output_0", last], ["/add/Mul_output_0"], name="/add/Mul")]
        last = "/add/Mul_output_0"
    if case == "transpose":
        nodes.append(helper.make_node("Transpose", [last], ["/t/Transpose_output_0"], name="/t/Transpose",
                                      perm=[0, 2, 3, 1]))
        last = "/t/Transpose_output_0"
    nodes.append(helper.make_node("Flatten", [last], ["output"], name="/f/Flatten"))
    path = save(tmp_path, nodes, [w], (2, 6, 6), (72,), name=case)
    with pytest.raises(ImportRefused) as info:
        import_onnx(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_a_residual_block_and_a_concat_read_as_a_branching_network(tmp_path):
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["/c1/Conv_output_0"], name="/c1/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["/c1/Conv_output_0"], ["/r1/Relu_output_0"], name="/r1/Relu"),
        helper.make_node("Conv", ["/r1/Relu_output_0", "w2", "b2"], ["/c2/Conv_output_0"], name="/c2/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["/c2/Conv_output_0", "/r1/Relu_output_0"], ["/add/Add_output_0"], name="/add/Add"),
        helper.make_node("MaxPool", ["/r1/Relu_output_0"], ["/p/MaxPool_output_0"], name="/p/MaxPool",
                         kernel_shape=[1, 1]),
        helper.make_node("Concat", ["/add/Add_output_0", "/p/MaxPool_output_0"], ["/cat/Concat_output_0"],
                         name="/cat/Concat", axis=1),
        helper.make_node("Flatten", ["/cat/Concat_output_0"], ["output"], name="/f/Flatten")]
    inits = [arr(3, 2, 3, 3, name="w1"), arr(3, 3, 3, 3, name="w2"), arr(3, name="b2")]
    path = save(tmp_path, nodes, inits, (2, 5, 5), (6 * 25,), name="resnet")
    imported = import_onnx(path)
    assert [(ls.type, ls.inputs) for ls in imported.spec.layers] == [
        ("Conv2D", None), ("ReLU", None), ("Conv2D", None), ("Add", (2, 1)), ("MaxPool2D", (1,)),
        ("Concatenate", (3, 4)), ("Flatten", None)]
    assert_runs_alike(path, imported, (2, 5, 5))


def test_an_old_opset_and_a_non_image_input_are_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["input"], ["output"], name="/r/Relu")]
    with pytest.raises(ImportRefused, match="opset 8; CNN Studio reads opset 9 and newer"):
        import_onnx(save(tmp_path, nodes, [], (1, 4, 4), (1, 4, 4), opset=8, name="old"))
    with pytest.raises(ImportRefused, match=r"input input has shape \['\?', 16\]"):
        import_onnx(save(tmp_path, nodes, [], (16,), (16,), name="flat"))


def round_trip_cases():
    cases = [get_template(n) for n in TEMPLATES if n != "vgg16"]
    cases.append(NetworkSpec("every-block", get_template("mlp").input.resized(10, 10, 3).with_preprocessing(
        1 / 127.5, [0.5, 0.25, 0.125], [0.2, 0.3, 0.4]), [
        LayerSpec("Conv2D", {"filters": 4, "kernel_size": [3, 2], "stride": [2, 1], "padding": "same"}),
        LayerSpec("BatchNorm", {"momentum": 0.8, "epsilon": 1e-3}), LayerSpec("LeakyReLU", {"alpha": 0.2}),
        LayerSpec("Conv2D", {"filters": 3, "kernel_size": 1, "use_bias": False}),
        LayerSpec("Conv2D", {"filters": 3, "kernel_size": 3, "padding": 1}), LayerSpec("Sigmoid"),
        LayerSpec("SumPool2D", {"pool_size": 2, "stride": 1}), LayerSpec("Tanh"),
        LayerSpec("AvgPool2D", {"pool_size": [2, 1]}), LayerSpec("Dropout", {"rate": 0.1}), LayerSpec("Flatten"),
        LayerSpec("BatchNorm"), LayerSpec("Dense", {"units": 5, "use_bias": False}), LayerSpec("Dropout"),
        LayerSpec("Softmax")]))
    return cases


@pytest.mark.parametrize("spec", round_trip_cases(), ids=lambda s: s.name)
def test_round_trip_gives_the_identical_network_and_outputs(tmp_path, spec):
    weights = trained_like_weights(spec)
    path = export_onnx(spec, weights, tmp_path / "net.onnx", class_names=["a", "b", "c", "d", "e", "f", "g", "h",
                                                                          "i", "j"][:10])
    back = import_onnx(path)
    assert back.spec == spec
    assert back.spec.input.scale == spec.input.scale   # the exact value, not its float32 rounding
    assert back.notes == []
    assert back.class_names == list("abcdefghij")
    assert set(back.weights) == set(weights)
    a, b = build_network(spec), build_network(back.spec)
    a.set_weights(weights)
    b.set_weights(back.weights)
    raw = raw_pixels(7, spec)
    np.testing.assert_allclose(b.forward(back.spec.input.prepare(raw)), a.forward(spec.input.prepare(raw)),
                               atol=1e-6, rtol=0)


def test_a_model_doing_its_own_preprocessing_refuses_the_flags(tmp_path):
    spec = get_template("simple-cnn")
    path = export_onnx(spec, None, tmp_path / "net.onnx")
    with pytest.raises(ImportRefused, match="does its own preprocessing .*leave out --scale"):
        import_onnx(path, scale=1.0)


def test_flags_give_a_foreign_model_its_preprocessing(tmp_path):
    path = gelu_graph(tmp_path)
    nodes = [helper.make_node("Flatten", ["input"], ["/f/Flatten_output_0"], name="/f/Flatten"),
             helper.make_node("Gemm", ["/f/Flatten_output_0", "w"], ["output"], name="/fc/Gemm", transB=1)]
    path = save(tmp_path, nodes, [arr(4, 48, name="w")], (3, 4, 4), (4,), name="plain")
    imported = import_onnx(path, scale=1.0, mean=[1, 2, 3], std=[4, 5, 6])
    assert imported.spec.input.scale == 1.0
    assert imported.spec.input.mean == (1.0, 2.0, 3.0) and imported.spec.input.std == (4.0, 5.0, 6.0)
    assert imported.notes == []
