#!/bin/sh
# Debian packages rth needs: flite (the stand-in's offline TTS, also used to build fixtures),
# libsndfile1 (soundfile) and iproute2 (the loopback-only test namespace); chromium for the tests
# that open the HTML report and the stand-in's playground in a headless browser (optional: without
# it those tests are skipped).
# Installs only what is missing, with apt-get when root (or password-less sudo); otherwise says
# what to run.
set -eu
missing=""
command -v flite >/dev/null 2>&1 || missing="$missing flite"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
optional=""
[ -x /usr/bin/chromium ] || optional="$optional chromium"
[ -n "$missing$optional" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    if [ -n "$optional" ]; then
        echo "rth: optional Debian package missing:$optional (the browser tests of the HTML report and the playground are skipped)." \
            "Run: sudo apt-get install -y$optional" >&2
    fi
    if [ -n "$missing" ]; then
        echo "rth: missing Debian packages:$missing. Run: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    exit 0
fi
echo "rth: installing$missing$optional with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing $optional >/dev/null
