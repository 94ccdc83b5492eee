"""What a data path holds, told from its content (never its name), and whether it may be opened.

:func:`check_data_path` runs before any data file is opened, also for paths stored in a
project file: only regular files and folders are read; a FIFO, a device or a socket
(``/dev/stdin``, a named pipe) would block or never end, and ``/`` would scan the whole
file system as image classes. :func:`sniff` reads at most a few hundred bytes (inflating
at most that much of a gzip stream) and names the format.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from pathlib import Path

from cnnstudio.data.errors import DataError, DataFormatError

_TEXT_BYTES = 4096

#: formats sniff() names
KINDS = ("folder", "idx-images", "idx-labels", "npz", "npy", "cifar10-binary", "cifar-python", "tar",
         "png", "jpeg", "bmp", "gif", "csv", "unknown")


def _kind_of_mode(mode: int) -> str | None:
    for test, word in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return None


def check_data_path(path, what: str = "data") -> Path:
    """Refuse, without opening it, a path that is not a regular file or an ordinary folder.

    ``what`` names the path's role in the message (e.g. "the dataset stored in the project").
    Raises DataError naming the path; returns it as a Path.
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows links; never opens, so a FIFO cannot block here
    except FileNotFoundError:
        raise DataError(path, f"{what}: no such file or folder; check the path") from None
    except OSError as exc:
        raise DataError(path, f"{what}: cannot be read ({exc.strerror or exc})") from None
    special = _kind_of_mode(st.st_mode)
    if special is not None:
        raise DataError(path, f"{what}: is {special}, not a data file; give a regular file (IDX, .npz, "
                        ".csv, a CIFAR-10 archive) or an image folder")
    if stat.S_ISDIR(st.st_mode):
        resolved = path.resolve()
        if resolved == Path(resolved.anchor):
            raise DataError(path, f"{what}: is the root of the file system, not an image folder; give a "
                            "folder with one sub-folder per class")
    elif not stat.S_ISREG(st.st_mode):
        raise DataError(path, f"{what}: is not a regular file or folder")
    return path


def sniff(path: Path) -> str:
    """One of :data:`KINDS`, from the first bytes of ``path`` (a gzip stream's first inflated bytes)."""
    if path.is_dir():
        return "folder"
    try:
        with open(path, "rb") as fh:
            head = fh.read(_TEXT_BYTES)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                inner = gz.read(512)  # bounded: never more than 512 bytes inflated
            kind = _binary_kind(inner)
            return kind if kind != "unknown" or not inner else "unknown"
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise DataFormatError(path, f"cannot read ({exc.strerror or exc})") from None
        return "unknown"  # a damaged gzip stream: the reader chosen by name explains it
    kind = _binary_kind(head)
    if kind == "unknown" and _looks_like_csv(head):
        return "csv"
    return kind


def _binary_kind(head: bytes) -> str:
    if head[:4] in (b"\x00\x00\x08\x03", b"\x00\x00\x08\x04"):
        return "idx-images"
    if head[:4] == b"\x00\x00\x08\x01":
        return "idx-labels"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "npz"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"  # the DIB header size too: a CSV whose header starts "BMI," is text
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(head) >= 262 and head[257:262] == b"ustar":
        name = head[:100].split(b"\0", 1)[0]
        if b"cifar-10-batches-bin" in name:
            return "cifar10-binary"
        if b"-python" in name or b"batches-py" in name:
            return "cifar-python"
        return "tar"
    if head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return "tar"  # bzip2 or xz: only a compressed tar is worth trying
    return "unknown"


def _looks_like_csv(head: bytes) -> bool:
    """Text of digits, commas and a header line: what a CSV of images starts with."""
    if not head or b"\0" in head:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end of the peek is fine
            return False
        text = head[:exc.start].decode("utf-8-sig", "ignore")
    return "," in text
