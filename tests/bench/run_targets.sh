#!/usr/bin/env bash
# Roost against its targets, in one run on loopback: Roost vs Mosquitto 2.0.11, Roost with
# workers = 1 vs workers = 2, latency at a fixed rate, and the cost of idle connections. See
# tests/bench/README.md ("Targets").
#
#   tests/bench/run_targets.sh            3 rounds, 3 s measured + 1 s warm-up per run (~8-10 minutes)
#   tests/bench/run_targets.sh --quick    1 round, 1 s + 0.3 s per run (~3 minutes)
#   tests/bench/run_targets.sh --targets workers --rounds 5 --no-build --roost build/core/roost \
#            --bench build/tools/bench/roost-bench      only workers = 2 vs workers = 1
#   options: --rounds R  --duration SECONDS (measured)  --conn N (idle connections, default 19900)
#            --targets LIST (comma-separated of vs,workers,rate,conn; default all)
#            --only REGEX (scenario names)  --threads N (roost-bench --threads; default one per CPU)
#            --no-build  --roost BIN  --bench BIN (roost-bench)
#            Options after --quick override it.
#
# Brokers, each on its own free 127.0.0.1 port, started by this script and stopped by PID:
#   roost-w1   Roost, generated roost.toml: [broker] workers = 1, [limits] max_queued_messages =
#              1000000, one [[listener]] on 127.0.0.1
#   roost-w2   the same with workers = 2 (passed through as it is, whatever Roost does with it)
#   mosquitto  /usr/sbin/mosquitto: persistence false, max_queued_messages 1000000,
#              listener PORT 127.0.0.1, allow_anonymous true
# Targets (each scenario R rounds, alternating which broker goes first):
#   vs        roost-w2 (Roost's default on 2 cores) vs mosquitto: fan-in P=10, fan-out S=100, fan-out S=1000, pairs N=100,
#             each at QoS 0 and 1, closed loop
#   workers   roost-w1 vs roost-w2: pairs N=100 QoS 0 and 1, fan-out S=1000 QoS 0
#   rate      roost-w2 vs mosquitto: pairs N=100 QoS 1 at 10,000 msg/s (latency)
#   conn      a fresh Roost (workers = 1) and a fresh Mosquitto per round, N idle MQTT 3.1.1
#             connections held for the run's duration: broker RSS and CPU per connection
# Output: one Markdown table per target (medians, min-max over the rounds) on stdout and in
# tests/bench/results/targets.md, with the load average before and after the run (the machine
# may be shared); per-run JSON in results/targets-*.jsonl; logs in results/logs/.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=3
duration=3
warmup=1
quick_runs=1
quick_duration=1
quick_warmup=0.3
conn_count=19900
targets="vs,workers,rate,conn"

# --conn and --targets are this script's own; everything else goes to bench_parse_args.
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --conn) conn_count=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
bench_parse_args ${args[@]+"${args[@]}"}
mosquitto_bin=/usr/sbin/mosquitto
wants() { [[ ,$targets, == *,$1,* ]]; }  # wants TARGET: on the --targets list

bench_build
bench_require "$roost_bin" "$bench_bin" "$mosquitto_bin"
mkdir -p "$logs"
rm -f "$results"/targets-*.jsonl

# Idle connections need one descriptor each, in the broker and in roost-bench: lift the soft
# limit to the hard one (brokers started from here inherit it).
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < conn_count + 64 )); then
  echo "$me: open-file limit $(ulimit -n) is too low for --conn $conn_count; lowering it" >&2
  conn_count=$(( $(ulimit -n) - 64 ))
fi

# roost_config FILE PORT WORKERS
roost_config() {
  cat >"$1" <<EOF2
# Written by run_targets.sh.
[broker]
workers = $3

[limits]
max_queued_messages = 1000000

[[listener]]
bind = "127.0.0.1"
port = $2
EOF2
}

# mosquitto_config FILE PORT LOG
mosquitto_config() {
  cat >"$1" <<EOF2
# Written by run_targets.sh.
listener $2 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
log_dest file $3
# Started as root, Mosquitto would switch to the "mosquitto" user; "root" keeps it as it is, so
# it can write its log here.
user root
EOF2
}

# start_mosquitto VAR CONF LOG
start_mosquitto() {
  : >"$3"
  "$mosquitto_bin" -c "$2" >>"$3" 2>&1 &
  local started=$!
  bench_pids+=("$started")
  printf -v "$1" %s "$started"
}

stop_pid() {  # stop_pid PID: one broker this script started; forgotten, so the exit trap
  kill "$1" 2>/dev/null || true  # never signals a PID the system may have handed out again
  wait "$1" 2>/dev/null || true
  local p keep=()
  for p in "${bench_pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  bench_pids=(${keep[@]+"${keep[@]}"})
}

