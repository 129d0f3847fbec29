#!/usr/bin/env bash
# The load harness (design §12): builds in release, installs what it drives with (wrk from Debian,
# the Node baseline's packages from npm), then runs bench/src/bin/load against Switchyard, a bare
# actix-web handler and Node.js fastify + opossum, all on 127.0.0.1 free ports.
#
#   bench/load.sh [--secs N] [--scenario fanout|tvhome|empty|monkey|failing|burst|hostile|soak|all] [--out DIR]
#
# `all` is the first seven; the soak runs only when named, and its N is its whole length
# (`--scenario soak --secs 1800`: 30 minutes; CI runs `--secs 60`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi
command -v node >/dev/null || { echo "bench/load.sh needs node (Debian: apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -d bench/node/node_modules ]; then
  echo "installing the Node baseline's packages (npm ci)" >&2
  (cd bench/node && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
fi
cargo build --release --quiet -p switchyard --bin switchyard -p switchyard-bench --bin bare --bin rusthome --bin load
exec "${CARGO_TARGET_DIR:-target}/release/load" "$@"
