#!/usr/bin/env bash
# Install CNN Studio into .venv (plus the system libraries Qt needs on Debian/Ubuntu,
# when they are missing) and start the app on the bundled MNIST sample.
# Usage: bash scripts/app.sh [PROJECT.cnnproj]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-qt-libs.sh display

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/cnnstudio gui "$@"
