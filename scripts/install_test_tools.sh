#!/usr/bin/env bash
# System tools the tests use, installed from Debian when absent, and a Docker engine started when none
# runs (the image tests build and run the three images):
#   docker.io + debootstrap (image tests), prometheus (promtool: alert rules), chromium +
#   chromium-driver (browser tests), default-jre-headless (Spark tests).
# dockerd gets no bridge, iptables or masquerading: every build and container uses the host network.
# Not root and no sudo: nothing is installed and the tests that need a tool say so when they skip.
set -euo pipefail

declare -A PACKAGE_FOR=(
    [dockerd]=docker.io  # the engine: a machine may carry a docker client without it
    [debootstrap]=debootstrap
    [promtool]=prometheus
    [chromium]=chromium
    [chromedriver]=chromium-driver
    [java]=default-jre-headless
)
export PATH="$PATH:/usr/sbin:/sbin"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "warning: not root and no sudo: no system tool installed; tests needing one will skip" >&2
        exit 0
    fi
fi

missing=()
for tool in "${!PACKAGE_FOR[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_FOR[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    # Post-install scripts start no service without systemd; --no-install-recommends keeps it small.
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "tools: $(for t in "${!PACKAGE_FOR[@]}"; do command -v "$t" >/dev/null && printf '%s ' "$t"; done)"

if ! $SUDO docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /var/log/dockerd-tests.log)"
    $SUDO sh -c 'setsid dockerd --bridge=none --iptables=false --ip-masq=false \
        >/var/log/dockerd-tests.log 2>&1 < /dev/null &'
    for _ in $(seq 60); do $SUDO docker info >/dev/null 2>&1 && break; sleep 1; done
    $SUDO docker info --format 'dockerd {{.ServerVersion}} running' || {
        tail -n 30 /var/log/dockerd-tests.log >&2
        exit 1
    }
fi
