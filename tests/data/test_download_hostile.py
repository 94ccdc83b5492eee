"""Downloads from hostile local servers (127.0.0.1 only): stalling, dripping, endless, oversized,
redirecting; a second process on the same file; kill -9 mid-download, then a resume.

Deadlines, rates and timeouts are passed small so each case ends in well under a second;
nothing here sleeps to wait: the tests wait on conditions with timeouts.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from localhttp import serve

from cnnstudio.data import DownloadError, download
from cnnstudio.data.downloads import size_cap

PAYLOAD = bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8))
MD5 = "md5:" + hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    with serve({"data.bin": PAYLOAD}) as srv:
        yield srv


def _one_line(exc) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


def _wait_for(condition, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_stalling_server_ends_with_a_message_saying_so(server, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as e:
        download(server.base + "/stall/data.bin", tmp_path / "data.bin", MD5, timeout=0.3)
    assert "sent nothing for 0.3 s after 8,192 bytes (stalled)" in _one_line(e.value)
    assert time.monotonic() - t0 < 5
    assert not (tmp_path / "data.bin").exists()
    assert (tmp_path / "data.bin.part").stat().st_size == 8192  # kept for a resume


def test_dripping_server_is_ended_by_the_minimum_rate(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download(server.base + "/drip/data.bin", tmp_path / "data.bin", MD5, timeout=5,
                 min_rate=1000, rate_window=0.3)
    assert "too slow" in _one_line(e.value) and "below the 1,000 bytes/s" in str(e.value)


def test_dripping_server_is_ended_by_the_deadline(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download(server.base + "/drip/data.bin", tmp_path / "data.bin", MD5, timeout=5,
                 min_rate=0, deadline=0.4)
    assert "did not finish within 0.4 s" in _one_line(e.value)


def test_endless_body_without_length_is_capped_by_the_published_size(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download(server.base + "/endless/data.bin", tmp_path / "data.bin", MD5, size=len(PAYLOAD))
    assert f"more than the {size_cap(len(PAYLOAD)):,} bytes" in _one_line(e.value)
    assert not (tmp_path / "data.bin.part").exists()  # emptied and removed: never more than the cap on disk
    assert not (tmp_path / "data.bin").exists()


def test_announced_length_beyond_the_published_size_is_refused_at_once(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download(server.base + "/bigger/data.bin", tmp_path / "data.bin", MD5, size=len(PAYLOAD))
    assert "announces 10,000,000,000 bytes" in _one_line(e.value)
    assert not (tmp_path / "data.bin.part").exists()


def test_redirect_loop_is_one_line(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download(server.base + "/redirect/data.bin", tmp_path / "data.bin", MD5)
    assert "redirects in a loop (HTTP 302" in _one_line(e.value)
    assert server.base in str(e.value)


def test_locked_part_says_another_download_is_running(server, tmp_path):
    import fcntl

    part = tmp_path / "data.bin.part"
    with open(part, "wb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)  # what a second process holds while downloading
        with pytest.raises(DownloadError) as e:
            download(server.base + "/good/data.bin", tmp_path / "data.bin", MD5, lock_wait=0.1)
    assert "another download of data.bin is running" in _one_line(e.value)
    assert server.requests == []  # refused before connecting
    download(server.base + "/good/data.bin", tmp_path / "data.bin", MD5)  # lock released: fine
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


_CHILD = """
import sys
from cnnstudio.data import download
download(sys.argv[1], sys.argv[2], sys.argv[3], timeout=30)
"""


def test_kill_9_mid_download_then_resume(server, tmp_path):
    server.delay = 0.05  # 8 KiB every 50 ms: the child is mid-way for about a second
    dest = tmp_path / "data.bin"
    part = tmp_path / "data.bin.part"
    url = server.base + "/good/data.bin"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, url, str(dest), MD5],
                             cwd=str(Path(__file__).resolve().parents[2]))
    try:
        _wait_for(lambda: part.exists() and part.stat().st_size >= 3 * 8192, what="the child's first bytes")
        # while it runs, a second downloader is told so instead of appending to the same file
        with pytest.raises(DownloadError, match="another download of data.bin is running"):
            download(url, dest, MD5, lock_wait=0)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    kept = part.stat().st_size
    assert 0 < kept < len(PAYLOAD) and not dest.exists()
    server.delay = 0.0
    download(url, dest, MD5)  # the dead process's lock went with it
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert server.requests[-1] == ("/good/data.bin", f"bytes={kept}-")  # resumed, not restarted
