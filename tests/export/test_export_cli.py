"""``cnnstudio export`` and ``cnnstudio import``."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")   # installed by the test command: never skips in CI
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnnstudio.cli import main  # noqa: E402
from cnnstudio.model import build_network  # noqa: E402
from cnnstudio.model.templates import get_template  # noqa: E402
from cnnstudio.project.file import Project, load_project, save_project  # noqa: E402


def trained_project(tmp_path):
    spec = get_template("simple-cnn")
    weights = build_network(spec, seed=3).get_weights()
    history = {"epochs": [], "lr_changes": [], "hyperparameters": {},
               "dataset": {"name": "sample", "source": "sample", "classes": [f"digit {k}" for k in range(10)]}}
    path = tmp_path / "run.cnnproj"
    save_project(path, Project(spec, weights=weights, history=history))
    return path, spec, weights


def test_export_onnx_then_import_gives_the_project_back(tmp_path, capsys):
    path, spec, weights = trained_project(tmp_path)
    assert main(["export", str(path), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert "opset 17" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "back.cnnproj")]) == 0
    out = capsys.readouterr().out
    assert "preprocessing pixels x 1/255" in out and "note" not in out
    back = load_project(tmp_path / "back.cnnproj")
    assert back.network == spec
    assert back.history["dataset"]["classes"][0] == "digit 0"
    for k in weights:
        np.testing.assert_allclose(back.weights[k], weights[k], atol=0)


def test_a_refused_import_writes_nothing_and_says_why_in_one_line(tmp_path, capsys):
    nodes = [helper.make_node("Flatten", ["input"], ["f"], name="/f/Flatten"),
             helper.make_node("Gemm", ["f", "w"], ["g"], name="/fc/Gemm", transB=1),
             helper.make_node("Gelu", ["g"], ["output"], name="/fc/Gelu")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 2, 2])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3])],
                              initializer=[numpy_helper.from_array(np.ones((3, 4), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    src = tmp_path / "gelu.onnx"
    src.write_bytes(model.SerializeToString())
    out = tmp_path / "never.cnnproj"
    assert main(["import", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cnnstudio: error: {src}: node /fc/Gelu (Gelu) has no CNN Studio block; replace it with ReLU"]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["gelu.onnx"]


def test_import_takes_the_preprocessing_flags(tmp_path, capsys):
    nodes = [helper.make_node("Flatten", ["input"], ["output"], name="/f/Flatten")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 2, 2])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 12])])
    src = tmp_path / "flat.onnx"
    src.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    assert main(["import", str(src), "--out", str(tmp_path / "p.cnnproj"), "--scale", "0.5", "--mean", "1", "2",
                 "3", "--std", "4", "5", "6"]) == 0
    inp = load_project(tmp_path / "p.cnnproj").network.input
    assert (inp.scale, inp.mean, inp.std) == (0.5, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    assert main(["import", str(src), "--out", str(tmp_path / "q.cnnproj"), "--mean", "1", "2"]) == 2
    assert "mean must be one number per channel (3)" in capsys.readouterr().err


def test_export_pytorch_writes_the_folder_with_the_projects_data(tmp_path, capsys):
    path, spec, _ = trained_project(tmp_path)
    out = tmp_path / "pt"
    assert main(["export", str(path), "--format", "pytorch", "--out", str(out), "--limit", "40"]) == 0
    assert "torchrun --standalone" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data.npz", "model.py", "project.cnnproj",
                                                     "train.py", "weights.safetensors"]
    with np.load(out / "data.npz") as data:
        assert data["x_train"].shape == (40, 28, 28, 1) and data["x_train"].dtype == np.uint8
        assert data["y_val"].shape == (40,)
    readme = (out / "README.md").read_text()
    assert "--nnodes=2" in readme and "--rdzv_endpoint" in readme and "--node_rank" in readme


def test_export_to_a_bad_place_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["export", "simple-cnn", "--format", "pytorch", "--out", str(tmp_path / "file"), "--no-data"]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    assert main(["import", "x.onnx", "--out", str(tmp_path / "p.json")]) == 2
    assert "ending in .cnnproj" in capsys.readouterr().err
