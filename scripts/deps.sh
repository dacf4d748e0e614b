#!/bin/sh
# Install the Debian 12 packages ngx_skip needs to build, test and demo.
# Idempotent: asks apt only when a package is missing, and runs
# `apt-get update` first in that case (a fresh machine has no lists).
set -eu

PACKAGES="gcc make libc6-dev dpkg-dev nginx nginx-dev liblinear-dev \
libhiredis-dev libcjson-dev redis-server redis-tools perl clang \
libclang-rt-14-dev wrk prometheus curl"
# `make deb` and its test, t/85-deb.t (dh_nginx comes with nginx-dev)
PACKAGES="$PACKAGES build-essential debhelper help2man lintian"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
