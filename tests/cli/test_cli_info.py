"""`cnnstudio info` and the BLAS-kernel note `cnnstudio train` prints (engine.sysinfo)."""

import json

from clihelpers import run

from cnnstudio import cli
from cnnstudio.engine import sysinfo


def test_cnnstudio_info_prints_the_report_and_json(capsys):
    code, out, err = run(capsys, "info")
    assert code == 0 and err == ""
    assert "BLAS: " in out and "processor: " in out
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert {"cnnstudio", "numpy", "blas", "notes", "avx512", "openblas_coretype"} <= set(info)


def test_train_prints_the_note_at_a_terminal_when_it_applies(capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(sysinfo, "blas_kernel_note", lambda *a, **k: "OpenBLAS uses its Haswell kernels (test)")
    code = cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "64", "--out", str(tmp_path / "r.cnnproj")])
    err = capsys.readouterr().err
    assert code == 0
    assert "cnnstudio: note: OpenBLAS uses its Haswell kernels (test)" in err
    monkeypatch.setattr(sysinfo, "blas_kernel_note", lambda *a, **k: None)
    code = cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "64", "--out", str(tmp_path / "s.cnnproj")])
    assert code == 0 and "note:" not in capsys.readouterr().err


def test_train_keeps_the_note_out_of_logs(capsys, tmp_path, monkeypatch):
    """stderr that is not a terminal (a log, a pipe, CI) gets no hint, only what happened."""
    monkeypatch.setattr(sysinfo, "blas_kernel_note", lambda *a, **k: "OpenBLAS uses its Haswell kernels (test)")
    code = cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "64", "--out", str(tmp_path / "r.cnnproj")])
    assert code == 0 and "note:" not in capsys.readouterr().err
