#!/usr/bin/env bash
# Tools some tests use when present: promtool (Debian's prometheus package) for the alert-rule tests.
# Idempotent and tolerant: a missing tool only makes those tests skip, so a failed install is a warning.
set -uo pipefail

if command -v promtool >/dev/null 2>&1; then
    echo "promtool present: $(promtool --version 2>&1 | head -n 1)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: no apt-get; promtool not installed, the alert-rule tests will skip" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "warning: not root and no sudo; promtool not installed, the alert-rule tests will skip" >&2
        exit 0
    fi
fi
# The package's post-install starts no service without systemd; --no-install-recommends keeps it small.
if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
    echo "promtool installed: $(promtool --version 2>&1 | head -n 1)"
else
    echo "warning: installing prometheus failed; the alert-rule tests will skip" >&2
fi
exit 0
