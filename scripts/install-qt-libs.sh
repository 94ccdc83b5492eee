#!/usr/bin/env bash
# Install the Debian/Ubuntu system libraries Qt needs, when any are missing.
# Usage: bash scripts/install-qt-libs.sh headless   (offscreen: the tests)
#        bash scripts/install-qt-libs.sh display    (a real window: the app, screenshots under Xvfb)
#        bash scripts/install-qt-libs.sh xvfb       (display, plus Xvfb, xauth and xdotool: a virtual
#                                                    screen to run and drive the app on, for screenshots)
set -euo pipefail

# fonts-dejavu-core: Qt ships no fonts; with none installed it warns, and warnings fail the GUI tests.
HEADLESS="libglib2.0-0 libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 fonts-dejavu-core"
DISPLAY_LIBS="libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
 libxcb-render-util0 libxcb-shape0"
case "${1:-headless}" in
    headless) wanted="$HEADLESS" ;;
    display) wanted="$HEADLESS $DISPLAY_LIBS" ;;
    xvfb) wanted="$HEADLESS $DISPLAY_LIBS xvfb xauth xdotool" ;;
    *) echo "usage: $0 headless|display|xvfb" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    exit 0  # not Debian-like: the distribution's Qt libraries are the user's to install
fi
missing=""
for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "Installing system libraries for Qt:$missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
