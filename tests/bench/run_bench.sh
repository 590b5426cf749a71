#!/usr/bin/env bash
# Roost vs Mosquitto throughput/latency benchmark on loopback. See tests/bench/README.md.
#
#   tests/bench/run_bench.sh            full run (~4-5 minutes): 5 runs per scenario and broker
#   tests/bench/run_bench.sh --quick    smoke run (< 1 minute): 3 short runs each
#   options: --runs R  --duration SECONDS (measured, after a 0.5 s warm-up)  --no-build
#            --only REGEX (scenario names)  --roost BIN (use this Roost binary instead of building
#            build-bench-roost/)  --bench BIN (this roost-bench instead of build-bench/'s)
#
# Builds Roost (Release, build-bench-roost/) and roost-bench (build-bench/), starts Roost
# and Mosquitto side by side on free 127.0.0.1 ports, runs every scenario against each broker
# alternately R times, prints a table of medians and writes tests/bench/results/latest.md (raw
# per-run JSON lines next to it in latest.jsonl, broker logs in results/logs/). Shared code: lib.sh.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_parse_args "$@"
mosquitto_bin=/usr/sbin/mosquitto

bench_build
bench_require "$roost_bin" "$bench_bin" "$mosquitto_bin"
mkdir -p "$logs"

{ read -r roost_port; read -r mosq_port; } < <(free_ports 2)

start_roost roost_pid "$logs/roost.log" --listen "127.0.0.1:$roost_port"

cat >"$logs/mosquitto.conf" <<EOF
listener $mosq_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000
log_dest file $logs/mosquitto.log
# When started as root Mosquitto switches to the "mosquitto" user; "root" keeps it as it is, so
# it can write its log here.
user root
EOF
: >"$logs/mosquitto.log"
"$mosquitto_bin" -c "$logs/mosquitto.conf" >>"$logs/mosquitto.log" 2>&1 &
mosq_pid=$!
bench_pids+=("$mosq_pid")

wait_port "$roost_port" "$roost_pid" Roost
wait_port "$mosq_port" "$mosq_pid" Mosquitto
echo "== Roost $("$roost_bin" --version 2>/dev/null | head -1) pid $roost_pid on 127.0.0.1:$roost_port;" \
     "$("$mosquitto_bin" -h 2>/dev/null | head -1) pid $mosq_pid on 127.0.0.1:$mosq_port" >&2

# name | roost-bench arguments. 8 connections per side; the end-to-end window (64 per publisher)
# keeps at most 512 messages outstanding per subscriber, under both brokers' 1000-message queue.
scenarios=()
for payload in 16 1024; do
  scenarios+=("pairwise-q0-${payload}B|--scenario pairs --pairs 8 --qos 0 --payload $payload")
  scenarios+=("fanin-q0-${payload}B|--scenario fan-in --publishers 8 --qos 0 --payload $payload")
  scenarios+=("fanout-q0-${payload}B|--scenario fan-out --subscribers 8 --qos 0 --payload $payload")
  scenarios+=("pairwise-q1-${payload}B|--scenario pairs --pairs 8 --qos 1 --payload $payload")
done

raw="$results/latest.jsonl"
: >"$raw"

run_alternating roost "$roost_port" "$roost_pid" mosquitto "$mosq_port" "$mosq_pid"

roost_dead=0; mosq_dead=0
alive "$roost_pid" || roost_dead=1
alive "$mosq_pid" || mosq_dead=1
mosq_drops=$(grep -c "Outgoing messages are being dropped" "$logs/mosquitto.log" || true)

python3 - "$raw" "$results/latest.md" "$runs" "$duration" "$elapsed" "$roost_dead" "$mosq_dead" "$mosq_drops" <<'EOF'
import json, statistics, sys, datetime, platform, os
raw, out_md, runs, duration, elapsed, roost_dead, mosq_dead, mosq_drops = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
by = {}
order = []
for r in rows:
    broker, name, _ = r["label"].split("|")
    if name not in order:
        order.append(name)
    by.setdefault((name, broker), []).append(r)

def med(vals):
    return statistics.median(vals) if vals else None

