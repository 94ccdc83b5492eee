"""Resumable, checksum-verified downloads with progress and cancel (urllib only).

The file being fetched lives at ``dest + ".part"``; it is renamed to ``dest`` only
after its checksum matches, so a file under the final name is always verified
data. A partial ``.part`` is resumed with an HTTP Range request when the server
answers 206, and restarted when it answers 200.
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
from pathlib import Path
from typing import Callable, Optional

from cnnstudio.data.errors import DownloadCancelled, DownloadError

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


def _open(url: str, offset: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "cnnstudio"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(req, timeout=timeout)


def _connect(url: str, part: Path, timeout: float):
    """Open the response, resuming ``part`` if the server honours Range. Returns (resp, offset)."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        try:
            resp = _open(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:
                raise
            exc.close()
            part.unlink()  # our partial file is not a prefix the server knows: start over
            offset = 0
            resp = _open(url, 0, timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(url, f"the server answered HTTP {exc.code} {exc.reason}; try again later "
                            f"or {OFFLINE_HINT}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(url, f"could not reach the server ({reason}); {OFFLINE_HINT}") from None
    if offset and not (resp.status == 206 and
                       resp.headers.get("Content-Range", "").startswith(f"bytes {offset}-")):
        offset = 0  # the server sent the whole file (200): restart
    return resp, offset


def download(url: str, dest, checksum: str, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, timeout: float = 10.0) -> Path:
    """Fetch ``url`` to ``dest``, verified against ``checksum`` ("md5:..." / "sha256:...").

    timeout: seconds to wait for the connection and for each chunk. Offline, a DNS failure
    or a refused connection fails at once; an unanswered connect after ``timeout``.
    Raises DownloadError (server unreachable, HTTP error, truncated, checksum mismatch)
    or DownloadCancelled (``cancel`` set; the ``.part`` is kept for a later resume).
    A file under ``dest`` only ever appears verified.
    """
    dest = Path(dest)
    algo, digest = parse_checksum(checksum)
    if dest.is_file() and file_digest(dest, algo) == digest:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    resp, offset = _connect(url, part, timeout)
    with resp:
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        hasher = hashlib.new(algo)
        if offset:
            with open(part, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    hasher.update(block)
        done = _stream(url, resp, part, offset, total, hasher, progress, cancel)
    if total is not None and done < total:
        raise DownloadError(url, f"the connection closed after {done:,} of {total:,} bytes; run the "
                            "download again to resume it")
    if hasher.hexdigest() != digest:
        part.unlink(missing_ok=True)
        raise DownloadError(url, f"{algo} checksum mismatch: expected {digest}, got "
                            f"{hasher.hexdigest()}; the corrupt download was deleted, try again")
    os.replace(part, dest)
    return dest


def _stream(url, resp, part: Path, offset: int, total, hasher, progress, cancel) -> int:
    """Append the body to ``part``; return bytes now in ``part``."""
    report = _Progress(progress, offset, total)
    done = offset
    with open(part, "ab" if offset else "wb") as out:
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(url, f"download cancelled after {done:,} bytes; "
                                            "running it again resumes it")
                block = resp.read(CHUNK)
                if not block:
                    break
                out.write(block)
                hasher.update(block)
                done += len(block)
                report(done)
        except (socket.timeout, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(url, f"the transfer broke off after {done:,} bytes ({exc}); "
                                "run the download again to resume it") from None
        finally:
            out.flush()
            os.fsync(out.fileno())
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
