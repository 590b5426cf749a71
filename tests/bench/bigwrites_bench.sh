#!/usr/bin/env bash
# Refcounted multi-buffer writes (issue 7, "fewer copies"): two Roost binaries side by side in one
# run, one worker each, on fan-out S=100 at QoS 0 and 1 with 64 KiB and with 16 B payloads;
# --rounds rounds (default 3) alternating which goes first; medians of broker CPU per delivery,
# deliveries/s and peak RSS, as after/before ratios. See tests/bench/RESULTS.md.
#
#   tests/bench/bigwrites_bench.sh --before /tmp/roost-before --roost build/core/roost \
#       --bench build/tools/bench/roost-bench [--rounds 3] [--duration 3]
#
# Output: a table on stdout and in tests/bench/results/bigwrites.md, per-run JSON in
# results/bigwrites.jsonl, broker logs in results/logs/. Stops only the brokers it started, by PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
duration=3
warmup=1
build=0
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
before_bin=""
args=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == --before ]]; then before_bin=$(realpath "$2"); shift 2; else args+=("$1"); shift; fi
done
bench_parse_args ${args[@]+"${args[@]}"}
[[ -n $before_bin ]] || { echo "$me: --before BIN is required" >&2; exit 2; }
bench_require "$roost_bin" "$bench_bin" "$before_bin"
mkdir -p "$logs"

{ read -r before_port; read -r after_port; } < <(free_ports 2)
one_worker() {
  cat >"$1" <<TOML
# Written by bigwrites_bench.sh: one listener, one worker.
[broker]
workers = 1
[[listener]]
bind = "127.0.0.1"
port = $2
TOML
}
one_worker "$logs/bigwrites-before.toml" "$before_port"
one_worker "$logs/bigwrites-after.toml" "$after_port"
"$before_bin" -c "$logs/bigwrites-before.toml" >"$logs/roost-before.log" 2>&1 &
before_pid=$!
bench_pids+=("$before_pid")
start_roost after_pid "$logs/roost-after.log" -c "$logs/bigwrites-after.toml"
wait_port "$before_port" "$before_pid" "Roost (before)"
wait_port "$after_port" "$after_pid" "Roost (after)"

scenarios=(
  "fanout100-q0-64KiB|--scenario fan-out --subscribers 100 --qos 0 --payload 65536"
  "fanout100-q1-64KiB|--scenario fan-out --subscribers 100 --qos 1 --payload 65536"
  "fanout100-q0-16B|--scenario fan-out --subscribers 100 --qos 0 --payload 16"
  "fanout100-q1-16B|--scenario fan-out --subscribers 100 --qos 1 --payload 16"
)
raw="$results/bigwrites.jsonl"
: >"$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run_alternating before "$before_port" "$before_pid" after "$after_port" "$after_pid"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
hwm_before=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$before_pid/status")
hwm_after=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$after_pid/status")

python3 - "$raw" "$results/bigwrites.md" "$runs" "$duration" "$elapsed" "$load_before" "$load_after" \
  "$hwm_before" "$hwm_after" <<'PY'
import json, statistics, sys
raw, out_md, runs, duration, elapsed, load_before, load_after, hwm_before, hwm_after = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
by, order = {}, []
for r in rows:
    broker, name, rnd = r["label"].split("|")
    if name not in order: order.append(name)
    if "deliveries_per_s" in r: by.setdefault((name, broker), []).append(r)
def med(name, broker, f):
    v = [f(r) for r in by.get((name, broker), []) if f(r) is not None]
    return statistics.median(v) if v else None
rate = lambda r: r["deliveries_per_s"]
cpu = lambda r: (r.get("broker") or {}).get("cpu_us_per_delivery")
rss = lambda r: (r.get("broker") or {}).get("rss_after_bytes")
f = lambda v, fmt: "-" if v is None else format(v, fmt)
ratio = lambda a, b: "-" if not a or not b else f"**{b / a:.2f}**"
lines = ["| scenario | deliveries/s before / after | ratio | CPU µs/delivery before / after | ratio | RSS MB at the end, before / after | lost |",
         "|---|---|---|---|---|---|---|"]
for n in order:
    rb, ra = med(n, "before", rate), med(n, "after", rate)
    cb, ca = med(n, "before", cpu), med(n, "after", cpu)
    mb, ma = med(n, "before", rss), med(n, "after", rss)
    lost = sum(r.get("lost", 0) for b in ("before", "after") for r in by.get((n, b), []))
    lines.append(f"| {n} | {f(rb, ',.0f')} / {f(ra, ',.0f')} | {ratio(rb, ra)} | {f(cb, '.2f')} / {f(ca, '.2f')} | "
                 f"{ratio(cb, ca)} | {f(mb and mb / 1e6, '.0f')} / {f(ma and ma / 1e6, '.0f')} | {lost} |")
lines.append("")
lines.append(f"Medians of {runs} alternating rounds of {duration} s, {elapsed} s in all; load average "
             f"{load_before} before, {load_after} after. Peak RSS over the whole run (VmHWM): "
             f"before {hwm_before}, after {hwm_after}.")
text = "\n".join(lines) + "\n"
open(out_md, "w").write(text)
print(text)
PY
