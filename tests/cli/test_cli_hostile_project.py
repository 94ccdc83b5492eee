"""Issue 14, project-file cases through the command line: one line naming the file, exit 2,
never "internal error" and never batch-size advice for a file that could not be read.

(The dataset cases of issue 14 live in test_cli_hostile.py; these are kept apart so that two
people can work on them at once.)
"""

import zipfile

import numpy as np
import pytest
from clihelpers import error_line, run

from cnnstudio import cli
from cnnstudio.project import load_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """simple-cnn trained one epoch on 100 sample images (weights and Adam state saved)."""
    path = tmp_path_factory.mktemp("hostile-project") / "run.cnnproj"
    assert cli.main(["train", "simple-cnn", "--epochs", "1", "--limit", "100", "--out", str(path)]) == 0
    return path


def _with_optimizer(trained, tmp_path, state: dict):
    """A copy of ``trained`` whose optimizer.npz holds ``state``."""
    import io

    buf = io.BytesIO()
    np.savez(buf, **state)
    out = tmp_path / "bad.cnnproj"
    with zipfile.ZipFile(trained) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, buf.getvalue() if name == "optimizer.npz" else src.read(name))
    return out


def _shape_of(trained, key):
    return load_project(trained).weights[key].shape


@pytest.mark.parametrize("case", ["no-slot", "broadcasts", "steps-array", "nan"])
def test_continue_training_with_bad_optimizer_state_is_one_line(capsys, tmp_path, trained, case):
    w_shape = _shape_of(trained, "0.W")
    state = {"no-slot": {"0.W": np.zeros(w_shape, np.float32)},
             "broadcasts": {"m/0.W": np.full(3, 1e30, np.float32)},  # (3,) would broadcast into (8, 1, 3, 3)
             "steps-array": {"steps": np.arange(4)},
             "nan": {"v/0.W": np.full(w_shape, np.nan, np.float32)}}[case]
    bad = _with_optimizer(trained, tmp_path, state)
    code, out, err = run(capsys, "train", bad, "--epochs", "1", "--limit", "50", "--out", tmp_path / "o.cnnproj")
    assert code == 2 and "training" not in out  # refused before any epoch
    line = error_line(err)
    assert str(bad) in line and "optimizer.npz" in line and "internal error" not in line, line
    assert not (tmp_path / "o.cnnproj").exists()


def test_evaluate_a_file_declaring_a_huge_array_names_the_file_not_the_batch_size(capsys, tmp_path, trained):
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"
    npy = b"\x93NUMPY\x01\x00" + (len(header) + 1).to_bytes(2, "little") + header + b"\n"
    bad = tmp_path / "huge.cnnproj"
    with zipfile.ZipFile(trained) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            if name == "weights.npz":
                import io

                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w") as z:
                    z.writestr("0.W.npy", npy)
                dst.writestr(name, inner.getvalue())
            else:
                dst.writestr(name, src.read(name))
    code, _, err = run(capsys, "evaluate", bad)
    line = error_line(err)
    assert code == 2 and str(bad) in line and "(1000000000000,)" in line
    assert "batch size" not in line and "out of memory" not in line


def test_predict_with_deeply_nested_project_json_names_the_file(capsys, tmp_path):
    bad = tmp_path / "deep.cnnproj"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("project.json", b'{"format_version": 1, "network": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    code, _, err = run(capsys, "predict", bad, tmp_path / "x.png")
    line = error_line(err)
    assert code == 2 and str(bad) in line and "nested more than" in line and "internal error" not in line


def test_out_of_memory_while_training_says_so_and_advises_the_batch_size(capsys, tmp_path, monkeypatch):
    from cnnstudio.project import run as project_run

    def reports(self):
        raise MemoryError
        yield  # a generator, like Run.reports

    monkeypatch.setattr(project_run.Run, "reports", reports)
    code, _, err = run(capsys, "train", "simple-cnn", "--epochs", "1", "--limit", "50",
                       "--out", tmp_path / "o.cnnproj")
    line = error_line(err)
    assert code == 1 and "out of memory while training simple-cnn" in line and "--batch-size" in line


def test_summary_of_a_deeply_nested_model_json_names_the_file(capsys, tmp_path):
    model = tmp_path / "deep.json"
    model.write_text("[" * 5000 + "]" * 5000)
    code, _, err = run(capsys, "summary", model)
    line = error_line(err)
    assert code == 2 and str(model) in line and "nested" in line and "internal error" not in line


def test_out_of_memory_outside_training_gives_no_batch_size_advice(capsys, tmp_path, monkeypatch, trained):
    from cnnstudio.cli import run as cli_run

    def short_of_memory(path):
        raise MemoryError

    monkeypatch.setattr(cli_run, "load_project", short_of_memory)
    code, _, err = run(capsys, "evaluate", trained)
    line = error_line(err)
    assert code == 1 and "out of memory while reading the input" in line
    assert "batch" not in line


def test_summary_of_a_model_json_with_a_5000_digit_number_names_the_file(capsys, tmp_path):
    model = tmp_path / "bigint.json"
    model.write_text('{"format_version": 1, "name": "x", "input": {"height": ' + "7" * 5000
                     + ', "width": 28, "channels": 1}, "layers": []}')
    code, _, err = run(capsys, "summary", model)
    line = error_line(err)
    assert code == 2 and str(model) in line and "thousands of digits" in line
    assert "set_int_max_str_digits" not in line  # Python's advice, not the user's
