#!/usr/bin/env bash
# What durability costs: QoS 1 throughput to persistent sessions (MQTT 3.1.1, clean session 0,
# 8 publisher/subscriber pairs, 16-byte payloads) with the sqlite plugin in each `sync` mode, as
# a ratio of the same Roost without the plugin (in memory), side by side with Mosquitto with
# `persistence true`, in one run. Also the plugin's commits per second and messages per commit
# (from its `stats_interval = "1s"` log lines while loaded). Target for sync = "normal": >= 0.5.
#
#   tests/bench/sqlite_bench.sh            5 brokers x 3 rounds of 2 s (+0.5 s warm-up), about 1 minute
#   tests/bench/sqlite_bench.sh --quick    3 rounds of 0.5 s each
#   options: --runs R  --duration SECONDS  --no-build  --roost BIN (default build/core/roost)
#            --bench BIN (default build/tools/bench/roost-bench)  --plugin SO (default build/plugins/sqlite.so)
#            --qos 2 (QoS 2 instead of 1: the same scenario, every handshake in full)
#
# Each round runs every broker once, the order rotated from round to round; medians over rounds.
# Writes tests/bench/results/sqlite.md (raw JSON lines in sqlite.jsonl, logs and the databases in
# results/logs/sqlite/). Stops only the brokers it started, by PID.
set -euo pipefail

plugin_arg=""
qos=1
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plugin) plugin_arg=$(realpath "$2"); shift 2 ;;
    --qos) qos=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=3
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
build=0
bench_parse_args "${args[@]+"${args[@]}"}"
sqlite_so=${plugin_arg:-$root/build/plugins/sqlite.so}
mosquitto_bin=/usr/sbin/mosquitto
bench_require "$roost_bin" "$bench_bin" "$sqlite_so" "$mosquitto_bin"
logs="$results/logs/sqlite"
rm -rf "$logs"
mkdir -p "$logs"

brokers=(memory full normal periodic mosquitto)
# A roost that knows [broker] persist_delay_ms (deferred storing, default 5 ms) also runs
# "normal" with it 0, so that the plugin's own path (every delivery stored) stays visible.
printf '[broker]\npersist_delay_ms = 0\n' >"$logs/probe.toml"
if "$roost_bin" -c "$logs/probe.toml" --check-config >/dev/null 2>&1; then
  brokers=(memory full normal normal0 periodic mosquitto)
