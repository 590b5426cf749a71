#!/usr/bin/env bash
# TLS against plain TCP, Roost and Mosquitto side by side, in one run on loopback (issue 9,
# "must show" 5): throughput and p99 latency over TLS as a ratio of plain TCP on the same
# scenario, for each broker.
#
#   tests/bench/tls_bench.sh                 3 rounds, pairs N=50 QoS 1, 64-byte payload, 5 s (~4 minutes)
#   tests/bench/tls_bench.sh --no-build      the same with the binaries as they are
#   options: --rounds R  --duration SECONDS  --pairs N  --qos Q  --payload BYTES  --rate MSGS
#            --threads N (roost-bench --threads; default: its own, one per CPU)
#            --no-build (default: cmake --build build --target roost roost-bench first)
#            --out DIR (default tests/bench/results)
#
# Two loads per (broker, transport): closed loop (each publisher keeps --window messages
# outstanding) for throughput, and a fixed --rate (messages/s over all publishers, default
# 4000, below what every case sustains) for latency: in a closed loop p99 mostly measures the
# queue the window builds (a slower case shows a lower p99), at a fixed rate it measures the
# broker's time per message.
#            --roost BIN (default build/core/roost)  --bench BIN (default build/tools/bench/roost-bench)
#            --only loop|rate (one of the two loads)
#            --baseline BIN: A/B two Roost builds instead of Roost against Mosquitto. BIN (e.g. a
#              copy of main's build/core/roost) runs as "baseline" in Mosquitto's place, with
#              Roost's config on its own ports, alternating with --roost round by round.
#
# Certificates: examples/certs/make-certs.sh into a temporary folder (EC P-256, TLS 1.3 with
# OpenSSL's default suite on both brokers). Brokers, each started here and stopped by PID:
#   roost      one process, default workers (one per core), [[listener]] TCP and [[listener]] TLS
#   mosquitto  /usr/sbin/mosquitto, one process, `listener` TCP and `listener` TLS
#              (certfile/keyfile), persistence false, max_queued_messages 1000000
# Each round runs the four (broker, transport) cases in turn, the order reversed every other
# round; the table gives medians over the rounds. Output: a Markdown table on stdout and in
# OUT/tls.md (with the load average before and after, and the cores broker and roost-bench
# used), per-run JSON in OUT/tls-*.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=3 duration=5 warmup=1 pairs=50 qos=1 payload=64 rate=4000
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
mosquitto_bin=/usr/sbin/mosquitto
baseline_bin=""
bench_option() {  # this script's own options (lib.sh's bench_parse_args asks)
  bench_shift=2
  case "$1" in
    --pairs) pairs=$2 ;;
    --qos) qos=$2 ;;
    --payload) payload=$2 ;;
    --rate) rate=$2 ;;
    --baseline) baseline_bin=$(realpath "$2") ;;
    *) return 1 ;;
  esac
}
bench_parse_args "$@"
rounds=$runs
threads=$bench_threads
bench_build_tree roost roost-bench
bench_require "$roost_bin" "$bench_bin" "${baseline_bin:-$mosquitto_bin}"
other=mosquitto
[[ -n $baseline_bin ]] && other=baseline
bench_threads=()
[[ -n $threads ]] && bench_threads=(--threads "$threads")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$results"
rm -f "$results"/tls-*.json
bench_tmpdir work