def summary(name, broker):
    rs = by.get((name, broker), [])
    good = [r for r in rs if "deliveries_per_s" in r]
    return {
        "n": len(good),
        "failed": sum(1 for r in rs if not r.get("ok", False)),
        "rate": med([r["deliveries_per_s"] for r in good]),
        "p50": med([r["latency_us"]["p50"] for r in good]),
        "p99": med([r["latency_us"]["p99"] for r in good]),
        "lost": sum(r["lost"] for r in good),
        "expected": sum(r["expected"] for r in good),
        "stalls": sum(r["stalls"] for r in good),
        "dup": sum(r["duplicates"] for r in good),
        "errors": [e for r in rs for e in r.get("error_messages", [])]
                  + (["broker process died"] if any(r.get("broker_dead") for r in rs) else []),
    }

def fmt_rate(v):
    return "-" if v is None else f"{v/1000:,.1f}k"

def fmt_us(v):
    return "-" if v is None else (f"{v:,.0f}" if v < 10000 else f"{v/1000:,.1f}ms")

def fmt_loss(s):
    if s["n"] == 0:
        return "-"
    txt = f"{s['lost']}"
    if s["lost"]:
        txt += f" ({100.0*s['lost']/max(1,s['expected']):.2g}%)"
    if s["failed"]:
        txt += f" **{s['failed']} failed**"
    return txt

header = ("| scenario | Roost msgs/s | Mosquitto msgs/s | Roost/Mosq | Roost p50/p99 µs "
          "| Mosq p50/p99 µs | Roost lost | Mosq lost |")
lines = [header, "|" + "---|" * 8]
notes = []
for name in order:
    a, b = summary(name, "roost"), summary(name, "mosquitto")
    ratio = "-" if not a["rate"] or not b["rate"] else f"{a['rate']/b['rate']:.2f}x"
    lines.append(f"| {name} | {fmt_rate(a['rate'])} | {fmt_rate(b['rate'])} | {ratio} "
                 f"| {fmt_us(a['p50'])} / {fmt_us(a['p99'])} | {fmt_us(b['p50'])} / {fmt_us(b['p99'])} "
                 f"| {fmt_loss(a)} | {fmt_loss(b)} |")
    for broker, s in (("Roost", a), ("Mosquitto", b)):
        if s["failed"] or s["errors"]:
            errs = sorted(set(s["errors"]))[:5]
            notes.append(f"- {broker} {name}: {s['failed']} of {runs} runs failed: " + ("; ".join(errs) or "no output"))
        if s["lost"] and name.find("-q1-") >= 0:
            notes.append(f"- {broker} {name}: {s['lost']} QoS 1 messages lost over {s['n']} runs "
                         f"({s['stalls']} window stalls)")
        if s["dup"]:
            notes.append(f"- {broker} {name}: {s['dup']} duplicate deliveries")
if roost_dead == "1":
    notes.append("- Roost was no longer running at the end of the benchmark (see results/logs/roost.log)")
if mosq_dead == "1":
    notes.append("- Mosquitto was no longer running at the end of the benchmark")
if int(mosq_drops or 0):
    notes.append(f"- mosquitto.log: 'Outgoing messages are being dropped' {mosq_drops} times")

table = "\n".join(lines)
print()
print(table)
if notes:
    print("\nNotes:\n" + "\n".join(notes))
print(f"\n({runs} runs x {duration}s per cell; medians; {elapsed}s total)")

with open(out_md, "w") as f:
    f.write(f"# Roost vs Mosquitto: {datetime.datetime.now().isoformat(timespec='seconds')}\n\n")
    f.write(f"Host: {platform.node()}, {os.cpu_count()} CPUs, loopback. {runs} runs x {duration}s per "
            f"scenario and broker, alternating; medians. msgs/s = messages delivered to subscribers "
            f"per second. Latency = publish to receipt, under saturation (window-bound).\n\n")
    f.write(table + "\n")
    if notes:
        f.write("\nNotes:\n\n" + "\n".join(notes) + "\n")
    f.write(f"\nRaw per-run results: latest.jsonl. Total time {elapsed}s.\n")
print(f"wrote {out_md}")
EOF
