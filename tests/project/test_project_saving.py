"""Issue 14 cases 10 and 12: temporary save files left by a killed writer, and saving through a symlink."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cnnstudio.project import tempfiles
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project
from cnnstudio.project.limits import TEMP_SUFFIX

HERE = Path(__file__).parent

# A writer that stops halfway through its save (project.json written, the zip unfinished) and
# waits on its stdin: the test kills it there with SIGKILL.
_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from cnnstudio.project import file as pf
    from projhelpers import small_spec

    def stuck(zf, project):
        zf.writestr("project.json", b"{}" * 50_000)
        open(sys.argv[2], "w").close()  # tell the test the temp file is half written
        sys.stdin.read()                # wait to be killed

    pf._write_members = stuck
    pf.save_project(sys.argv[1], pf.Project(small_spec()))
""")


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def stuck_writer(tmp_path):
    """(child process, project path) with the child stopped halfway through saving the project."""
    path = tmp_path / "run.cnnproj"
    marker = tmp_path / "half-written"
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(marker), str(HERE)],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: marker.exists() or child.poll() is not None)
        assert child.poll() is None, child.stderr.read().decode()
        yield child, path
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        child.stdin.close()
        child.stderr.close()


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((TEMP_SUFFIX, ".tmp")))


def test_a_live_writers_temp_file_is_named_and_kept(stuck_writer, spec):
    child, path = stuck_writer
    before = _temps(path.parent)
    (name,) = before  # recognisable: the project's name and the writer's pid
    assert name.startswith(f".run.cnnproj.{child.pid}.") and name.endswith(TEMP_SUFFIX)
    save_project(path, Project(spec))  # another save of the same project while the first is under way
    load_project(path)
    assert _temps(path.parent) == before
    assert child.poll() is None


def test_kill_9_during_save_leftover_removed_by_next_save(stuck_writer, spec):
    child, path = stuck_writer
    assert len(_temps(path.parent)) == 1
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert len(_temps(path.parent)) == 1 and not path.exists()  # the kill left it, and nothing was renamed
    save_project(path, Project(spec))
    assert _temps(path.parent) == []
    assert load_project(path).network == spec


def test_kill_9_during_save_leftover_removed_by_next_open(stuck_writer, spec, tmp_path):
    child, path = stuck_writer
    # a project saved earlier by someone else: the interrupted save was replacing it
    other = tmp_path / "earlier.cnnproj"
    save_project(other, Project(spec))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    os.replace(other, path)
    assert len(_temps(path.parent)) == 1
    load_project(path)
    assert _temps(path.parent) == []


def test_only_this_projects_leftovers_are_removed(tmp_path, spec):
    path = tmp_path / "a.cnnproj"
    dead = 2**22 + 12345  # above the default pid_max: no such process
    mine = tmp_path / f".a.cnnproj.{dead}.abcd1234{TEMP_SUFFIX}"
    theirs = tmp_path / f".b.cnnproj.{dead}.abcd1234{TEMP_SUFFIX}"
    unrelated = tmp_path / ".a.cnnproj.notes.txt"
    for p in (mine, theirs, unrelated):
        p.write_bytes(b"x")
    save_project(path, Project(spec))
    assert not mine.exists() and theirs.exists() and unrelated.exists()


def test_earlier_versions_leftovers_go_once_an_hour_old(tmp_path, spec):
    path = tmp_path / "a.cnnproj"
    old, fresh = tmp_path / ".a.cnnproj.k2j4h5g6.tmp", tmp_path / ".a.cnnproj.zz9y8x7w.tmp"
    for p in (old, fresh):
        p.write_bytes(b"x")
    long_ago = time.time() - tempfiles.LEGACY_AGE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    save_project(path, Project(spec))
    assert not old.exists() and fresh.exists()


def test_a_leftover_of_a_running_process_without_lock_is_kept_while_fresh(tmp_path, spec):
    # the instant between creating the temp file and locking it: pid alive, file fresh
    parent = os.getppid()
    temp = tmp_path / f".a.cnnproj.{parent}.abcd1234{TEMP_SUFFIX}"
    temp.write_bytes(b"x")
    save_project(tmp_path / "a.cnnproj", Project(spec))
    assert temp.exists()
    stale = time.time() - tempfiles.FRESH_SECONDS - 60
    os.utime(temp, (stale, stale))
    save_project(tmp_path / "a.cnnproj", Project(spec))
    assert not temp.exists()  # unlocked and old: its pid was reused by a process that is not saving


# ---- case 12: symlinks ------------------------------------------------------------------------
def test_save_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path, spec, weights):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target, link = real_dir / "run.cnnproj", link_dir / "run.cnnproj"
    save_project(target, Project(spec))
    link.symlink_to(target)
    save_project(link, Project(spec, weights=weights))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_project(target).weights is not None  # the target holds the new save
    assert sorted(p.name for p in real_dir.iterdir()) == ["run.cnnproj"]
    assert sorted(p.name for p in link_dir.iterdir()) == ["run.cnnproj"]


def test_save_through_a_relative_symlink_chain(tmp_path, spec, weights):
    target = tmp_path / "real.cnnproj"
    save_project(target, Project(spec))
    (tmp_path / "one.cnnproj").symlink_to("real.cnnproj")
    (tmp_path / "two.cnnproj").symlink_to("one.cnnproj")
    save_project(tmp_path / "two.cnnproj", Project(spec, weights=weights))
    assert (tmp_path / "two.cnnproj").is_symlink() and (tmp_path / "one.cnnproj").is_symlink()
    assert load_project(target).weights is not None


def test_symlink_into_a_missing_folder_is_explained(tmp_path, spec):
    link = tmp_path / "run.cnnproj"
    link.symlink_to(tmp_path / "gone" / "run.cnnproj")
    with pytest.raises(ProjectFileError) as info:
        save_project(link, Project(spec))
    assert str(link) in str(info.value) and "gone" in str(info.value) and "does not exist" in str(info.value)
    assert link.is_symlink()
