#!/usr/bin/env bash
# roost-bench's own CPU per delivered message (user + system of the whole process, /usr/bin/time)
# on fixed message counts, with --threads 1 and 2, over TCP, TLS and WebSocket: whether the load
# generator, rather than the broker, could be the limit of a benchmark on this machine.
#
#   tests/bench/generator_cost.sh                       2 rounds (~1 minute)
#   tests/bench/generator_cost.sh --old OTHER/roost-bench   also a second roost-bench (e.g. main's)
#   options: --rounds R  --roost BIN  --bench BIN  --old BIN  --no-build
#            (default: cmake --build build --target roost ws roost-bench first)
#
# One Roost (its defaults, 2 workers on 2 cores) with a TCP, a TLS (examples/certs/make-certs.sh
# into a temporary folder) and a ws listener, started here and stopped by PID. Each line: the
# load, the binary and --threads, delivered messages, lost, and µs of roost-bench CPU per
# message. Runs are 0.2-0.5 s of CPU, counted in 10 ms ticks: about ±5 %.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=2 build=1 old=""
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --roost) roost_bin=$(realpath "$2"); shift ;;
    --bench) bench_bin=$(realpath "$2"); shift ;;
    --old) old=$(realpath "$2"); shift ;;
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "generator_cost.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $build == 1 ]]; then
  [[ -f $root/build/build.ninja || -f $root/build/Makefile ]] ||
    cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j2 --target roost ws roost-bench >/dev/null
fi
for f in "$roost_bin" "$bench_bin" /usr/bin/time ${old:+"$old"}; do
  [[ -x $f ]] || { echo "generator_cost.sh: $f not found" >&2; exit 1; }
done

work=$(mktemp -d /tmp/roost-generator-cost.XXXXXX)
roost_pid=""
cleanup() {
  [[ -n $roost_pid ]] && { kill "$roost_pid" 2>/dev/null || true; wait "$roost_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
"$root/examples/certs/make-certs.sh" "$work" >/dev/null 2>&1
read -r tcp tls ws < <(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
cat >"$work/roost.toml" <<TOML
[limits]
max_queued_messages = 1000000
[log]
level = "warning"
[[listener]]
bind = "127.0.0.1"
port = $tcp
[[listener]]
bind = "127.0.0.1"
port = $tls
tls_cert_file = "$work/server.crt"
tls_key_file = "$work/server.key"
[[listener]]
bind = "127.0.0.1"
port = $ws
transport = "ws"
[[plugin]]
name = "ws"
TOML
"$roost_bin" -c "$work/roost.toml" 2>"$work/roost.log" &
roost_pid=$!
for p in $tcp $tls $ws; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.05; done
done

one() {  # one LABEL BIN ARGS...
  local label=$1 bin=$2
  shift 2
  /usr/bin/time -f "%U %S" -o "$work/time.txt" "$bin" "$@" --warmup 0 --duration 60 --quiet \
    --json "$work/run.json" >/dev/null 2>&1 || true
  python3 - "$label" "$work/time.txt" "$work/run.json" <<'PY'
import json, sys
label, tfile, jfile = sys.argv[1:]
u, s = map(float, open(tfile).read().split()[-2:])
j = json.load(open(jfile))
per = (u + s) * 1e6 / j["delivered"] if j.get("delivered") else float("nan")
print(f"{label:<44} delivered {j.get('delivered', 0):>9} lost {j.get('lost')}  {per:.2f} us/msg "
      f"(user {u:.2f} s, sys {s:.2f} s)")
PY
}

loads=("tcp pairs100 q0|--port $tcp --pairs 100 --qos 0 --messages 10000"
       "tcp pairs100 q1|--port $tcp --pairs 100 --qos 1 --messages 5000"
       "tls pairs50 q1 64B|--port $tls --tls --cafile $work/ca.crt --pairs 50 --qos 1 --payload 64 --messages 5000"
       "ws pairs20 q0|--port $ws --ws --pairs 20 --qos 0 --messages 40000"
       "ws fanout50 q1|--port $ws --ws --scenario fan-out --subscribers 50 --qos 1 --messages 8000")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  for entry in "${loads[@]}"; do
    name=${entry%%|*}
    # shellcheck disable=SC2206
    args=(${entry#*|})
    [[ -n $old ]] && one "$name, --old" "$old" "${args[@]}"
    one "$name, --threads 1" "$bench_bin" "${args[@]}" --threads 1
    one "$name, --threads 2" "$bench_bin" "${args[@]}" --threads 2
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