"$root/examples/certs/make-certs.sh" "$work" >/dev/null 2>&1
# Mosquitto started as root drops to the `mosquitto` user before it reads its certificate files:
# these throw-away ones must be readable by it.
chmod 755 "$work"
chmod 644 "$work"/*

r_tcp=$(free_port) r_tls=$(free_port) m_tcp=$(free_port) m_tls=$(free_port)
cat >"$work/roost.toml" <<TOML
[broker]
sys_interval = 0
[limits]
max_queued_messages = 1000000
[log]
level = "warning"
[[listener]]
bind = "127.0.0.1"
port = $r_tcp
[[listener]]
bind = "127.0.0.1"
port = $r_tls
tls_cert_file = "$work/server.crt"
tls_key_file = "$work/server.key"
TOML
cat >"$work/mosquitto.conf" <<CONF
persistence false
max_queued_messages 1000000
allow_anonymous true
log_dest none
listener $m_tcp 127.0.0.1
listener $m_tls 127.0.0.1
certfile $work/server.crt
keyfile $work/server.key
CONF
"$roost_bin" -c "$work/roost.toml" 2>"$work/roost.log" &
roost_pid=$!
bench_pids+=("$roost_pid")
if [[ -n $baseline_bin ]]; then
  sed -e "s/^port = $r_tcp\$/port = $m_tcp/" -e "s/^port = $r_tls\$/port = $m_tls/" \
    "$work/roost.toml" >"$work/baseline.toml"
  "$baseline_bin" -c "$work/baseline.toml" 2>"$work/baseline.log" &
else
  "$mosquitto_bin" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
fi
mosq_pid=$!
bench_pids+=("$mosq_pid")
for p in "$r_tcp" "$r_tls"; do wait_port "$p" "$roost_pid" roost; done
for p in "$m_tcp" "$m_tls"; do wait_port "$p" "$mosq_pid" mosquitto; done

# run_case NAME PORT PID ROUND [--tls ...] [--rate R]
run_case() {
  local name=$1 port=$2 pid=$3 round=$4
  shift 4
  "$bench_bin" --port "$port" --scenario pairs --pairs "$pairs" --qos "$qos" --payload "$payload" \
    --duration "$duration" --warmup "$warmup" --broker-pid "$pid" --label "$name" --quiet \
    ${bench_threads[@]+"${bench_threads[@]}"} "$@" \
    --json "$results/tls-$name-$round.json" >/dev/null ||
    echo "tls_bench.sh: $name round $round: roost-bench exited $?" >&2
}
cases=(roost-tcp roost-tls "$other-tcp" "$other-tls")
for round in $(seq "$rounds"); do
  order=("${cases[@]}")
  if (( round % 2 == 0 )); then order=("$other-tls" "$other-tcp" roost-tls roost-tcp); fi
  for load in loop rate; do
    [[ -n $only && $only != "$load" ]] && continue
    extra=()
    if [[ $load == rate ]]; then extra=(--rate "$rate"); fi
    for c in "${order[@]}"; do
      echo "== round $round: $c, $load" >&2
      case $c in
        roost-tcp) run_case "$c-$load" "$r_tcp" "$roost_pid" "$round" "${extra[@]}" ;;
        roost-tls) run_case "$c-$load" "$r_tls" "$roost_pid" "$round" --tls --cafile "$work/ca.crt" "${extra[@]}" ;;
        mosquitto-tcp|baseline-tcp) run_case "$c-$load" "$m_tcp" "$mosq_pid" "$round" "${extra[@]}" ;;
        mosquitto-tls|baseline-tls) run_case "$c-$load" "$m_tls" "$mosq_pid" "$round" --tls --cafile "$work/ca.crt" "${extra[@]}" ;;
      esac
    done
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$results" "$rounds" "$pairs" "$qos" "$payload" "$duration" "$rate" "$load_before" "$load_after" \
  "tests/bench/tls_bench.sh --rounds $rounds --duration $duration --pairs $pairs --qos $qos --payload $payload --rate $rate${threads:+ --threads $threads}${only:+ --only $only}${baseline_bin:+ --baseline $baseline_bin}" "$other" \
  <<'PY' | tee "$results/tls.md"
import json, statistics, sys, glob, os
results, rounds, pairs, qos, payload, duration, rate, load_before, load_after, command, other = sys.argv[1:]
def runs(name):
    out = []
    for f in sorted(glob.glob(os.path.join(results, f"tls-{name}-[0-9]*.json"))):
        with open(f) as fh:
            out.append(json.load(fh))
    return out
def med(name, key):
    vals = []
    for r in runs(name):
        v = r["deliveries_per_s"] if key == "rate" else r["latency_us"][key]
        if v: vals.append(v)
    return (statistics.median(vals), min(vals), max(vals)) if vals else (float("nan"),) * 3
def lost(name):
    return sum(r.get("lost", 0) for r in runs(name))
def cpu(name):
    vals = [r["broker"]["cpu_us_per_delivery"] for r in runs(name) if r.get("broker", {}).get("cpu_us_per_delivery")]
    return statistics.median(vals) if vals else float("nan")
def cores(name, who):
    vals = [r[who]["cpu_utilization"] for r in runs(name) if (r.get(who) or {}).get("cpu_utilization") is not None]
    return f"{statistics.median(vals):.2f}" if vals else "-"
def paired(b, load, key):
    # TLS/TCP of the same round (the two runs were back to back), then the median over rounds.
    out = []
    for t, s in zip(runs(f"{b}-tcp-{load}"), runs(f"{b}-tls-{load}")):
        a, c = (t["deliveries_per_s"], s["deliveries_per_s"]) if key == "rate" else (t["latency_us"][key], s["latency_us"][key])
        if a and c: out.append(c / a)
    return f"{statistics.median(out):.2f}x ({', '.join(f'{x:.2f}' for x in out)})" if out else "-"
threads = sorted({str((r.get("generator") or {}).get("threads", 1)) for r in runs("*")})
print(f"`{command}`: pairs N={pairs} QoS {qos}, {payload}-byte payload, {duration} s measured, medians of {rounds} "
      f"alternating rounds (min-max). roost-bench threads: {', '.join(threads)}. Load average (1/5/15 min) "
      f"before: {load_before}; after: {load_after}.\n")
print("Closed loop (throughput):\n")
print("| broker | TCP deliveries/s | TLS deliveries/s | TLS/TCP throughput | paired by round | CPU us/delivery TCP | TLS | broker cores TCP / TLS | roost-bench cores TCP / TLS | lost (TCP/TLS) |")
print("|---|---|---|---|---|---|---|---|---|---|")
ratios = {}
for b in ("roost", other):
    t, s = med(f"{b}-tcp-loop", "rate"), med(f"{b}-tls-loop", "rate")
    ratios[b] = [s[0] / t[0]]
    print(f"| {b} | {t[0]:,.0f} ({t[1]:,.0f}-{t[2]:,.0f}) | {s[0]:,.0f} ({s[1]:,.0f}-{s[2]:,.0f}) | "
          f"{ratios[b][0]:.2f}x | {paired(b, 'loop', 'rate')} | {cpu(b+'-tcp-loop'):.2f} | {cpu(b+'-tls-loop'):.2f} | "
          f"{cores(b+'-tcp-loop', 'broker')} / {cores(b+'-tls-loop', 'broker')} | "
          f"{cores(b+'-tcp-loop', 'generator')} / {cores(b+'-tls-loop', 'generator')} | "
          f"{lost(b+'-tcp-loop')}/{lost(b+'-tls-loop')} |")
print(f"\nFixed rate {rate} msg/s (latency):\n")
print("| broker | TCP p50 ms | TLS p50 ms | TCP p99 ms | TLS p99 ms | TLS/TCP p99 | paired by round | broker CPU us/delivery TCP | TLS | TLS/TCP CPU | lost (TCP/TLS) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for b in ("roost", other):
    p5t, p5s = med(f"{b}-tcp-rate", "p50"), med(f"{b}-tls-rate", "p50")
    pt, ps = med(f"{b}-tcp-rate", "p99"), med(f"{b}-tls-rate", "p99")
    ratios[b].append(ps[0] / pt[0])
    print(f"| {b} | {p5t[0]/1000:.2f} | {p5s[0]/1000:.2f} | {pt[0]/1000:.2f} ({pt[1]/1000:.2f}-{pt[2]/1000:.2f}) | "
          f"{ps[0]/1000:.2f} ({ps[1]/1000:.2f}-{ps[2]/1000:.2f}) | {ratios[b][1]:.2f}x | {paired(b, 'rate', 'p99')} | "
          f"{cpu(b+'-tcp-rate'):.1f} | {cpu(b+'-tls-rate'):.1f} | {cpu(b+'-tls-rate')/cpu(b+'-tcp-rate'):.2f}x | "
          f"{lost(b+'-tcp-rate')}/{lost(b+'-tls-rate')} |")
r, m = ratios["roost"], ratios[other]
if other == "baseline":
    # A/B: the same transport and load, baseline build -> this build, paired by round.
    print("\nA/B, baseline -> this build (new/baseline of the same round, median over rounds):\n")
    print("| transport | load | baseline | new | new/baseline | broker CPU us/delivery baseline -> new |")
    print("|---|---|---|---|---|---|")
    for t in ("tcp", "tls"):
        for load, key, unit in (("loop", "rate", 1), ("rate", "p50", 1000), ("rate", "p99", 1000)):
            base, new = runs(f"baseline-{t}-{load}"), runs(f"roost-{t}-{load}")
            if not base or not new:
                continue
            get = (lambda r: r["deliveries_per_s"]) if key == "rate" else (lambda r: r["latency_us"][key])
            ratio = statistics.median([get(n) / get(b) for b, n in zip(base, new) if get(b)])
            label = "deliveries/s" if key == "rate" else f"{key} ms"
            print(f"| {t} | {load} {label} | {med(f'baseline-{t}-{load}', key)[0]/unit:,.2f} | "
                  f"{med(f'roost-{t}-{load}', key)[0]/unit:,.2f} | {ratio:.2f}x | "
                  f"{cpu(f'baseline-{t}-{load}'):.2f} -> {cpu(f'roost-{t}-{load}'):.2f} |")
    sys.exit(0)
print(f"\nTarget (Roost's TLS/TCP ratio no worse than Mosquitto's): throughput {r[0]:.2f}x vs {m[0]:.2f}x "
      f"({'met' if r[0] >= m[0] else 'NOT met'}); p99 at {rate} msg/s {r[1]:.2f}x vs {m[1]:.2f}x "
      f"({'met' if r[1] <= m[1] else 'NOT met'})")
PY
