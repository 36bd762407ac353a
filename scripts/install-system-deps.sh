#!/bin/sh
# System packages the test suite drives beyond Python:
#   chromium  the week 6 browser test (a real headless browser opens the live dashboard)
#   curl      the course brief's own check of the order API (`kafkalab orders up` + curl)
# Idempotent: installs only what is missing, so `make test` calls it every time.
# Needs root, or password-less sudo, and apt (Debian/Ubuntu). Elsewhere it says
# what to install by hand and exits 0: the tests that need a missing tool skip,
# naming it.
set -eu

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"

if [ -z "$missing" ]; then
    echo "system packages: chromium and curl present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages:$missing missing and apt-get is unavailable; install them by hand" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    # -n: never stop `make test` at a password prompt
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "system packages:$missing missing and not root; run: sudo apt-get install -y$missing" >&2
        exit 0
    fi
fi

echo "system packages: installing$missing (once)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
