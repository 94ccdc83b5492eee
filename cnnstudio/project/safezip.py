"""Reading zip archives whose sizes and counts are not trusted (the project and its npz members).

- :func:`check_directory` reads the end-of-central-directory record itself and refuses an
  archive whose directory lists more entries, or takes more bytes, than the caller allows,
  before :class:`zipfile.ZipFile` reads and parses that directory.
- :func:`read_member` inflates one member in bounded pieces and stops one byte past its
  limit, or as soon as it has inflated more than ``MAX_COMPRESSION_RATIO`` times its
  compressed size. ``ZipExtFile.read()`` without a size is not bounded by the declared
  size: it inflates up to 2 GiB per call and truncates afterwards.

Every refusal is a :class:`ZipLimitError` (a ValueError) whose message names the member.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO

from cnnstudio.project import limits

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (22 bytes)
_EOCD_SIG = b"PK\x05\x06"
_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator (20 bytes)
_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record (56 bytes)
_EOCD64_SIG = b"PK\x06\x06"


class ZipLimitError(ValueError):
    """An archive or member is malformed or exceeds a limit; the message names it."""


def directory_size(fh: BinaryIO, size: int) -> tuple[int, int]:
    """(entries, central directory bytes) as the end records declare them, found the way
    zipfile finds them (a record at the very end first, else the last one in the comment area)."""
    if size < _EOCD.size:
        raise ZipLimitError("not a zip archive (too short)")
    fh.seek(size - _EOCD.size)
    tail = fh.read(_EOCD.size)
    start = size - _EOCD.size
    if not (tail[:4] == _EOCD_SIG and tail[-2:] == b"\0\0"):
        span = min(size, _EOCD.size + 0xFFFF)
        fh.seek(size - span)
        tail = fh.read(span)
        pos = tail.rfind(_EOCD_SIG)
        if pos < 0 or len(tail) - pos < _EOCD.size:
            raise ZipLimitError("not a zip archive (no end of central directory)")
        start = size - span + pos
        tail = tail[pos:pos + _EOCD.size]
    _sig, _disk, _cd_disk, _here, entries, cd_bytes, _offset, _comment = _EOCD.unpack(tail)
    if start >= _LOCATOR.size:  # zipfile reads a zip64 record whenever a locator precedes the record
        fh.seek(start - _LOCATOR.size)
        loc = fh.read(_LOCATOR.size)
        if len(loc) == _LOCATOR.size and loc[:4] == _LOCATOR_SIG:
            if start < _LOCATOR.size + _EOCD64.size:
                raise ZipLimitError("damaged zip64 end records")
            fh.seek(start - _LOCATOR.size - _EOCD64.size)
            rec = fh.read(_EOCD64.size)
            if len(rec) != _EOCD64.size or rec[:4] != _EOCD64_SIG:
                raise ZipLimitError("damaged zip64 end records")
            fields = _EOCD64.unpack(rec)
            entries, cd_bytes = fields[7], fields[8]
    return entries, cd_bytes


def check_directory(fh: BinaryIO, size: int, max_entries: int) -> None:
    """Refuse an archive whose central directory is larger than ``max_entries`` can need."""
    entries, cd_bytes = directory_size(fh, size)
    if entries > max_entries:
        raise ZipLimitError(f"its directory lists {entries:,} entries, more than the {max_entries} it may hold")
    most = max_entries * limits.CENTRAL_DIRECTORY_BYTES_PER_ENTRY
    if cd_bytes > most:
        raise ZipLimitError(f"its directory takes {cd_bytes:,} bytes, more than the {most:,} that "
                            f"{max_entries} entries need")
    if cd_bytes > size:
        raise ZipLimitError(f"its directory claims {cd_bytes:,} bytes in a file of {size:,} (truncated?)")
    fh.seek(0)


def open_archive(fh: BinaryIO, size: int, max_entries: int) -> zipfile.ZipFile:
    """A ZipFile over ``fh`` after :func:`check_directory`; at most ``max_entries`` members."""
    check_directory(fh, size, max_entries)
    try:
        zf = zipfile.ZipFile(fh, "r")
    except (zipfile.BadZipFile, ValueError, OverflowError, EOFError, NotImplementedError, struct.error) as exc:
        raise ZipLimitError(f"not a valid zip archive ({exc})") from exc
    if len(zf.infolist()) > max_entries:  # zipfile reads the directory by bytes, not by its count
        n = len(zf.infolist())
        zf.close()
        raise ZipLimitError(f"it holds {n:,} entries, more than the {max_entries} it may hold")
    return zf


def check_member(info: zipfile.ZipInfo, limit: int, archive_size: int) -> None:
    """Refuse a member from its directory entry alone: method, encryption, declared sizes."""
    name = info.filename
    if info.compress_type not in limits.ALLOWED_COMPRESSION:
        raise ZipLimitError(f"member {name} uses compression method {info.compress_type}; only stored "
                            "and deflate are read")
    if info.flag_bits & 0x1:
        raise ZipLimitError(f"member {name} is encrypted")
    if info.file_size > limit:
        raise ZipLimitError(f"member {name} declares {info.file_size:,} bytes, more than the {limit:,} "
                            "allowed for it (possible zip bomb)")
    if info.compress_size > archive_size:
        raise ZipLimitError(f"member {name} claims {info.compress_size:,} compressed bytes in an archive "
                            f"of {archive_size:,} (truncated or damaged)")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, archive_size: int) -> bytes:
    """The member's bytes, inflated ``READ_CHUNK_BYTES`` at a time; never holds more than
    ``limit + READ_CHUNK_BYTES`` of output (and the joined copy) before refusing."""
    check_member(info, limit, archive_size)
    chunks: list[bytes] = []
    total = 0
    ratio_cap = limits.MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
    try:
        with zf.open(info) as fh:
            while True:
                data = fh.read(min(limits.READ_CHUNK_BYTES, limit + 1 - total))
                if not data:
                    break
                total += len(data)
                if total > limit:
                    raise ZipLimitError(f"member {info.filename} inflates to more than the {limit:,} bytes "
                                        "allowed for it (possible zip bomb)")
                if total > limits.RATIO_FREE_BYTES and total > ratio_cap:
                    raise ZipLimitError(f"member {info.filename} inflates to more than "
                                        f"{limits.MAX_COMPRESSION_RATIO} times its compressed size "
                                        f"({info.compress_size:,} bytes; possible zip bomb)")
                chunks.append(data)
    except ZipLimitError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error,
            struct.error, OverflowError) as exc:
        # RuntimeError: encrypted; zlib.error: corrupt stream; BadZipFile: CRC or header mismatch
        raise ZipLimitError(f"member {info.filename} is damaged ({exc})") from exc
    if total != info.file_size:
        raise ZipLimitError(f"member {info.filename} holds {total:,} bytes but declares {info.file_size:,}")
    return b"".join(chunks)
