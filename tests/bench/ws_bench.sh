#!/usr/bin/env bash
# MQTT over WebSocket against plain TCP, Roost and Mosquitto side by side, in one run on
# loopback: for each broker and scenario, throughput and p99 latency over ws as a ratio of the
# same scenario over TCP. Roost: the ws plugin (`transport = "ws"`); Mosquitto 2.0.11: its own
# `protocol websockets` listener. roost-bench drives both (--ws: HTTP upgrade, masked frames).
#
#   tests/bench/ws_bench.sh                  3 rounds, 3 s measured + 1 s warm-up per run (~5 minutes)
#   tests/bench/ws_bench.sh --rounds 1 --duration 1    a quick look
#   options: --rounds R  --duration SECONDS  --roost BIN  --bench BIN (roost-bench)
#            --threads N (roost-bench --threads; default: its own, one per CPU)
#            --no-build (default: cmake --build build --target roost ws roost-bench first)
#            --out DIR (default tests/bench/results)
#            --payload BYTES (default 64: every scenario's payload size)
#            --only NAME[,NAME] (scenarios by name, e.g. --only pairs-q1,rate-q1)
#            --baseline BIN: A/B two Roost builds instead of Roost against Mosquitto. BIN (e.g. a
#              copy of main's build/core/roost, with its ws.so in BIN/../../plugins/) runs as
#              "baseline" in Mosquitto's place, alternating with --roost round by round; the
#              report adds a table of each transport's figures, baseline → this build.
#
# Brokers, each on free 127.0.0.1 ports, started by this script and stopped by PID:
#   roost      Roost with its defaults (workers = one per core), [limits] max_queued_messages =
#              1000000, a TCP listener and a ws listener (ws plugin, path /mqtt)
#   mosquitto  /usr/sbin/mosquitto: persistence false, max_queued_messages 1000000, a TCP
#              listener and a `protocol websockets` listener, allow_anonymous true
# Scenarios (MQTT 3.1.1): closed loop pairs N=20 QoS 0, pairs N=20 QoS 1, fan-out S=50 QoS 1;
# pairs N=20 QoS 1 at a fixed 5,000 msg/s (latency).
# Rounds alternate which broker goes first, and within a broker whether TCP or ws goes first.
# Output: a Markdown table of medians on stdout and in OUT/ws.md (ws_report.py), with the
# command, the load average before and after, and the cores broker and roost-bench used; each
# run's JSON in OUT/ws-runs.jsonl, broker logs in OUT/logs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
payload=64
baseline_bin=""
bench_option() {  # this script's own options (lib.sh's bench_parse_args asks)
  bench_shift=2
  case "$1" in
    --payload) payload=$2 ;;
    --baseline) baseline_bin=$(realpath "$2") ;;
    *) return 1 ;;
  esac
}
runs=3
duration=3
warmup=1
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
bench_parse_args "$@"
rounds=$runs
threads=$bench_threads
bench_build_tree roost ws roost-bench
bench_require "$roost_bin" "$bench_bin" "${baseline_bin:-/usr/sbin/mosquitto}"

mkdir -p "$logs"
bench_threads=()
[[ -n $threads ]] && bench_threads=(--threads "$threads")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
runs_file="$results/ws-runs.jsonl"
: >"$runs_file"
bench_tmpdir work

# Roost: TCP + ws listeners; the ws plugin is found by name next to the binary's build tree.
roost_tcp=$(free_port); roost_ws=$(free_port)
cat >"$work/roost.toml" <<TOML
[limits]
max_queued_messages = 1000000
[[listener]]
bind = "127.0.0.1"
port = $roost_tcp
[[listener]]
bind = "127.0.0.1"
port = $roost_ws
transport = "ws"
[[plugin]]
name = "ws"
TOML
"$roost_bin" -c "$work/roost.toml" 2>"$logs/ws-roost.log" &
roost_pid=$!; bench_pids+=("$roost_pid")

