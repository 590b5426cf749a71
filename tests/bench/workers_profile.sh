#!/bin/bash
# Where a two-worker broker's extra CPU goes: one fresh Roost per worker count under roost-bench
# pairs N=100 (closed loop, bounded), a `perf record -g` of its threads and a `perf stat` of its
# syscalls while the load runs, then its self time grouped by kind (kernel, malloc/free, locks,
# cross-worker, decode, routing, ...) as shares and as µs per delivery. tests/bench/RESULTS.md,
# "What the second worker costs, session 11", was taken with it.
#
#   tests/bench/workers_profile.sh --roost build/core/roost --bench build/tools/bench/roost-bench \
#       [--workers "1 2"] [--qos 0] [--threads N] [--out DIR]
#
# Needs perf (linux-perf) and permission to attach to the broker (root, or perf_event_paranoid <= 1).
# Single runs on a shared 2-core machine: compare shares between runs taken one after another,
# not absolute rates. Whether a pair's publisher and subscriber land on different workers depends
# on the order roost-bench's threads connect (worker 0 hands connections out in turn), so with
# two generator threads the share of cross-worker deliveries varies from run to run; --threads 1
# connects in order and puts every pair on one worker.
set -euo pipefail
roost=""; bench=""; workers="1 2"; qos=0; threads=""; out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --roost) roost=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --qos) qos=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $roost && -x $bench ]] || { echo "$0: --roost and --bench must name executables" >&2; exit 2; }
command -v perf >/dev/null || { echo "$0: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
out=${out:-$(mktemp -d /tmp/workers_profile.XXXXXX)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
pid=""
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null || true' EXIT

for w in $workers; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '[broker]\nworkers = %s\n\n[limits]\nmax_queued_messages = 1000000\n\n[[listener]]\nbind = "127.0.0.1"\nport = %s\n' \
    "$w" "$port" >"$out/w$w.toml"
  "$roost" -c "$out/w$w.toml" >"$out/roost-w$w.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  timeout 60 "$bench" --port "$port" --scenario pairs --pairs 100 --qos "$qos" --duration 4 --warmup 1 \
    ${threads:+--threads "$threads"} --broker-pid "$pid" --quiet --json "$out/bench-w$w.json" >/dev/null 2>&1 &
  bench_pid=$!
  # Until the broker is busy (connecting 200 clients can take a while on a loaded machine).
  ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  for _ in $(seq 100); do a=$(ticks); sleep 0.1; b=$(ticks); (( b - a >= 3 )) && break; done
  sleep 0.5
  tids=$(printf '%s\n' "/proc/$pid/task"/* | sed 's|.*/||' | paste -sd,)
  timeout -s INT 2 perf stat -e 'syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,context-switches,cpu-clock' \
    -t "$tids" -o "$out/stat-w$w.txt" &
  stat_pid=$!
  perf record -F 3999 -g -p "$pid" -o "$out/perf-w$w.data" -- sleep 2 >/dev/null 2>&1
  wait "$stat_pid" || true
  wait "$bench_pid" || true
  kill "$pid"; wait "$pid" || true; pid=""
  echo "== workers = $w (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  python3 "$here/workers_profile.py" "$out" "$w"
done
echo "perf data, perf stat and roost-bench JSON in $out"
