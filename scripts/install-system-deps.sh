#!/bin/sh
# System packages the test suite needs beyond Python: Chromium, for the week 6
# browser test (a real headless browser opens the live dashboard).
# Idempotent: does nothing when /usr/bin/chromium exists, so `make test` can
# call it every time. Needs root (or sudo) and a Debian/Ubuntu apt.
set -eu

if [ -x /usr/bin/chromium ]; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: not installed and apt-get is unavailable; install Chromium by hand" >&2
    echo "(the week 6 browser test is skipped without it)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "chromium: not installed and not root; run: apt-get install -y chromium" >&2
        exit 0
    fi
fi

echo "chromium: installing the Debian package (once)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
