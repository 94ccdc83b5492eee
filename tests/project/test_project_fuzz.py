"""Mutated project files: load_project either returns a Project or raises ProjectFileError.

Four levels: bytes of the whole file, whole members (dropped, truncated, swapped, garbage,
stored or deflated), the .npy entries inside the npz members (headers with odd shapes,
dtypes and texts that never close, data cut or extended), and the JSON tree (any value
anywhere replaced by a hostile one: deep nesting, huge integers, text, wrong types).
A MemoryError is never the cause: run under ``ulimit -v`` for the release run
(docs/reliability.md); ``CNNSTUDIO_FUZZ_EXAMPLES`` scales every test's example budget.
"""

import copy
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project

from projhelpers import random_weights, small_spec  # tests/project is on sys.path (rootdir-relative)

_SPEC = small_spec()
#: examples per test; the suite's budget is small and its examples fixed (derandomize: the same
#: inputs every run, so a teammate's run never fails on a new find); a release run sets
#: CNNSTUDIO_FUZZ_EXAMPLES=2000 and a --hypothesis-seed, and explores
_SCALE = int(os.environ.get("CNNSTUDIO_FUZZ_EXAMPLES", "0"))


def _examples(default: int) -> int:
    return _SCALE or default


def _tally(test: str, outcome: str) -> None:
    """With CNNSTUDIO_FUZZ_TALLY=FILE, one line per input (test, outcome) for the release run's figures."""
    target = os.environ.get("CNNSTUDIO_FUZZ_TALLY")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(f"{test}\t{outcome}\n")


def _refused_or_whole(path):
    """load_project's two allowed outcomes; returns the Project or None."""
    test = sys._getframe(1).f_code.co_name
    try:
        project = load_project(path)
    except ProjectFileError as exc:
        assert str(path) in str(exc)
        assert not isinstance(exc.__cause__, MemoryError), exc  # refused by a check, not by the allocator
        _tally(test, "refused")
        return None
    _tally(test, "loaded")
    assert isinstance(project.history, dict) and isinstance(project.metadata, dict)
    for record in project.history["epochs"] + project.history["lr_changes"]:
        for key in ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "epoch", "step", "global_step"):
            value = record.get(key)
            assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), record
    for key, arr in (project.optimizer_state or {}).items():
        assert key == "steps" or np.isfinite(arr).all()
    for run in project.runs:   # what the Runs panel and restore read
        assert isinstance(run.number, int) and len(run.curve.step) == len(run.curve.loss) == len(run.curve.acc)
        assert all(isinstance(e, dict) for e in run.epochs) and isinstance(run.hyperparameters, dict)
    return project


def _good_bytes(tmp_path_factory=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "good.cnnproj"
        weights = random_weights(_SPEC)
        state = {f"{slot}/{k}": np.abs(v) for k, v in weights.items() for slot in ("m", "v")}
        state["steps"] = np.array(3)
        history = {"epochs": [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.4, "val_acc": 0.85,
                               "lr": 0.001, "seconds": 1.5, "global_step": 70}],
                   "lr_changes": [{"epoch": 1, "step": 10, "lr": 0.0005}], "hyperparameters": {"epochs": 1},
                   "dataset": {"name": "MNIST sample", "source": "sample", "classes": ["0", "1"]}}
        from cnnstudio.data import UserDataset

        user = UserDataset(np.zeros((2, 28, 28, 1), np.uint8), np.array([0, 1]))
        # two runs, so every fuzz test reaches the runs too: run 1's last and best weights in
        # run_weights.npz, run 2's last the project's own; both with per-batch curves
        from cnnstudio.project.runs import BatchCurve, RunRecord

        epoch = history["epochs"][0]
        runs = [RunRecord(1, "a" * 32, "run 1", "2026-12-02T00:00:00+00:00", 1.5, None, _SPEC.to_dict(),
                          {"lr": 0.001}, history["dataset"], [epoch, {**epoch, "epoch": 2, "val_acc": 0.8}], [],
                          BatchCurve([0, 1], [1.0, 0.9], [0.1, 0.2]),
                          random_weights(_SPEC, 1), random_weights(_SPEC, 2), 1),
                RunRecord(2, "b" * 32, "run 2", None, 1.5, 1, _SPEC.to_dict(), {"lr": 0.002}, None,
                          [{**epoch, "epoch": 3}], [], BatchCurve([2, 3], [0.8, 0.7], [0.3, 0.4]), weights, weights, 3)]
        history["run"] = 2
        save_project(path, Project(_SPEC, weights=weights, optimizer_state=state, history=history,
                                   user_dataset=user, runs=runs))
        return path.read_bytes()


