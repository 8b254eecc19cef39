#!/usr/bin/env bash
# A local stand-in for python:3.11-slim-bookworm, for machines that cannot pull from Docker Hub.
# Debian bookworm's own Python is 3.11, so debootstrap + `docker import` gives the same interpreter,
# libc and package manager as the official image. Made once and reused: an existing tag is kept
# (FORCE=1 rebuilds it). Usage: scripts/build_base_image.sh [TAG]   (default credit-scoring-base:bookworm)
set -euo pipefail

TAG="${1:-${BASE_IMAGE:-credit-scoring-base:bookworm}}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if [ "${FORCE:-0}" != "1" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG present (FORCE=1 rebuilds it)"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }

root=$(mktemp -d /tmp/base-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# What the official image has that minbase lacks: a `python` command.
ln -sf python3 "$root/usr/bin/python"
# TLS on this machine may go through the host's own CA bundle: pip in a build must trust it too.
if [ -f "$CA_BUNDLE" ]; then cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"; fi
# Like a slim image: no package lists, downloaded packages, docs or translations. pip is not
# needed: `python3 -m venv` brings its own (python3-venv's wheels).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/locale/* "$root"/usr/share/info/*

tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    - "$TAG"
echo "base image $TAG built"
