"""Helpers shared by the CLI tests (a unique module name: tests/ has no packages)."""

from cnnstudio import cli


def run(capsys, *argv):
    """cli.main in-process -> (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one line a terminal shows on stderr (a progress bar erased with "\\r" is overwritten
    by what follows); fails unless there is exactly one and no traceback."""
    assert "Traceback" not in err
    lines = [ln.split("\r")[-1] for ln in err.split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def assert_one_line_error(err: str, *fragments: str) -> None:
    line = error_line(err)
    for frag in fragments:
        assert frag in line, line
