#!/usr/bin/env bash
# Install CNN Studio into .venv (plus the system libraries Qt needs on Debian/Ubuntu,
# when they are missing) and start the app on the bundled MNIST sample.
# Usage: bash scripts/app.sh [PROJECT.cnnproj]
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's xcb platform plugin needs these on a bare Debian/Ubuntu desktop.
QT_LIBS="libglib2.0-0 libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libxkbcommon-x11-0
 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0"
if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
    missing=""
    for pkg in $QT_LIBS; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        echo "Installing system libraries for Qt:$missing"
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
    fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/cnnstudio gui "$@"
