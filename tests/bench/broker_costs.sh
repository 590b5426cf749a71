#!/usr/bin/env bash
# What one delivery costs the broker, in the figures this VM measures steadily: system calls and
# context switches per delivery (perf's tracepoint counts, not time), and user and system CPU per
# delivery kept apart (/proc/PID/stat). For comparing two builds of Roost on one scenario, where
# the total CPU per delivery of run_targets.sh swings ±30 % between rounds.
#
#   tests/bench/broker_costs.sh --roost build/core/roost -- --scenario fan-out --subscribers 1000
#   tests/bench/broker_costs.sh --roost new/roost --old old/roost --workers 2 --rounds 3 -- \
#       --scenario pairs --pairs 100 --qos 1
#   options: --roost BIN  --old BIN (a second broker, alternated with the first)  --workers N (1)
#            --rounds R (3)  --bench BIN (roost-bench)  --window SECONDS (2: what is counted)
#            after --: roost-bench's scenario options (default: fan-out S=1000 QoS 0)
#
# Each round starts a fresh broker (generated roost.toml: workers N, max_queued_messages 1000000,
# one listener on a free 127.0.0.1 port) and stops it by PID. roost-bench runs for the window plus
# 2 s; the counts cover the window in the middle of its measurement. Needs perf (linux-perf) for
# the syscall and context-switch columns; without it they say "-". Writes nothing but a
# temporary folder, removed at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
old="" workers=1 rounds=3 window=2
scenario=(--scenario fan-out --subscribers 1000 --qos 0)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --roost) roost_bin=$(realpath "$2"); shift ;;
    --old) old=$(realpath "$2"); shift ;;
    --bench) bench_bin=$(realpath "$2"); shift ;;
    --workers) workers=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --window) window=$2; shift ;;
    --) shift; scenario=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "broker_costs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for bin in "$roost_bin" "$bench_bin" ${old:+"$old"}; do
  [[ -x $bin ]] || { echo "broker_costs.sh: $bin is not built (cmake --build build)" >&2; exit 2; }
done
have_perf=0
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 && have_perf=1

tmp=$(mktemp -d)
broker_pid=""
cleanup() {
  [[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# measure BIN: one round against a fresh broker; prints one line.
measure() {
  local bin=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf '[broker]\nworkers = %s\n[limits]\nmax_queued_messages = 1000000\n[[listener]]\nbind = "127.0.0.1"\nport = %s\n' \
    "$workers" "$port" >"$tmp/roost.toml"
  "$bin" -c "$tmp/roost.toml" >"$tmp/roost.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 50); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  local bench_seconds
  bench_seconds=$(python3 -c "print($window + 2)")
  "$bench_bin" -p "$port" "${scenario[@]}" -d "$bench_seconds" -w 1 --json "$tmp/run.json" >/dev/null 2>&1 &
  local bench=$!
  sleep 2  # the warm-up and the first second of the measurement
  local before after
  read -r -a before <"/proc/$broker_pid/stat"
  if ((have_perf)); then
    perf stat -e raw_syscalls:sys_enter,context-switches -x, -o "$tmp/perf.txt" -p "$broker_pid" -- sleep "$window" \
      >/dev/null 2>&1
  else
    sleep "$window"
  fi
  read -r -a after <"/proc/$broker_pid/stat"
  wait "$bench" || true
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
  local ticks
  ticks=$(getconf CLK_TCK)
  python3 - "$tmp/run.json" "$tmp/perf.txt" "$have_perf" "$window" "$ticks" \
    "$((after[13] - before[13]))" "$((after[14] - before[14]))" "$bin" <<'EOF'
import json, sys
run, perf_file, have_perf, window, ticks, user, system, binary = sys.argv[1:]
r = json.load(open(run))
rate = r["deliveries_per_s"]
deliveries = rate * float(window)
if not deliveries:
    print(f"{binary}: nothing delivered ({'; '.join(r.get('error_messages', []))})")
    sys.exit(0)
counts = {}
if have_perf == "1":
    for line in open(perf_file):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            counts[f[2]] = float(f[0])
def per(name):
    return f"{counts[name] / deliveries:.4f}" if name in counts else "-"
us = 1e6 / int(ticks) / deliveries
print(f"{binary}: {rate / 1e3:,.0f}k deliveries/s, lost {r['lost']}; per delivery: user "
      f"{int(user) * us:.3f} µs, system {int(system) * us:.3f} µs, syscalls {per('raw_syscalls:sys_enter')}, "
      f"context switches {per('context-switches')}")
EOF
}

echo "broker_costs.sh: workers = $workers, roost-bench ${scenario[*]}, ${window} s counted per round"
for ((r = 1; r <= rounds; r++)); do
  measure "$roost_bin"
  [[ -n $old ]] && measure "$old"
done
