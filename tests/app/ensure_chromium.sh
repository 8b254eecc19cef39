#!/bin/sh
# Install Debian's headless Chromium for the browser test when it is missing (needs root or sudo).
# Exit 0 when /usr/bin/chromium is there afterwards; non-zero (and the reason on stderr) otherwise.
set -eu
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "chromium is missing and this user cannot install packages (not root, no sudo)" >&2; exit 2
fi
command -v apt-get >/dev/null 2>&1 || { echo "chromium is missing and apt-get is not available" >&2; exit 3; }
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium >&2
[ -x /usr/bin/chromium ]