mosq_tcp=$(free_port); mosq_ws=$(free_port)
if [[ -n $baseline_bin ]]; then
  # The other Roost, same config on its own ports ("mosquitto" below is its slot).
  sed -e "s/^port = $roost_tcp\$/port = $mosq_tcp/" -e "s/^port = $roost_ws\$/port = $mosq_ws/" \
    "$work/roost.toml" >"$work/baseline.toml"
  "$baseline_bin" -c "$work/baseline.toml" 2>"$logs/ws-baseline.log" &
else
  cat >"$work/mosquitto.conf" <<CONF
persistence false
max_queued_messages 1000000
allow_anonymous true
listener $mosq_tcp 127.0.0.1
listener $mosq_ws 127.0.0.1
protocol websockets
CONF
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" 2>"$logs/ws-mosquitto.log" &
fi
mosq_pid=$!; bench_pids+=("$mosq_pid")
for p in "$roost_tcp" "$roost_ws"; do wait_port "$p" "$roost_pid" roost; done
for p in "$mosq_tcp" "$mosq_ws"; do wait_port "$p" "$mosq_pid" mosquitto; done

# The closed-loop scenarios measure throughput (each broker as fast as it goes); the fixed-rate
# one (5,000 msg/s, which both brokers keep up with) isolates what WebSocket adds to latency.
scenarios=("pairs-q0|--scenario pairs --pairs 20 --qos 0"
           "pairs-q1|--scenario pairs --pairs 20 --qos 1"
           "fanout-q1|--scenario fan-out --subscribers 50 --qos 1"
           "rate-q1|--scenario pairs --pairs 20 --qos 1 --rate 5000")

run() {  # run BROKER TRANSPORT SCENARIO-NAME ARGS...
  local broker=$1 transport=$2 name=$3; shift 3
  local port pid extra=()
  if [[ $broker == roost ]]; then pid=$roost_pid; [[ $transport == ws ]] && port=$roost_ws || port=$roost_tcp
  else pid=$mosq_pid; [[ $transport == ws ]] && port=$mosq_ws || port=$mosq_tcp; fi
  [[ $transport == ws ]] && extra=(--ws)
  # shellcheck disable=SC2068
  "$bench_bin" --port "$port" ${extra[@]+"${extra[@]}"} ${bench_threads[@]+"${bench_threads[@]}"} $@ \
    --payload "$payload" --duration "$duration" --warmup "$warmup" \
    --broker-pid "$pid" --quiet --label "$broker|$transport|$name" >>"$runs_file" ||
    echo "ws_bench.sh: $broker $transport $name failed (see $runs_file)" >&2
}

other=mosquitto
[[ -n $baseline_bin ]] && other=baseline
for ((r = 0; r < rounds; r++)); do
  for entry in "${scenarios[@]}"; do
    name=${entry%%|*}; args=${entry#*|}
    [[ -n $only && ",$only," != *",$name,"* ]] && continue
    if ((r % 2 == 0)); then brokers=(roost "$other"); transports=(tcp ws)
    else brokers=("$other" roost); transports=(ws tcp); fi
    for b in "${brokers[@]}"; do
      for t in "${transports[@]}"; do
        echo "== round $((r + 1))/$rounds $name $b $t" >&2
        # shellcheck disable=SC2086
        run "$b" "$t" "$name" $args
      done
    done
  done
done

header="\`tests/bench/ws_bench.sh --rounds $rounds --duration $duration --payload $payload${threads:+ --threads $threads}${only:+ --only $only}${baseline_bin:+ --baseline $baseline_bin}\`;"
header+=" roost-bench threads: ${threads:-default (one per CPU: $(nproc))}; load average (1/5/15 min)"
header+=" before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
python3 "$here/ws_report.py" "$runs_file" "$rounds" "$duration" "$header" >"$results/ws.md"
cat "$results/ws.md"
