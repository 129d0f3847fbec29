#!/usr/bin/env bash
# Installs what the admin API's schema fuzzing (tests/admin_schema.rs) needs, and only when it is
# missing, so running it again is quick: a Python venv with schemathesis and everything it pulls in
# at the versions tests/schema/requirements.txt pins. The venv lives in the cargo target directory
# (`SWITCHYARD_SCHEMA_VENV`, default `<repo>/target/schemathesis-venv`), outside the tracked tree;
# a fresh clone or `cargo clean` gets it back on the next run. It is rebuilt from scratch whenever
# requirements.txt differs from the copy installed with it. Needs python3 3.11 or newer (as
# schemathesis 4.32 does) with its venv and ensurepip modules (Debian's python3-venv is installed
# when they are missing) and PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SWITCHYARD_SCHEMA_VENV:-$root/target/schemathesis-venv}"
requirements="$here/requirements.txt"

installed() {
  [ -x "$venv/bin/schemathesis" ] && cmp -s "$requirements" "$venv/installed-requirements.txt"
}
if installed; then exit 0; fi

mkdir -p "$(dirname "$venv")"
# Two runs at once: the second waits for the first and then finds everything installed.
exec 9>"$venv.lock"
flock 9
if installed; then exit 0; fi

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "schemathesis 4.32 needs python3 3.11 or newer; python3 is $(python3 --version 2>&1)" >&2
  exit 1
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends python3-venv
fi

rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
"$venv/bin/schemathesis" --version
cp "$requirements" "$venv/installed-requirements.txt"