GOOD = _good_bytes()


# Headers and the central directory sit at the ends; the weights' floats fill the middle.
_POSITIONS = st.one_of(st.integers(0, 600), st.integers(len(GOOD) - 600, len(GOOD) - 1),
                       st.integers(0, len(GOOD) - 1))


@settings(max_examples=_examples(200), deadline=None, derandomize=not _SCALE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_POSITIONS, st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(GOOD)))
def test_mutated_files_never_crash(tmp_path, flips, cut):
    data = bytearray(GOOD)
    for pos, value in flips:
        data[pos] = value
    path = tmp_path / "m.cnnproj"
    path.write_bytes(bytes(data[:cut] if cut < len(data) // 4 else data))
    project = _refused_or_whole(path)
    if project is not None:  # a mutation the checks cannot see (e.g. inside a float) still gives a whole project
        assert set(project.weights) == set(random_weights(_SPEC))


def test_good_bytes_load():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.cnnproj"
        path.write_bytes(GOOD)
        assert zipfile.is_zipfile(path)
        assert load_project(path).network == _SPEC


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=8)
_KEYS = ["network", "training_config", "history", "metadata", "user_data", "members", "format_version"]
# values that look almost right, where a loader is most likely to trust them
_NEAR = st.sampled_from([{"class_names": 5}, {"class_names": [1, 2]}, {"epochs": 3}, {"epochs": [1]},
                         {"lr_changes": {}}, ["weights.npz", "user_data.npz"], ["optimizer.npz"], 2, 0])


@settings(max_examples=_examples(100), deadline=None, derandomize=not _SCALE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(_KEYS), _JSON | _NEAR, min_size=1, max_size=3))
def test_odd_project_json_values_are_refused_or_ignored(tmp_path, replacements):
    import json

    with zipfile.ZipFile(__import__("io").BytesIO(GOOD)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    doc = json.loads(members["project.json"])
    doc.update(replacements)
    members["project.json"] = json.dumps(doc).encode()
    members["user_data.npz"] = _user_npz()
    path = tmp_path / "j.cnnproj"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    _refused_or_whole(path)


def _user_npz() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((2, 28, 28, 1), np.uint8), y=np.array([0, 1]))
    return buf.getvalue()


# ---- member level ----------------------------------------------------------------------------
with zipfile.ZipFile(io.BytesIO(GOOD)) as _zf:
    MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}

_MEMBER_OPS = st.one_of(
    st.just(("keep",)), st.just(("drop",)), st.just(("empty",)),
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("garbage"), st.binary(max_size=64)),
    st.tuples(st.just("swap"), st.sampled_from(sorted(MEMBERS))),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=16)),
)


def _apply(op, data: bytes) -> bytes | None:
    kind = op[0]
    if kind == "keep":
        return data
    if kind == "drop":
        return None
    if kind == "empty":
        return b""
    if kind == "cut":
        return data[: int(op[1] * len(data))]
    if kind == "flip":
        if not data:
            return data
        pos = min(int(op[1] * len(data)), len(data) - 1)
        return data[:pos] + bytes([op[2]]) + data[pos + 1:]
    if kind == "garbage":
        return op[1]
    if kind == "swap":
        return MEMBERS[op[1]]
    return data + op[1]  # append


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(max_examples=_examples(120), deadline=None, derandomize=not _SCALE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({name: _MEMBER_OPS for name in MEMBERS}),
       st.fixed_dictionaries({name: st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]) for name in MEMBERS}),
       st.booleans())
def test_mutated_members_never_crash(tmp_path, ops, methods, duplicate):
    path = tmp_path / "members.cnnproj"
    with zipfile.ZipFile(path, "w") as zf:
        for name, op in ops.items():
            data = _apply(op, MEMBERS[name])
            if data is not None:
                zf.writestr(zipfile.ZipInfo(name), data, compress_type=methods[name])
        if duplicate:
            zf.writestr(zipfile.ZipInfo("project.json"), MEMBERS["project.json"])
    _refused_or_whole(path)


