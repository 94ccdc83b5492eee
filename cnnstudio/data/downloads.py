"""Resumable, checksum-verified downloads with progress and cancel (urllib only).

The file being fetched lives at ``dest + ".part"``; it is renamed to ``dest`` only
after its checksum matches, so a file under the final name is always verified
data. A partial ``.part`` is resumed with an HTTP Range request when the server
answers 206, and restarted when it answers 200. The ``.part`` is locked (flock) while
it is written, so two processes never append to one file. What a download may write
is capped by the file's published size; a per-read timeout, an overall deadline and a
minimum rate end a stalled or dripping transfer (:mod:`cnnstudio.data.limits`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from cnnstudio.data import limits
from cnnstudio.data.errors import DownloadCancelled, DownloadError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a second download there is not detected
    fcntl = None  # type: ignore[assignment]

#: progress(bytes_done, total_or_None, rate_bytes_per_s, eta_s_or_None)
ProgressFn = Callable[[int, Optional[int], float, Optional[float]], None]
CHUNK = 1 << 16
OFFLINE_HINT = ("check your internet connection, or train on the bundled MNIST sample, "
                "which needs no download (--data sample)")


def parse_checksum(checksum: str) -> tuple[str, str]:
    """"md5:<hex>" or "sha256:<hex>" -> (algorithm, lowercase hex)."""
    algo, _, digest = checksum.partition(":")
    if algo not in ("md5", "sha256") or not digest:
        raise ValueError(f"checksum must look like 'md5:<hex>' or 'sha256:<hex>', got {checksum!r}")
    return algo, digest.lower()


def file_digest(path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path, checksum: str) -> bool:
    """True if ``path`` exists and matches ``checksum``."""
    algo, digest = parse_checksum(checksum)
    return Path(path).is_file() and file_digest(path, algo) == digest


class _Progress:
    """Throttles the callback to ~10 calls/s and computes rate and ETA for this session."""

    def __init__(self, fn: ProgressFn | None, start_bytes: int, total: int | None):
        self.fn, self.start_bytes, self.total = fn, start_bytes, total
        self.t0 = time.monotonic()
        self.last = float("-inf")  # report the first chunk at once, then ~10 times a second

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if self.fn is None or (not final and now - self.last < 0.1):
            return
        self.last = now
        rate = (done - self.start_bytes) / max(now - self.t0, 1e-6)
        eta = (self.total - done) / rate if self.total and rate > 0 else None
        self.fn(done, self.total, rate, eta)


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _open(url: str, offset: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "cnnstudio"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(req, timeout=timeout)


def _connect(url: str, fd: int, offset: int, timeout: float):
    """Open the response, resuming at ``offset`` if the server honours Range. Returns (resp, offset)."""
    try:
        try:
            resp = _open(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:
                raise
            exc.close()
            os.ftruncate(fd, 0)  # our partial file is not a prefix the server knows: start over
            offset = 0
            resp = _open(url, 0, timeout)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            # urllib's own text spans three lines ("...would lead to an infinite loop.\nThe last 30x...")
            raise DownloadError(url, f"the server redirects in a loop (HTTP {exc.code} after "
                                f"{urllib.request.HTTPRedirectHandler.max_redirections} redirects); the "
                                f"download address is broken, try again later or {OFFLINE_HINT}") from None
        raise DownloadError(url, f"the server answered HTTP {exc.code} {_one_line(exc.reason)}; try again "
                            f"later or {OFFLINE_HINT}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(url, f"could not reach the server ({_one_line(reason)}); {OFFLINE_HINT}") from None
    if offset and not (resp.status == 206 and
                       resp.headers.get("Content-Range", "").startswith(f"bytes {offset}-")):
        offset = 0  # the server sent the whole file (200): restart
    return resp, offset


def size_cap(size: int | None) -> int:
    """The most bytes a download may write: its published size (with 1% and 64 KiB of slack, so
    a size misprinted by a few bytes does not break it; the checksum checks every byte), or
    ``limits.MAX_DOWNLOAD_BYTES`` for a file without a published size."""
    return size + size // 100 + (64 << 10) if size else limits.MAX_DOWNLOAD_BYTES


@dataclass
class Bounds:
    """How long and how slowly a download may run, and how much it may write."""

    max_bytes: int
    timeout: float                 # seconds without a byte before the transfer counts as stalled
    deadline: float = limits.DOWNLOAD_DEADLINE_S
    min_rate: float = limits.MIN_RATE_BYTES_S
    rate_window: float = limits.RATE_WINDOW_S


def download(url: str, dest, checksum: str, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, timeout: float = 10.0, *, size: int | None = None,
             deadline: float | None = None, min_rate: float | None = None,
             rate_window: float | None = None, lock_wait: float | None = None) -> Path:
    """Fetch ``url`` to ``dest``, verified against ``checksum`` ("md5:..." / "sha256:...").

    timeout: seconds to wait for the connection and for each piece of the body (a server that
    sends nothing for that long has stalled). Offline, a DNS failure or a refused connection
    fails at once. ``size``: the file's published size, which caps what is written (see
    :func:`size_cap`); ``deadline`` (seconds in all), ``min_rate`` (bytes/s averaged over
    ``rate_window`` seconds) end a stalled or dripping transfer; the defaults are in
    :mod:`cnnstudio.data.limits`. The ``.part`` file is locked while it is written: a second
    process waits ``lock_wait`` seconds for it, then says another download is running.
    Raises DownloadError (server unreachable, HTTP error, truncated, too large, too slow,
    checksum mismatch) or DownloadCancelled (``cancel`` set; the ``.part`` is kept for a resume).
    A file under ``dest`` only ever appears verified.
    """
    dest = Path(dest)
    algo, digest = parse_checksum(checksum)
    if dest.is_file() and file_digest(dest, algo) == digest:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    bounds = Bounds(size_cap(size), timeout,
                    limits.DOWNLOAD_DEADLINE_S if deadline is None else deadline,
                    limits.MIN_RATE_BYTES_S if min_rate is None else min_rate,
                    limits.RATE_WINDOW_S if rate_window is None else rate_window)
    fd = _lock_part(url, part, limits.LOCK_WAIT_S if lock_wait is None else lock_wait)
    try:
        if dest.is_file() and file_digest(dest, algo) == digest:
            return dest  # another process finished it while we waited for the lock
        return _fetch_locked(url, dest, part, fd, algo, digest, bounds, progress, cancel)
    except BaseException:
        if os.fstat(fd).st_size == 0:
            part.unlink(missing_ok=True)  # nothing to resume (offline, refused): leave no empty .part
        raise
    finally:
        os.close(fd)  # releases the lock


def _lock_part(url: str, part: Path, wait: float) -> int:
    """Open ``part`` (created if missing, never truncated) and lock it; the fd holds the lock."""
    give_up = time.monotonic() + wait
    while True:
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= give_up:
                raise DownloadError(url, f"another download of {part.name[:-5]} is running (its partial file "
                                    f"{part} is locked); wait for it to finish, or stop it first") from None
            time.sleep(0.05)  # poll the other process's lock
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(part).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the other process renamed the .part we locked: lock the new one


def _fetch_locked(url, dest: Path, part: Path, fd: int, algo: str, digest: str, bounds: Bounds,
                  progress, cancel) -> Path:
    offset = os.fstat(fd).st_size
    if offset >= bounds.max_bytes:
        os.ftruncate(fd, 0)  # longer than the file can be: not a prefix of it
        offset = 0
    resp, offset = _connect(url, fd, offset, bounds.timeout)
    with resp:
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        if total is not None and total > bounds.max_bytes:
            raise DownloadError(url, f"the server announces {total:,} bytes, more than the "
                                f"{bounds.max_bytes:,} this file can have; not the published file, try "
                                f"again later or {OFFLINE_HINT}")
        hasher = hashlib.new(algo)
        if offset:
            with open(part, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    hasher.update(block)
        done = _stream(url, resp, fd, offset, total, hasher, progress, cancel, bounds)
    if total is not None and done < total:
        raise DownloadError(url, f"the connection closed after {done:,} of {total:,} bytes; run the "
                            "download again to resume it")
    if hasher.hexdigest() != digest:
        part.unlink(missing_ok=True)
        raise DownloadError(url, f"{algo} checksum mismatch: expected {digest}, got "
                            f"{hasher.hexdigest()}; the corrupt download was deleted, try again")
    os.replace(part, dest)
    return dest


class _Pace:
    """Ends a transfer past its deadline or slower than the minimum rate over a window."""

    def __init__(self, url: str, bounds: Bounds):
        self.url, self.bounds = url, bounds
        self.t0 = self.win_start = time.monotonic()
        self.win_done = 0

    def check(self, done: int) -> None:
        now, b = time.monotonic(), self.bounds
        if now - self.t0 > b.deadline:
            raise DownloadError(self.url, f"the download did not finish within {b.deadline:g} s ({done:,} bytes "
                                "so far); the server is too slow, run it again later to resume it")
        if now - self.win_start >= b.rate_window:
            rate = (done - self.win_done) / (now - self.win_start)
            if rate < b.min_rate:
                raise DownloadError(self.url, f"the transfer is too slow: {rate:,.0f} bytes/s over the last "
                                    f"{now - self.win_start:.0f} s, below the {b.min_rate:,.0f} bytes/s kept going; "
                                    "run it again later to resume it")
            self.win_start, self.win_done = now, done


def _stream(url, resp, fd: int, offset: int, total, hasher, progress, cancel, bounds: Bounds) -> int:
    """Write the body into ``fd`` from ``offset``; return bytes now in the file."""
    report = _Progress(progress, offset, total)
    pace = _Pace(url, bounds)
    pace.win_done = done = offset
    os.ftruncate(fd, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(url, f"download cancelled after {done:,} bytes; "
                                        "running it again resumes it")
            # read1: whatever has arrived (read(n) waits for all n bytes, so a dripping server
            # would never come back to the checks below)
            block = resp.read1(min(CHUNK, bounds.max_bytes + 1 - done))
            if not block:
                break
            if done + len(block) > bounds.max_bytes:
                os.ftruncate(fd, 0)
                raise DownloadError(url, f"the server sent more than the {bounds.max_bytes:,} bytes this "
                                    "file can have; the download was stopped and its partial file deleted")
            os.write(fd, block)
            hasher.update(block)
            done += len(block)
            report(done)
            pace.check(done)
    except socket.timeout:
        raise DownloadError(url, f"the server sent nothing for {bounds.timeout:g} s after {done:,} bytes "
                            "(stalled); run the download again to resume it") from None
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, DownloadError):
            raise
        raise DownloadError(url, f"the transfer broke off after {done:,} bytes ({_one_line(exc)}); "
                            "run the download again to resume it") from None
    finally:
        os.fsync(fd)
    report(done, final=True)
    return done


def format_progress(done: int, total: int | None, rate: float, eta: float | None) -> str:
    """One line for a status bar or terminal: "12.3 / 45.6 MB (27%), 3.2 MB/s, 11 s left"."""
    mb = 1e6
    text = f"{done / mb:.1f} / {total / mb:.1f} MB ({100 * done / total:.0f}%)" if total else f"{done / mb:.1f} MB"
    text += f", {rate / mb:.1f} MB/s"
    if eta is not None:
        text += f", {eta:.0f} s left" if eta < 120 else f", {eta / 60:.0f} min left"
    return text
