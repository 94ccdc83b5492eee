"""Typed errors raised by the data package.

Every error names the file (``path``, may be None for in-memory data) and the
problem, so the CLI and the GUI can show it as is.
"""

from __future__ import annotations

import os


#: the problem text of a missing data file (readers share it so every one says what to do)
NOT_FOUND = "file not found; check the path"


class DataError(Exception):
    """Base class: a dataset could not be read or used.

    ``path`` is the file or folder concerned (or None); ``problem`` the bare reason.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        # one line, whatever a library put in the text we quote (tarfile's ReadError spans five)
        self.problem = problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class DataFormatError(DataError, ValueError):
    """The file is not in the format it claims, is truncated or inconsistent."""


class DataMismatchError(DataError, ValueError):
    """The data does not fit the network (e.g. colour images for a grayscale network)."""


class DownloadError(DataError, OSError):
    """A download failed (unreachable server, HTTP error, bad checksum, cancelled)."""


class DownloadCancelled(DownloadError):
    """The caller cancelled a download; the partial file is kept for a later resume."""
