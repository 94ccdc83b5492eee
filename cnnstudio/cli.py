"""The ``cnnstudio`` command line (placeholder until the CLI lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print("cnnstudio: command line under construction", file=sys.stderr)
    return 2
