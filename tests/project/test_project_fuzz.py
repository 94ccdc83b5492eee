"""Mutated project files: load_project either returns a Project or raises ProjectFileError."""

import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project

from projhelpers import random_weights, small_spec  # tests/project is on sys.path (rootdir-relative)

_SPEC = small_spec()


def _good_bytes(tmp_path_factory=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "good.cnnproj"
        save_project(path, Project(_SPEC, weights=random_weights(_SPEC),
                                   optimizer_state={"steps": np.array(3)}))
        return path.read_bytes()


GOOD = _good_bytes()


# Headers and the central directory sit at the ends; the weights' floats fill the middle.
_POSITIONS = st.one_of(st.integers(0, 600), st.integers(len(GOOD) - 600, len(GOOD) - 1),
                       st.integers(0, len(GOOD) - 1))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_POSITIONS, st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(GOOD)))
def test_mutated_files_never_crash(tmp_path, flips, cut):
    data = bytearray(GOOD)
    for pos, value in flips:
        data[pos] = value
    path = tmp_path / "m.cnnproj"
    path.write_bytes(bytes(data[:cut] if cut < len(data) // 4 else data))
    try:
        project = load_project(path)
    except ProjectFileError as exc:
        assert str(path) in str(exc)
    else:  # a mutation the checks cannot see (e.g. inside a float) still gives a whole project
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
    try:
        project = load_project(path)
    except ProjectFileError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(project.history, dict) and isinstance(project.metadata, dict)


def _user_npz() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((2, 28, 28, 1), np.uint8), y=np.array([0, 1]))
    return buf.getvalue()