fi
mapfile -t ports < <(free_ports ${#brokers[@]})
declare -A port pid
for i in "${!brokers[@]}"; do port[${brokers[$i]}]=${ports[$i]}; done

start_roost p "$logs/memory.log" --listen "127.0.0.1:${port[memory]}"
pid[memory]=$p
for mode in "${brokers[@]}"; do
  [[ $mode == full || $mode == normal || $mode == normal0 || $mode == periodic ]] || continue
  sync=${mode%0}
  delay=""
  [[ $mode == normal0 ]] && delay=$'[broker]\npersist_delay_ms = 0'
  cat >"$logs/$mode.toml" <<EOF
# Written by sqlite_bench.sh.
$delay
[[listener]]
bind = "127.0.0.1"
port = ${port[$mode]}

[[plugin]]
path = "$sqlite_so"
[plugin.options]
path = "$logs/$mode.db"
sync = "$sync"
commit_interval = "100ms"
stats_interval = "1s"
EOF
  start_roost p "$logs/$mode.log" -c "$logs/$mode.toml"
  pid[$mode]=$p
done
mkdir -p "$logs/mosquitto-db"
cat >"$logs/mosquitto.conf" <<EOF
listener ${port[mosquitto]} 127.0.0.1
allow_anonymous true
persistence true
persistence_location $logs/mosquitto-db/
max_queued_messages 1000
log_dest file $logs/mosquitto.log
user root
EOF
: >"$logs/mosquitto.log"
"$mosquitto_bin" -c "$logs/mosquitto.conf" >>"$logs/mosquitto.log" 2>&1 &
pid[mosquitto]=$!
bench_pids+=("${pid[mosquitto]}")
for b in "${brokers[@]}"; do wait_port "${port[$b]}" "${pid[$b]}" "$b"; done

name="pairwise-q$qos-16B-persistent"
scenario="--scenario pairs --pairs 8 --qos $qos --payload 16 --clean-session false"
raw="$results/sqlite.jsonl"
: >"$raw"
start=$(date +%s)
echo "== $runs rounds x ${duration}s per broker (warm-up ${warmup}s): $scenario" >&2
for ((r = 1; r <= runs; r++)); do
  n=${#brokers[@]}
  for ((k = 0; k < n; k++)); do
    b=${brokers[$(((k + r - 1) % n))]}
    # shellcheck disable=SC2086
    run_one "$b" "${port[$b]}" "${pid[$b]}" "$name" "$r" $scenario
  done
done
elapsed=$(($(date +%s) - start))

for b in "${brokers[@]}"; do
  alive "${pid[$b]}" || echo "$me: $b is not running any more (see $logs/$b.log)" >&2
done
# SIGTERM the sqlite brokers: each writes its totals line on the way out.
sqlite_modes=()
for b in "${brokers[@]}"; do [[ $b == memory || $b == mosquitto ]] || sqlite_modes+=("$b"); done
for mode in "${sqlite_modes[@]}"; do kill "${pid[$mode]}" 2>/dev/null || true; done
for mode in "${sqlite_modes[@]}"; do wait "${pid[$mode]}" 2>/dev/null || true; done

python3 - "$raw" "$results/sqlite.md" "$runs" "$duration" "$elapsed" "$logs" \
  "$("$roost_bin" --version 2>/dev/null | head -1)" "$("$mosquitto_bin" -h 2>/dev/null | head -1)" "$qos" <<'EOF'
import json, os, platform, re, statistics, sys, datetime
raw, out_md, runs, duration, elapsed, logs, roost_version, mosq_version, qos = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
by = {}
for r in rows:
    broker, _, rnd = r["label"].split("|")
    by.setdefault(broker, {})[int(rnd)] = r
good = lambda r: r is not None and "deliveries_per_s" in r
med = lambda v: statistics.median(v) if v else None
def rate(b):
    return med([r["deliveries_per_s"] for r in by.get(b, {}).values() if good(r)])
def p99(b):
    return med([r["latency_us"]["p99"] for r in by.get(b, {}).values() if good(r)])
def lost(b):
    return sum(r.get("lost", 0) for r in by.get(b, {}).values() if good(r))
def cpu(b):
    return med([c for c in ((r.get("broker") or {}).get("cpu_us_per_delivery") for r in by.get(b, {}).values() if good(r)) if c])

def stats(mode):
    # "last 1 s: N commits (X/s), A operations and M messages per commit": the lines of loaded seconds.
    lines = open(os.path.join(logs, mode + ".log")).read()
    per_s, per_commit = [], []
    for m in re.finditer(r"last [\d.]+ s: \d+ commits \(([\d.]+)/s\), [\d.]+ operations and ([\d.]+) messages per commit", lines):
        if float(m.group(2)) > 0:
            per_s.append(float(m.group(1)))
            per_commit.append(float(m.group(2)))
    total = re.search(r"stopped after [\d.]+ s: (\d+) commits .*?(\d+) messages stored \(([\d.]+) per commit\), (\d+) failed", lines)
    return med(per_s), med(per_commit), total

base = rate("memory")
rows_md = ["| broker | msgs/s | **ratio to memory** | paired ratios (min-max) | CPU µs/msg | p99 µs | lost | commits/s | messages per commit |",
           "|---|---|---|---|---|---|---|---|---|"]
labels = {"memory": "Roost, no plugin (in memory)", "full": "Roost + sqlite, sync = \"full\"",
          "normal": "Roost + sqlite, sync = \"normal\"", "normal0": "Roost + sqlite, sync = \"normal\", persist_delay_ms = 0", "periodic": "Roost + sqlite, sync = \"periodic\" (100 ms)",
          "mosquitto": "Mosquitto, persistence true"}
notes = []
for b in ["memory", "full", "normal", "normal0", "periodic", "mosquitto"]:
    if b not in by:
        continue
    v = rate(b)
    ratio = "-" if not v or not base else f"**{v / base:.2f}**"
    pairs = []
    for rnd, r in by.get(b, {}).items():
        m = by.get("memory", {}).get(rnd)
        if good(r) and good(m) and m["deliveries_per_s"] > 0:
            pairs.append(r["deliveries_per_s"] / m["deliveries_per_s"])
    paired = f"{statistics.median(pairs):.2f} ({min(pairs):.2f}-{max(pairs):.2f})" if pairs else "-"
    cps = mpc = "-"
    if b in ("full", "normal", "normal0", "periodic"):
        s, c, total = stats(b)
        cps = "-" if s is None else f"{s:,.0f}"
        mpc = "-" if c is None else f"{c:.1f}"
        if total:
            notes.append(f"- {b}: at shutdown, {total.group(1)} commits, {total.group(2)} messages stored "
                         f"({total.group(3)} per commit), {total.group(4)} failed commits")
    cu = cpu(b)
    rows_md.append(f"| {labels[b]} | {'-' if v is None else f'{v/1000:,.1f}k'} | {ratio} | {paired} | "
                   f"{'-' if cu is None else f'{cu:.2f}'} | {'-' if p99(b) is None else f'{p99(b):,.0f}'} | {lost(b)} | {cps} | {mpc} |")
    failed = [r for r in by.get(b, {}).values() if not r.get("ok", False)]
    if failed:
        notes.append(f"- {b}: {len(failed)} of {runs} runs failed: " + "; ".join(sorted({e for r in failed for e in r.get('error_messages', [])}))[:300])
n = rate("normal")
if n and base:
    notes.append(f"- target: sync = \"normal\" at >= 0.5 of the in-memory rate: {n / base:.2f} "
                 f"({'met' if n / base >= 0.5 else 'NOT met'})")
table = "\n".join(rows_md)
print("\n" + table + ("\n\nNotes:\n" + "\n".join(notes) if notes else ""))
with open(out_md, "w") as f:
    f.write(f"# sqlite plugin: QoS {qos} to persistent sessions, {datetime.datetime.now().isoformat(timespec='seconds')}\n\n")
    f.write(f"{roost_version}; {mosq_version}. Host {platform.node()}, {os.cpu_count()} CPUs, loopback. "
            f"roost-bench pairs 8, QoS {qos}, 16 B, MQTT 3.1.1 clean session 0; {runs} rounds x {duration} s per broker, "
            f"order rotated each round; medians.\n\n{table}\n\nNotes:\n\n" + "\n".join(notes) + f"\n\nTotal {elapsed} s.\n")
print(f"wrote {out_md}")
EOF
