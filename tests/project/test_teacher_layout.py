"""The teacher's simplified layout: a small validated field of project.json, saved and reopened as is,
hostile values refused with a message naming the bad part."""

from __future__ import annotations

import json
import zipfile

import pytest

from cnnstudio.project import teacher_layout
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project
from cnnstudio.project.teacher_layout import TeacherLayoutError, check, make
from cnnstudio.project.workspace import Workspace

from projhelpers import small_spec


def _rewrite(path, **changes):
    """The project at ``path`` with project.json's top-level keys replaced."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["project.json"])
    doc.update(changes)
    members["project.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_make_orders_by_the_catalogue_and_nothing_hidden_is_none():
    assert make(["setting.lr", "panel.plots"]) == {"format": 1, "hidden": ["panel.plots", "setting.lr"]}
    assert make([]) is None
    with pytest.raises(TeacherLayoutError, match="panel.nope"):
        make(["panel.nope"])


def test_every_training_setting_can_be_hidden():
    from cnnstudio.model.training_config import SETTINGS

    assert {f"setting.{name}" for name in SETTINGS} <= set(teacher_layout.KNOWN)


def test_saved_and_reopened_as_is(tmp_path):
    path = tmp_path / "class.cnnproj"
    layout = make(["panel.evaluation", "editor.palette", "setting.optimizer"])
    save_project(path, Project(small_spec(), teacher_layout=layout))
    assert load_project(path).teacher_layout == layout
    save_project(path, Project(small_spec()))
    assert load_project(path).teacher_layout is None


def test_workspace_keeps_it_through_save_and_open(tmp_path):
    ws = Workspace("lenet5")
    layout = make(["panel.dataset"])
    ws.set_teacher_layout(layout)
    assert ws.is_dirty()
    path = ws.save(tmp_path / "a.cnnproj")
    other = Workspace("mlp")
    other.open(path)
    assert other.teacher_layout == layout
    other.new_project("lenet5")
    assert other.teacher_layout is None
    with pytest.raises(TeacherLayoutError):
        ws.set_teacher_layout({"format": 1, "hidden": ["rm -rf"]})


@pytest.mark.parametrize("value,message", [
    ("hide everything", "teacher_layout must be an object or null, got str"),
    ({"format": 1}, "teacher_layout.hidden must be a list of names, got NoneType"),
    ({"format": 2, "hidden": []}, "teacher_layout.format must be 1, got '2'"),
    ({"format": True, "hidden": []}, "teacher_layout.format must be 1"),
    ({"format": 1, "hidden": [], "script": "x"}, "unknown key\\(s\\) 'script'"),
    ({"format": 1, "hidden": [7]}, "teacher_layout.hidden\\[0\\] must be a name, got int"),
    ({"format": 1, "hidden": ["panel.plots", "x" * 10_000]}, "hidden\\[1\\]: 'x{60}' is not a panel or control"),
    ({"format": 1, "hidden": ["panel.plots", "panel.plots"]}, "'panel.plots' is listed twice"),
    ({"format": 1, "hidden": ["panel.plots"] * 100_000}, "lists 100000 names; there are only"),
])
def test_hostile_values_are_refused_naming_the_bad_part(tmp_path, value, message):
    with pytest.raises(TeacherLayoutError, match=message):
        check(value)
    path = tmp_path / "hostile.cnnproj"
    save_project(path, Project(small_spec()))
    _rewrite(path, teacher_layout=value)
    with pytest.raises(ProjectFileError, match=message) as info:
        load_project(path)
    text = str(info.value)
    assert "hostile.cnnproj" in text and "Remove the teacher_layout entry" in text
    assert len(text) < 600          # a 10,000-character name is not echoed back whole
