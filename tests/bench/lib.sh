# shellcheck shell=bash
# Shared by the benchmark scripts in tests/bench/; sourced, not run. See tests/bench/README.md.
#
# Sets: here root results logs roost_bin bench_bin plugin_so, and the options (runs duration warmup
# drain_idle build only bench_threads). Functions: bench_parse_args, bench_build, bench_build_tree,
# bench_tmpdir, free_port, wait_port, start_roost, alive, run_one, run_alternating. Every broker
# started with start_roost (or added to bench_pids) is stopped, by PID, when the script exits, and
# bench_tmpdir's folder is removed. The generator is roost-bench
# (tools/bench/), run with --broker-pid so each JSON result carries the broker's CPU and RSS.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
results="$here/results"
logs="$results/logs"
me=$(basename "$0")

# Defaults; a script may change them (and the quick_* values --quick applies) before
# bench_parse_args. --duration is the measured time; the warm-up comes before it.
runs=5
duration=2
warmup=0.5
drain_idle=0.5
quick_runs=3
quick_duration=0.5
quick_warmup=0.2
build=1
only=""
bench_threads=""  # --threads: passed to roost-bench as --threads N (empty: its default, one per CPU)
roost_bin="$root/build-bench-roost/core/roost"
roost_given=0
bench_bin="$root/build-bench/roost-bench/roost-bench"
bench_given=0
plugin_so="$root/build-bench/allow_all.so"

# The comment block at the top of the calling script, without the '#'.
bench_usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

bench_parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      # Options after --quick override what it sets.
      --quick) runs=$quick_runs; duration=$quick_duration; warmup=$quick_warmup; drain_idle=0.3 ;;
      --runs|--rounds) runs=$2; shift ;;
      --duration) duration=$2; shift ;;
      --no-build) build=0 ;;
      --only) only=$2; shift ;;
      --threads) bench_threads=$2; shift ;;
      --roost) roost_bin=$(realpath "$2"); roost_given=1; shift ;;
      --bench) bench_bin=$(realpath "$2"); bench_given=1; shift ;;
      --out) results=$(realpath -m "$2"); logs="$results/logs"; shift ;;
      -h|--help) bench_usage; exit 0 ;;
      *)
        # A script's own options: it defines bench_option OPTION VALUE, which sets its variable,
        # puts how many arguments it took (1 or 2) in bench_shift, and fails for an unknown one.
        if declare -F bench_option >/dev/null && bench_option "$1" "${2-}"; then
          shift "$bench_shift"
          continue
        fi
        echo "$me: unknown option $1 (see $me --help)" >&2; exit 2 ;;
    esac
    shift
  done
}

# bench_build_tree TARGET...: with build on (no --no-build), builds TARGETs in build/ (configured
# as Release first if it is not yet), the tree whose binaries the default --roost/--bench name.
bench_build_tree() {
  [[ $build == 1 ]] || return 0
  [[ -f $root/build/build.ninja || -f $root/build/Makefile ]] ||
    cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  echo "== building $* (build/)" >&2
  cmake --build "$root/build" -j2 --target "$@" >/dev/null
}

# bench_tmpdir VAR: a new temporary folder into VAR, removed when the script exits.
bench_tmpdirs=()
bench_tmpdir() {
  local dir
  dir=$(mktemp -d "/tmp/roost-$me.XXXXXX")
  bench_tmpdirs+=("$dir")
  printf -v "$1" %s "$dir"
}

# Builds Roost (Release, build-bench-roost/; not with --roost BIN) and the generator project
# (build-bench/: roost-bench from tools/bench/, and allow_all.so).
bench_build() {
  [[ $build == 1 ]] || return 0
  if [[ $roost_given == 0 ]]; then
    echo "== building Roost (Release)" >&2
    cmake -S "$root" -B "$root/build-bench-roost" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DROOST_TESTS=OFF -DROOST_WERROR=ON >/dev/null
    cmake --build "$root/build-bench-roost" -j2 --target roost >/dev/null
  fi
  echo "== building roost-bench and allow_all.so" >&2
  cmake -S "$here" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-bench" -j2 >/dev/null
}

