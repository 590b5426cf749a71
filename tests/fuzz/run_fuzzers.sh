#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own build directory and runs each one for N
# seconds (first argument, default 60) on a scratch copy of its seed corpus, so the repository's
# corpus is never polluted. Exits non-zero when a target finds a crash, leak or timeout.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${ROOST_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DROOST_FUZZ=ON -DROOST_TESTS=ON >/dev/null
cmake --build "$build" --target decoder_fuzz topic_fuzz config_fuzz ws_http_fuzz ws_frames_fuzz -j"$jobs"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for target in decoder topic config ws_http ws_frames; do
    corpus="$work/corpus-$target"
    artifacts="$work/artifacts-$target/"
    mkdir -p "$corpus" "$artifacts"
    cp "$root/tests/fuzz/corpora/$target/"* "$corpus/"
    echo "== ${target}_fuzz for ${seconds}s"
    if ! "$build/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" 2>"$work/$target.log"; then
        status=1
        tail -n 60 "$work/$target.log"
        mkdir -p "$root/build-fuzz-findings"
        cp "$artifacts"* "$root/build-fuzz-findings/" 2>/dev/null || true
        echo "!! ${target}_fuzz found a problem; inputs copied to $root/build-fuzz-findings/"
    else
        grep -E "stat::number_of_executed_units|Done" "$work/$target.log" || true
    fi
done
exit "$status"
