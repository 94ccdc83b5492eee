"""PyTorch export: the module against the engine, the files, and a real torchrun run with gloo."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")   # torch==2.13.0 is in the test extra: this never skips in CI
st = pytest.importorskip("safetensors.numpy")

from exporthelpers import raw_pixels, trained_like_weights  # noqa: E402

from cnnstudio.data import Dataset  # noqa: E402
from cnnstudio.model import build_network  # noqa: E402
from cnnstudio.model.spec import LayerSpec, NetworkSpec  # noqa: E402
from cnnstudio.model.templates import TEMPLATES, get_template  # noqa: E402
from cnnstudio.project.export.torch_export import engine_weights, export_pytorch, state_tensors  # noqa: E402
from cnnstudio.project.file import Project, load_project  # noqa: E402


def load_module(folder, tag):
    spec = importlib.util.spec_from_file_location(f"exported_{tag}", folder / "model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def every_block() -> NetworkSpec:
    inp = get_template("mlp").input.resized(9, 10, 3).with_preprocessing(1 / 127.5, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4])
    return NetworkSpec("every block", inp, [
        LayerSpec("Conv2D", {"filters": 4, "kernel_size": [3, 2], "stride": [2, 1], "padding": "same"}),
        LayerSpec("BatchNorm", {"momentum": 0.8}), LayerSpec("LeakyReLU", {"alpha": 0.2}),
        LayerSpec("Conv2D", {"filters": 3, "kernel_size": 2, "padding": "same", "use_bias": False}),
        LayerSpec("Sigmoid"), LayerSpec("SumPool2D", {"pool_size": 2, "stride": 1}), LayerSpec("Tanh"),
        LayerSpec("AvgPool2D", {"pool_size": [2, 1]}), LayerSpec("MaxPool2D", {"pool_size": 1}),
        LayerSpec("Dropout", {"rate": 0.1}), LayerSpec("Flatten"), LayerSpec("BatchNorm"),
        LayerSpec("Dense", {"units": 5, "use_bias": False}), LayerSpec("Softmax")])


CASES = [get_template(n) for n in TEMPLATES if n != "vgg16"] + [every_block()]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s.name)
def test_the_exported_module_computes_the_engines_logits(tmp_path, spec):
    weights = trained_like_weights(spec)
    export_pytorch(Project(spec, weights=weights), tmp_path)
    mod = load_module(tmp_path, spec.name.replace(" ", "_").replace("-", "_"))
    model = mod.load(tmp_path / "weights.safetensors")
    net = build_network(spec)
    net.set_weights(weights)
    for n in (1, 7):
        raw = raw_pixels(n, spec, seed=n)
        x = torch.from_numpy(raw.transpose(0, 3, 1, 2).astype(np.float32))
        with torch.no_grad():
            logits = model(x).numpy()
            probs = model.probabilities(x).numpy()
        np.testing.assert_allclose(logits, net.forward_logits(spec.input.prepare(raw)), atol=1e-5, rtol=0)
        np.testing.assert_allclose(probs, net.forward(spec.input.prepare(raw)), atol=1e-5, rtol=0)


def test_model_py_reads_like_the_editor(tmp_path):
    spec = get_template("lenet5")
    export_pytorch(Project(spec, weights=None), tmp_path, class_names=list("abcdefghij"))
    text = (tmp_path / "model.py").read_text()
    assert "class Lenet5(nn.Module):" in text
    assert "self.conv1 = nn.Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), bias=True)" in text
    assert "x = self.relu2(x)  # relu2: (N, 6, 28, 28)" in text
    assert "x = self.dense12(x)  # dense12: (N, 10)" in text
    assert 'CLASS_NAMES = ["a", "b", "c"' in text
    assert "import pickle" not in text and "torch.save" not in (tmp_path / "train.py").read_text()


def test_weights_are_written_with_safetensors_numpy_api_and_map_back(tmp_path):
    spec = every_block()
    weights = trained_like_weights(spec)
    export_pytorch(Project(spec, weights=weights), tmp_path)
    tensors = st.load_file(str(tmp_path / "weights.safetensors"))
    assert set(tensors) == set(state_tensors(spec, weights))
    np.testing.assert_array_equal(tensors["dense13.weight"], weights["12.W"].T)   # nn.Linear's (out, in)
    assert tensors["batchnorm2.num_batches_tracked"].dtype == np.int64
    back = engine_weights(spec, tensors)
    assert set(back) == set(weights)
    for k in weights:
        np.testing.assert_array_equal(back[k], weights[k])
    # the module's own state dict has exactly these names
    mod = load_module(tmp_path, "names")
    assert set(mod.MODEL().state_dict()) == set(tensors)


def tiny_data(spec, n_train=96, n_val=32):
    rng = np.random.default_rng(0)
    h, w, c = spec.input.hwc

    def part(n):
        y = rng.integers(0, 3, n)
        x = (rng.integers(0, 60, (n, h, w, c)) + (y * 80)[:, None, None, None]).astype(np.uint8)
        return Dataset("tiny", x, y, ["a", "b", "c"], source="tiny")

    return part(n_train), part(n_val)


@pytest.mark.slow
def test_torchrun_trains_on_two_gloo_processes_and_writes_back_a_project(tmp_path):
    spec = NetworkSpec("tiny", (8, 8, 1), [LayerSpec("Conv2D", {"filters": 4}), LayerSpec("ReLU"),
                                           LayerSpec("Flatten"), LayerSpec("Dense", {"units": 3}),
                                           LayerSpec("Softmax")])
    export_pytorch(Project(spec, weights=None), tmp_path, data=tiny_data(spec))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "trained.cnnproj"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "train.py",
         "--epochs", "1", "--batch-size", "16", "--lr", "0.01", "--write-back", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 1 and "2 processes" in lines[0] and "val_acc" in lines[0]   # rank 0 alone prints
    assert (tmp_path / "checkpoints" / "epoch-0001.safetensors").exists()
    last = json.loads((tmp_path / "checkpoints" / "last.json").read_text())
    assert last["epoch"] == 1
    project = load_project(out)
    assert project.network == spec
    trained = st.load_file(str(tmp_path / "trained.safetensors"))
    np.testing.assert_array_equal(project.weights["0.W"], trained["conv1.weight"])
    start = st.load_file(str(tmp_path / "weights.safetensors"))
    assert not np.array_equal(trained["conv1.weight"], start["conv1.weight"])   # it really trained
    assert [e["epoch"] for e in project.history["epochs"]] == [1]
    assert 0.0 <= project.history["epochs"][0]["val_acc"] <= 1.0
    # the reopened project predicts as the trained module does
    mod = load_module(tmp_path, "tiny_trained")
    model = mod.load(tmp_path / "trained.safetensors")
    raw = raw_pixels(5, spec)
    net = build_network(project.network)
    net.set_weights(project.weights)
    with torch.no_grad():
        expected = model(torch.from_numpy(raw.transpose(0, 3, 1, 2).astype(np.float32))).numpy()
    np.testing.assert_allclose(net.forward_logits(spec.input.prepare(raw)), expected, atol=1e-5)


def test_random_networks_over_the_registry_export_to_the_same_logits(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as hst

    from exporthelpers import random_chain

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
    @given(hst.data())
    def check(data):
        def draw(kind, *args):
            if kind == "int":
                return data.draw(hst.integers(*args))
            if kind == "float":
                return data.draw(hst.floats(*args, allow_nan=False, allow_infinity=False))
            return data.draw(hst.booleans())

        spec = random_chain(draw)
        weights = trained_like_weights(spec, seed=data.draw(hst.integers(0, 99)))
        folder = tmp_path_factory.mktemp("random")
        export_pytorch(Project(spec, weights=weights), folder)
        model = load_module(folder, folder.name).load(folder / "weights.safetensors")
        net = build_network(spec)
        net.set_weights(weights)
        raw = raw_pixels(7, spec)
        with torch.no_grad():
            got = model(torch.from_numpy(raw.transpose(0, 3, 1, 2).astype(np.float32))).numpy()
        np.testing.assert_allclose(got, net.forward_logits(spec.input.prepare(raw)), atol=1e-5, rtol=0)

    check()