bench_require() {  # bench_require FILE...
  for f in "$@"; do
    [[ -x $f || -f $f ]] || { echo "$me: $f not found (build it first, or run without --no-build)" >&2; exit 1; }
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# free_ports N: N distinct free ports, one a line.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_port() {  # wait_port PORT PID NAME
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || { echo "$me: $3 exited at start-up (see $logs)" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$me: $3 is not listening on 127.0.0.1:$1" >&2
  return 1
}

bench_pids=()
bench_cleanup() {
  # Only the brokers this script started, by PID.
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  local d
  for d in "${bench_tmpdirs[@]}"; do rm -rf "$d"; done
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# start_roost VAR LOG ARGS...: starts Roost with ARGS, output to LOG, its PID into VAR.
start_roost() {
  local var=$1 log=$2
  shift 2
  "$roost_bin" "$@" >"$log" 2>&1 &
  local pid=$!
  bench_pids+=("$pid")
  printf -v "$var" %s "$pid"
}

alive() { kill -0 "$1" 2>/dev/null; }

# run_one BROKER PORT PID NAME ROUND ARGS...: one roost-bench run; appends its JSON line (the
# label is BROKER|NAME|ROUND; broker CPU and RSS over the measurement under "broker") to $raw and
# prints a one-line summary.
run_one() {
  local broker=$1 port=$2 pid=$3 name=$4 round=$5
  shift 5
  if ! alive "$pid"; then
    echo "{\"label\":\"$broker|$name|$round\",\"ok\":false,\"broker_dead\":true}" >>"$raw"
    return
  fi
  local out rc=0
  # shellcheck disable=SC2068
  local threads=()
  [[ -n $bench_threads ]] && threads=(--threads "$bench_threads")
  out=$("$bench_bin" --host 127.0.0.1 --port "$port" --duration "$duration" --warmup "$warmup" \
        --drain-idle "$drain_idle" --quiet --broker-pid "$pid" --label "$broker|$name|$round" \
        ${threads[@]+"${threads[@]}"} $@ \
        2>>"$logs/roost-bench.stderr") || rc=$?
  if [[ -z $out ]]; then
    out="{\"label\":\"$broker|$name|$round\",\"ok\":false,\"exit\":$rc}"
  fi
  echo "$out" >>"$raw"
  if ! alive "$pid"; then
    echo "$me: $broker died during $name run $round" >&2
    echo "{\"label\":\"$broker|$name|$round\",\"ok\":false,\"broker_dead\":true}" >>"$raw"
  fi
  python3 - "$out" <<'EOF' >&2
import json, sys
r = json.loads(sys.argv[1])
b = r.get("broker") or {}
fail = '' if r.get('ok') else '  FAILED: ' + '; '.join(r.get('error_messages', []))
if r.get("scenario") == "conn":
    print(f"  {r['label']:<40} {r['connections']} connections in {r['connect_s']:.2f} s"
          f"  RSS {b.get('rss_bytes_per_connection', 0):,.0f} B/conn"
          f"  CPU {b.get('connect_cpu_us_per_connection', 0):.1f} us/conn{fail}")
elif "deliveries_per_s" in r:
    g = r.get("generator") or {}
    print(f"  {r['label']:<40} {r['deliveries_per_s']:>11.0f} msgs/s  p99 {r['latency_us']['p99']:>8.0f} us"
          f"  cpu {b.get('cpu_us_per_delivery', 0):5.2f} us/msg  lost {r['lost']}"
          f"  broker {b.get('cpu_utilization', 0):.2f} / roost-bench {g.get('cpu_utilization', 0):.2f} cores{fail}")
else:
    print(f"  {r['label']:<34} FAILED (exit {r.get('exit')})")
EOF
}

# run_alternating A_LABEL A_PORT A_PID B_LABEL B_PORT B_PID: every entry of the caller's
# `scenarios` array ("name|roost-bench args"), filtered by $only, $runs times against both brokers,
# alternating which goes first so neither always runs right after the other's load. Sets
# `elapsed` (seconds).
run_alternating() {
  local a=$1 a_port=$2 a_pid=$3 b=$4 b_port=$5 b_pid=$6 s name args r start
  start=$(date +%s)
  echo "== $runs runs x ${duration}s per scenario and broker (warm-up ${warmup}s)" >&2
  for s in "${scenarios[@]}"; do
    name=${s%%|*}
    args=${s#*|}
    [[ -n $only && ! $name =~ $only ]] && continue
    for ((r = 1; r <= runs; r++)); do
      if ((r % 2)); then
        run_one "$a" "$a_port" "$a_pid" "$name" "$r" $args
        run_one "$b" "$b_port" "$b_pid" "$name" "$r" $args
      else
        run_one "$b" "$b_port" "$b_pid" "$name" "$r" $args
        run_one "$a" "$a_port" "$a_pid" "$name" "$r" $args
      fi
    done
  done
  elapsed=$(( $(date +%s) - start ))
}
