#!/usr/bin/env bash
# CI smoke run of roost-bench against a freshly built Roost: a few seconds, no comparison.
#
#   tests/bench/smoke.sh BUILD_DIR        e.g. tests/bench/smoke.sh build-ci
#
# Starts BUILD_DIR/core/roost on a free 127.0.0.1 port, runs BUILD_DIR/tools/bench/roost-bench
# on pairs QoS 1 (MQTT 3.1.1), pairs QoS 2 (MQTT 5) and fan-out to 1,500 subscribers at QoS 1,
# about 2 s each, and checks that each JSON result says ok, with nothing lost, duplicated or out of
# order. Stops Roost by its PID. Exit status 0 when every run passes.
# With Roost's default workers (one per core: 2 in CI) the fan-out hands each message's ~750
# remote deliveries to the other worker in per-turn batches, so it checks that order holds
# across workers and batches.
set -euo pipefail
build=${1:?usage: smoke.sh BUILD_DIR}
roost="$build/core/roost"
bench="$build/tools/bench/roost-bench"
for f in "$roost" "$bench"; do
  [[ -x $f ]] || { echo "smoke.sh: $f not found" >&2; exit 1; }
done
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$roost" --listen "127.0.0.1:$port" >"$work/roost.log" 2>&1 &
roost_pid=$!
cleanup() {
  kill "$roost_pid" 2>/dev/null || true
  wait "$roost_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$roost_pid" 2>/dev/null || { echo "smoke.sh: roost exited:" >&2; cat "$work/roost.log" >&2; exit 1; }
  sleep 0.05
done

status=0
run() {  # run NAME ARGS...: one bounded roost-bench run, checked
  local name=$1
  shift
  local rc=0
  "$bench" --port "$port" --broker-pid "$roost_pid" --duration 1.5 --warmup 0.5 --quiet \
    --max-loss 0 --json "$work/$name.json" "$@" >/dev/null || rc=$?
  if python3 - "$work/$name.json" "$name" "$rc" <<'PY'; then :; else status=1; fi
import json, sys
path, name, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    r = json.load(open(path))
except Exception as e:
    print(f"smoke.sh: {name}: no JSON result (exit {rc}): {e}")
    sys.exit(1)
good = (rc == 0 and r["ok"] and r["lost"] == 0 and r["duplicates"] == 0 and r["out_of_order"] == 0
        and r["delivered"] > 0)
print(f"smoke.sh: {name}: {'PASS' if good else 'FAIL'} (exit {rc}): {r['delivered']} delivered, "
      f"{r['deliveries_per_s']:.0f}/s, lost {r['lost']}, duplicates {r['duplicates']}, "
      f"out of order {r['out_of_order']}, "
      f"p99 {r['latency_us']['p99']:.0f} us, errors {r['error_messages']}")
sys.exit(0 if good else 1)
PY
}
run pairs-q1-mqtt311 --scenario pairs --pairs 10 --qos 1 --mqtt 3.1.1
run pairs-q2-mqtt5 --scenario pairs --pairs 10 --qos 2 --mqtt 5
run fan-out-q1-s1500 --scenario fan-out --subscribers 1500 --qos 1 --mqtt 5
kill -0 "$roost_pid" 2>/dev/null || { echo "smoke.sh: roost died during the runs" >&2; status=1; }
exit $status
