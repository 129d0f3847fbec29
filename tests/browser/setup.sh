#!/usr/bin/env bash
# Installs what the dashboard's browser test (tests/dashboard.rs → dashboard.mjs) needs, and only
# what is missing, so running it again is quick: Debian's chromium and a font when /usr/bin/chromium
# is missing, node and npm when npm is missing, then playwright-core from package-lock.json
# (`npm ci`) when node_modules is missing or older than the lock.
set -euo pipefail
cd "$(dirname "$0")"

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "$@"; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "$@"
  fi
}

if [ ! -x /usr/bin/chromium ]; then apt_install chromium fonts-liberation; fi
if ! command -v npm >/dev/null; then apt_install nodejs npm; fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi
