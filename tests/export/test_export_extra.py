"""The app runs without the export extra: nothing loads onnx, onnxruntime, safetensors or torch at
import time, and a missing one is a message naming the extra."""

from __future__ import annotations

import subprocess
import sys

EXTRA = ("onnx", "onnxruntime", "safetensors", "torch")


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_the_engine_model_exporters_and_cli_loads_none_of_the_extra():
    proc = run("import sys\n"
               "import cnnstudio.engine.layers, cnnstudio.model, cnnstudio.project.session\n"
               "import cnnstudio.project.export.onnx_export, cnnstudio.project.export.onnx_import\n"
               "import cnnstudio.project.export.torch_export, cnnstudio.cli.export\n"
               "from cnnstudio.cli import build_parser; build_parser()\n"
               f"print(sorted(m for m in {EXTRA!r} if m in sys.modules))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_missing_extra_is_one_line_naming_it(tmp_path):
    # sys.modules[name] = None makes "import name" fail, as on a machine without the package
    proc = run("import sys; sys.modules['onnx'] = None; sys.modules['safetensors'] = None\n"
               "from cnnstudio.cli import main\n"
               f"a = main(['export', 'simple-cnn', '--format', 'onnx', '--out', r'{tmp_path / 'm.onnx'}'])\n"
               f"b = main(['export', 'simple-cnn', '--format', 'pytorch', '--out', r'{tmp_path / 'pt'}', '--no-data'])\n"
               "print(a, b)")
    assert proc.stdout.strip() == "2 2", proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "ONNX export needs the Python package 'onnx'" in lines[0] and "pip install 'cnnstudio[export]'" in lines[0]
    assert "PyTorch export needs the Python package 'safetensors'" in lines[1]
    assert not (tmp_path / "m.onnx").exists()
