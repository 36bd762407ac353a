#!/bin/sh
# System packages the test suite drives beyond Python:
#   chromium              the week 6 browser test (a real headless browser opens the live dashboard)
#   curl                  the course brief's own check of the order API (`kafkalab orders up` + curl)
#   kcat                  librdkafka's command-line client, a peer that produces and consumes on
#                         the local Apache Kafka (tests/test_peers.py)
#   postgresql + wal2json week 7's real change data capture (logical decoding); the tests start a
#                         throwaway cluster of their own as the `postgres` user (initdb refuses root)
# Idempotent: installs only what is missing, so `make test` calls it every time.
# Needs root, or password-less sudo, and apt (Debian/Ubuntu). Elsewhere it says
# what to install by hand and exits 0: the tests that need a missing tool skip,
# naming it.
set -eu

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v kcat >/dev/null 2>&1 || missing="$missing kcat"
# Any PostgreSQL server version will do; wal2json must match it.
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$initdb" ]; then
    missing="$missing postgresql"
fi

if [ -z "$missing" ] && [ -n "$initdb" ]; then
    pgv=$(basename "$(dirname "$(dirname "$initdb")")")
    if ls /usr/lib/postgresql/"$pgv"/lib/wal2json.so >/dev/null 2>&1; then
        echo "system packages: chromium, curl, kcat, PostgreSQL $pgv with wal2json present"
        exit 0
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages:$missing (and wal2json for PostgreSQL) missing and apt-get is unavailable; install them by hand" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    # -n: never stop `make test` at a password prompt
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "system packages:$missing (and PostgreSQL's wal2json) missing and not root; run: sudo apt-get install -y$missing postgresql-<version>-wal2json" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ -n "$missing" ]; then
    echo "system packages: installing$missing (once)"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# The plugin's package carries the server's major version (15 on Debian 12, 16 on Ubuntu 24.04).
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$initdb" ]; then
    pgv=$(basename "$(dirname "$(dirname "$initdb")")")
    if ! ls /usr/lib/postgresql/"$pgv"/lib/wal2json.so >/dev/null 2>&1; then
        echo "system packages: installing postgresql-$pgv-wal2json (once)"
        $SUDO apt-get install -y -qq --no-install-recommends "postgresql-$pgv-wal2json"
    fi
fi