# ---- .npy entries inside the npz members ------------------------------------------------------
_DESCR = st.sampled_from(["<f4", "<f8", ">f4", "<f2", "|u1", "<i8", "|b1", "|O", "<U3", "<c8", "|V8", "<M8[s]",
                          "[('a', '<f4')]", "('<f4', (2,))", "'<f4'", "1", "{}"])
_SHAPE = st.one_of(st.lists(st.integers(-2, 10**13), max_size=9).map(tuple).map(repr),
                   st.sampled_from(["(8, 1, 3, 3)", "(10,)", "()", "[8]", "(-1,)", "(2**40,)", "None", "((",
                                    "(1," * 40 + ")" * 40]))


@st.composite
def _npy_header(draw) -> str:
    text = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        repr(draw(_DESCR)) if draw(st.booleans()) else draw(_DESCR), draw(st.sampled_from(["False", "True", "1", "'x'"])),
        draw(_SHAPE))
    cut = draw(st.integers(0, len(text)))
    return text if draw(st.booleans()) else text[:cut]  # a header that never closes


def _npy(header: str, data: bytes) -> bytes:
    raw = header.encode("latin1", "replace")
    raw += b" " * ((-(10 + len(raw) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") + raw + data


@settings(max_examples=_examples(150), deadline=None, derandomize=not _SCALE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["weights.npz", "optimizer.npz", "user_data.npz"]), st.data())
def test_mutated_npy_entries_never_crash(tmp_path, member, data):
    with zipfile.ZipFile(io.BytesIO(MEMBERS[member])) as inner:
        entries = {name: inner.read(name) for name in inner.namelist()}
    target = data.draw(st.sampled_from(sorted(entries)))
    original = entries[target]
    body = data.draw(st.sampled_from(["same", "cut", "longer", "none"]))
    header_len = 10 + int.from_bytes(original[8:10], "little")
    payload = {"same": original[header_len:], "cut": original[header_len:][: len(original) // 3],
               "longer": original[header_len:] + b"\0" * 16, "none": b""}[body]
    entries[target] = _npy(data.draw(_npy_header()), payload)
    if data.draw(st.booleans()):
        entries[data.draw(st.sampled_from(["x.npy", "../x.npy", "steps.npy", "0.W", "a/b.npy"]))] = original
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, raw in entries.items():
            zf.writestr(zipfile.ZipInfo(name), raw)
    path = tmp_path / "npy.cnnproj"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:  # stored: deflating took most of the time
        for name, raw in MEMBERS.items():
            zf.writestr(name, buf.getvalue() if name == member else raw)
    _refused_or_whole(path)


# ---- JSON tree level ---------------------------------------------------------------------------
GOOD_DOC = json.loads(MEMBERS["project.json"])


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


PATHS = [p for p in _paths(GOOD_DOC) if p]


def _nest(depth: int) -> str:
    """A placeholder the test turns into ``depth`` nested lists after json.dumps (which, like
    hypothesis's printer, recurses and cannot write them itself)."""
    return f"__nest_{depth}__"


_HOSTILE = st.one_of(
    _JSON, _NEAR, st.integers(10**18, 10**40), st.integers(-(10**40), -1), st.builds(_nest, st.integers(1, 3000)),
    st.sampled_from(["", "0.5", "1", "NaN", "\u0000", "x" * 1000, "../../etc/passwd", "/dev/stdin"]),
    st.sampled_from([[], {}, [None], [{}], [[1, 2]], {"0": 1}, 0.0, -1, 10**6, 1e308, True]))


@settings(max_examples=_examples(150), deadline=None, derandomize=not _SCALE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _HOSTILE), min_size=1, max_size=3))
def test_json_tree_mutations_never_crash(tmp_path, changes):
    doc = json.loads(MEMBERS["project.json"])
    for path_in_doc, value in changes:
        node = doc
        try:
            for key in path_in_doc[:-1]:
                node = node[key]
            node[path_in_doc[-1]] = copy.deepcopy(value)  # sampled values are shared objects: no cycles
        except (KeyError, IndexError, TypeError):  # an earlier change removed the path
            continue
    path = tmp_path / "tree.cnnproj"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, raw in MEMBERS.items():
            zf.writestr(name, _dumps(doc) if name == "project.json" else raw)
    _refused_or_whole(path)


def _dumps(doc) -> bytes:
    import re

    return re.sub(r'"__nest_(\d+)__"', lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)),
                  json.dumps(doc)).encode()
