#!/bin/sh
# Debian packages rth needs: flite (the stand-in's offline TTS, also used to build fixtures),
# libsndfile1 (soundfile) and iproute2 (the loopback-only test namespace). Installs only what is
# missing, with apt-get when root (or password-less sudo); otherwise says what to run.
set -eu
missing=""
command -v flite >/dev/null 2>&1 || missing="$missing flite"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "rth: missing Debian packages:$missing. Run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "rth: installing$missing with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
