#!/usr/bin/env bash
# Install CNN Studio into .venv (plus the system libraries Qt needs on Debian/Ubuntu,
# when they are missing) and start the app on the bundled MNIST sample.
# Usage: bash scripts/app.sh [PROJECT.cnnproj]
# The install runs only when it is needed: the first time, or after pyproject.toml changed
# (or the Python, or the installed package went away). A second start goes straight to the
# window; CNNSTUDIO_REINSTALL=1 forces the install.
set -euo pipefail
cd "$(dirname "$0")/.."

STAMP=.venv/.cnnstudio-installed   # what the last install was made from
PY="${PYTHON:-python3}"

stamp_now() {
    # pyproject.toml (dependencies, entry points) and the interpreter: what an install depends on;
    # the sources need no reinstall (editable install)
    { sha256sum pyproject.toml; .venv/bin/python -c 'import sys; print(sys.version)'; } 2>/dev/null | sha256sum | cut -d' ' -f1
}

installed() {
    [ -x .venv/bin/python ] && [ -x .venv/bin/cnnstudio ] && [ -f "$STAMP" ] \
        && [ "$(cat "$STAMP")" = "$(stamp_now)" ] && [ -z "${CNNSTUDIO_REINSTALL:-}" ]
}

if ! installed; then
    bash scripts/install-qt-libs.sh display
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e .
    stamp_now > "$STAMP"
fi
exec .venv/bin/cnnstudio gui "$@"
