#!/usr/bin/env bash
# Runs the fuzz targets (cargo fuzz, libFuzzer, AddressSanitizer) for a bounded time each.
#
#   bash fuzz/run.sh [--secs N] [--dev] [target ...]   # default: 20 s each, every target
#
# --dev builds without optimisation (minutes less to compile, fewer executions per second): what
# CI's short run uses; the longer runs recorded in the README are optimised builds.
#
# Installs cargo-fuzz when missing. cargo fuzz needs nightly-only compiler flags (the sanitizer);
# on a stable toolchain this script sets RUSTC_BOOTSTRAP=1 for the fuzz build only. The corpus
# grows under fuzz/corpus/ (ignored by git), seeded from fuzz/seeds/ (and examples/endpoints/); a crash leaves its input in
# fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
secs=20
profile=()
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --secs) secs="$2"; shift 2 ;;
        --dev) profile=(--dev); shift ;;
        -h|--help) sed -n 2,12p "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    targets=(script routing store_command config)
fi

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" >&2
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
# The sanitizer instruments the Rust code; QuickJS-ng's C is compiled as usual (CFLAGS reach the
# host build of rquickjs' proc macro too, which rustc then cannot load): a memory error in the
# engine shows as the crash (SIGSEGV, abort) that libFuzzer reports, not at its first bad access.

cargo fuzz build "${profile[@]}" --debug-assertions >&2
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    dict=()
    if [ -f "$target.dict" ]; then dict=("-dict=$target.dict"); fi
    echo "fuzz: $target for ${secs}s" >&2
    seeds=("seeds/$target")
    # The sample endpoints are the script target's best seeds: read in place, not copied.
    if [ "$target" = script ]; then seeds+=(../examples/endpoints); fi
    cargo fuzz run "${profile[@]}" --debug-assertions "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}"
done
