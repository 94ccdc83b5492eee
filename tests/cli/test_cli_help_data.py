"""`evaluate --help` and `train --help` say what --data defaults to (QA of issue 13: both said
"sample (default)", but without --data a project is evaluated and continued on its own data and split)."""

from __future__ import annotations

import pytest

from cnnstudio import cli


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_the_data_default_is_the_projects_own(capsys, command):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "sample (default)" not in text
    assert "own data" in text
