"""The import contracts in pyproject.toml fail on a planted violation, and pass on the clean tree.

Each case copies the package and pyproject.toml to a temporary directory, plants one
import there and runs ``lint-imports`` on the copy (import-linter puts the working
directory first on ``sys.path``, so the copy is what it analyses; each failing case
also checks that the report names the planted import). One lint run per case.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"

CUPY = "cupy only in engine.backend"
QT = "Qt only in the gui package"
CLI = "The command line reaches Qt only through the app's entry point"
PANELS = "GUI panels meet only through the state and the main window"
LAYERS = "Layers run one way: cli -> gui -> project -> data -> model -> engine"


def copy_tree(dest: Path) -> Path:
    shutil.copytree(ROOT / "cnnstudio", dest / "cnnstudio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=120)


def broken_contracts(output: str) -> set[str]:
    """The names of the contracts reported BROKEN ("NAME BROKEN" or "NAME BROKEN (1 ignored import)")."""
    found = (re.fullmatch(r"(.+) BROKEN( \(.*\))?", line) for line in output.splitlines())
    return {m.group(1) for m in found if m}


def plant(root: Path, relative: str, code: str) -> None:
    path = root / "cnnstudio" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n" + code + "\n")


def test_the_clean_tree_keeps_every_contract(tmp_path):
    result = lint(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    for name in (CUPY, QT, CLI, PANELS, LAYERS):
        assert f"{name} KEPT" in result.stdout


#: case: (file to append to, planted code, contracts that must break, the edge the report names).
#: Qt in engine also breaks the cli contract, which counts indirect imports (cli -> model -> engine).
VIOLATIONS = {
    "top-level cupy in engine.trainer": (
        "engine/trainer.py", "import cupy", {CUPY}, "cnnstudio.engine.trainer -> cupy"),
    "function-level cupy in model": (
        "model/spec.py", "def _planted():\n    import cupy.cuda\n    return cupy.cuda", {CUPY},
        "cnnstudio.model.spec -> cupy"),
    "cupy in a package no contract names": (
        "workspace/__init__.py", "from cupy import asarray", {CUPY}, "cnnstudio.workspace -> cupy"),
    "PyQt6 in cli.run": (
        "cli/run.py", "from PyQt6.QtCore import QObject", {QT, CLI}, "cnnstudio.cli.run -> PyQt6"),
    "function-level pyqtgraph in engine": (
        "engine/stats.py", "def _planted():\n    import pyqtgraph\n    return pyqtgraph", {QT, CLI},
        "cnnstudio.engine.stats -> pyqtgraph"),
    "PyQt6 in a package no contract names": (
        "workspace/__init__.py", "from PyQt6.QtCore import pyqtSignal", {QT}, "cnnstudio.workspace -> PyQt6"),
    "cli importing a gui module other than the app": (
        "cli/run.py", "def _planted():\n    from cnnstudio.gui.main_window import MainWindow\n    return MainWindow",
        {CLI}, "cnnstudio.cli.run -> cnnstudio.gui.main_window"),
    "one gui panel importing another": (
        "gui/evaluation/panel.py", "from cnnstudio.gui.training import plots as _planted", {PANELS},
        "cnnstudio.gui.evaluation.panel -> cnnstudio.gui.training"),
    "a function-level import between panels": (
        "gui/datasets/browser.py", "def _planted():\n    from cnnstudio.gui.editor import edits\n    return edits",
        {PANELS}, "cnnstudio.gui.datasets.browser -> cnnstudio.gui.editor.edits"),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_a_planted_violation_breaks_its_contract(tmp_path, case):
    relative, code, contracts, edge = VIOLATIONS[case]
    root = copy_tree(tmp_path)
    plant(root, relative, code)
    result = lint(root)
    assert result.returncode != 0, result.stdout
    assert broken_contracts(result.stdout) == contracts, result.stdout
    assert edge in result.stdout, result.stdout  # the report names the planted import, in the copy


def test_the_layers_contract_names_every_package():
    """A package missing from the layers contract could import upward unnoticed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["name"] == LAYERS)["layers"]
    packages = {f"cnnstudio.{p.parent.name}" for p in (ROOT / "cnnstudio").glob("*/__init__.py")}
    assert packages == set(layers)
