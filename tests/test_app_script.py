"""scripts/app.sh installs only when it is needed (issue 13: it reinstalled on every start,
6.7 s before the window on a second launch). Run against a copy with pip and the app stubbed
(nothing is installed, no network): the log shows what each start ran."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "app.sh", tmp_path / "scripts" / "app.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    log = tmp_path / "log"
    _script(tmp_path / "scripts" / "install-qt-libs.sh", f'#!/usr/bin/env bash\necho "qt-libs $*" >> "{log}"\n')
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    # python: pip calls are logged (and pip install -e makes the entry point), the rest is the real one
    _script(bin_ / "python", f'''#!/usr/bin/env bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
    echo "pip ${{*:3}}" >> "{log}"
    case "$*" in *"-e ."*) printf '#!/usr/bin/env bash\\necho "app $*" >> "{log}"\\n' > "{bin_}/cnnstudio"; chmod +x "{bin_}/cnnstudio";; esac
    exit 0
fi
exec "{sys.executable}" "$@"
''')
    return tmp_path, log


def start(repo, *args, **env):
    root, log = repo
    log.write_text("")
    subprocess.run(["bash", "scripts/app.sh", *args], cwd=root, check=True, timeout=60,
                   env={**os.environ, **env})
    return log.read_text().splitlines()


def test_first_start_installs_then_later_starts_go_straight_to_the_window(repo):
    first = start(repo)
    assert first[0] == "qt-libs display" and any("install -q -e ." in line for line in first)
    assert first[-1] == "app gui"
    assert start(repo, "x.cnnproj") == ["app gui x.cnnproj"]     # no pip, no apt check
    assert start(repo) == ["app gui"]


def test_a_changed_pyproject_or_a_forced_reinstall_installs_again(repo):
    root, _ = repo
    start(repo)
    with open(root / "pyproject.toml", "a") as f:
        f.write("\n# a new dependency\n")
    assert any("install -q -e ." in line for line in start(repo))
    assert start(repo) == ["app gui"]
    assert any("install -q -e ." in line for line in start(repo, CNNSTUDIO_REINSTALL="1"))


def test_a_missing_entry_point_installs_again(repo):
    root, _ = repo
    start(repo)
    (root / ".venv" / "bin" / "cnnstudio").unlink()
    assert any("install -q -e ." in line for line in start(repo))