{ read -r w1_port; read -r w2_port; read -r mq_port; } < <(free_ports 3)
roost_config "$logs/roost-w1.toml" "$w1_port" 1
roost_config "$logs/roost-w2.toml" "$w2_port" 2
mosquitto_config "$logs/mosquitto.conf" "$mq_port" "$logs/mosquitto.log"
start_roost w1_pid "$logs/roost-w1.log" -c "$logs/roost-w1.toml"
start_roost w2_pid "$logs/roost-w2.log" -c "$logs/roost-w2.toml"
start_mosquitto mq_pid "$logs/mosquitto.conf" "$logs/mosquitto.log"
wait_port "$w1_port" "$w1_pid" "Roost (workers = 1)"
wait_port "$w2_port" "$w2_pid" "Roost (workers = 2)"
wait_port "$mq_port" "$mq_pid" Mosquitto
echo "== $("$roost_bin" --version 2>/dev/null | head -1): workers=1 pid $w1_pid :$w1_port," \
     "workers=2 pid $w2_pid :$w2_port; $("$mosquitto_bin" -h 2>/dev/null | head -1) pid $mq_pid :$mq_port" >&2
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Roost vs Mosquitto, closed loop.
scenarios=()
for q in 0 1; do
  scenarios+=("fan-in-P10-q$q|--scenario fan-in --publishers 10 --qos $q")
  scenarios+=("fan-out-S100-q$q|--scenario fan-out --subscribers 100 --qos $q")
  scenarios+=("fan-out-S1000-q$q|--scenario fan-out --subscribers 1000 --qos $q")
  scenarios+=("pairs-N100-q$q|--scenario pairs --pairs 100 --qos $q")
done
raw="$results/targets-vs.jsonl"
# Roost with its default (one worker per core: 2 on the 2-core reference machine).
if wants vs; then
  echo "== target vs: Roost (workers = 2, its default here) vs Mosquitto" >&2
  run_alternating roost "$w2_port" "$w2_pid" mosquitto "$mq_port" "$mq_pid"
fi

# workers = 1 vs workers = 2.
scenarios=(
  "pairs-N100-q0|--scenario pairs --pairs 100 --qos 0"
  "pairs-N100-q1|--scenario pairs --pairs 100 --qos 1"
  "fan-out-S1000-q0|--scenario fan-out --subscribers 1000 --qos 0"
)
raw="$results/targets-workers.jsonl"
if wants workers; then
  echo "== target workers: Roost workers = 1 vs workers = 2" >&2
  run_alternating workers-1 "$w1_port" "$w1_pid" workers-2 "$w2_port" "$w2_pid"
fi

# Latency at a fixed rate (open loop).
scenarios=("pairs-N100-q1-10k|--scenario pairs --pairs 100 --qos 1 --rate 10000")
raw="$results/targets-rate.jsonl"
if wants rate; then
  echo "== target rate: pairs N=100 QoS 1 at 10,000 msg/s" >&2
  run_alternating roost "$w2_port" "$w2_pid" mosquitto "$mq_port" "$mq_pid"
fi

# Idle connections: a fresh broker per run, so its RSS before is that of an unused broker (a
# broker that served earlier runs keeps their memory in its allocator and reuses it).
raw="$results/targets-conn.jsonl"
conn_name="conn-$conn_count"
if wants conn && [[ -z $only || $conn_name =~ $only ]]; then
  echo "== target conn: $conn_count idle MQTT 3.1.1 connections, fresh brokers" >&2
  for ((r = 1; r <= runs; r++)); do
    order=(roost mosquitto)
    ((r % 2)) || order=(mosquitto roost)
    for b in "${order[@]}"; do
      port=$(free_port)
      if [[ $b == roost ]]; then
        roost_config "$logs/roost-conn.toml" "$port" 1
        start_roost cpid "$logs/roost-conn.log" -c "$logs/roost-conn.toml"
      else
        mosquitto_config "$logs/mosquitto-conn.conf" "$port" "$logs/mosquitto-conn.log"
        start_mosquitto cpid "$logs/mosquitto-conn.conf" "$logs/mosquitto-conn.log"
      fi
      wait_port "$port" "$cpid" "$b (conn)"
      # --connect-timeout: set-up is not the measurement, but it is bounded too.
      run_one "$b" "$port" "$cpid" "$conn_name" "$r" --scenario conn --connections "$conn_count" \
        --connect-timeout 60 --connect-concurrency 256
      stop_pid "$cpid"
    done
  done
fi
elapsed=$(( $(date +%s) - start ))

dead=()
alive "$w1_pid" || dead+=("roost-w1")
alive "$w2_pid" || dead+=("roost-w2")
alive "$mq_pid" || dead+=("mosquitto")
w2_log_note=$(grep -i -m1 'worker' "$logs/roost-w2.log" || true)

python3 "$here/targets_report.py" --results "$results" --out "$results/targets.md" --rounds "$runs" \
  --duration "$duration" --warmup "$warmup" --elapsed "$elapsed" --dead "${dead[*]:-}" \
  --roost-version "$("$roost_bin" --version 2>/dev/null | head -1)" \
  --mosquitto-version "$("$mosquitto_bin" -h 2>/dev/null | head -1)" --workers-note "$w2_log_note"
load_note="Load average (1, 5, 15 min) before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg). roost-bench --threads ${bench_threads:-default (one per CPU)}."
echo "$load_note" >>"$results/targets.md"
echo "$load_note"
