#!/usr/bin/env bash
# The lua plugin's cost on the publish path: Roost with no plugin, with the lua plugin running an
# on_acl script (lua/acl_bench.lua) and its decision cache on, and the same with the cache off,
# side by side in one run; each scenario for --rounds rounds (default 3), rotating which broker
# goes first; medians of the rounds, as ratios of no plugin. Targets: >= 0.9 with the cache on,
# >= 0.5 with it off. See tests/bench/RESULTS.md.
#
#   tests/bench/run_lua_bench.sh                      # after a Release build in build/
#   tests/bench/run_lua_bench.sh --rounds 5 --duration 3
#   tests/bench/run_lua_bench.sh --roost build/core/roost --bench build/tools/bench/roost-bench
#
# Uses build/core/roost, build/plugins/lua.so and build/tools/bench/roost-bench (build them with
# `cmake --build build --target roost lua roost-bench`). Output: a table on stdout and in
# tests/bench/results/lua_bench.md, per-run JSON in results/lua_bench.jsonl, broker logs in
# results/logs/. Stops only the brokers it started, by PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
duration=2
warmup=0.5
build=0
roost_bin="$root/build/core/roost"
bench_bin="$root/build/tools/bench/roost-bench"
bench_parse_args "$@"
lua_so="$(dirname "$roost_bin")/../plugins/lua.so"
script="$here/lua/acl_bench.lua"
bench_require "$roost_bin" "$bench_bin" "$lua_so" "$script"
mkdir -p "$logs"

{ read -r none_port; read -r on_port; read -r off_port; } < <(free_ports 3)

# lua_config FILE PORT CACHE_TTL: a listener and the lua plugin running the bench script.
lua_config() {
  cat >"$1" <<TOML
# Written by run_lua_bench.sh: Roost's defaults, one listener, the lua plugin with an on_acl script.
[[listener]]
bind = "127.0.0.1"
port = $2

[[plugin]]
path = "$(realpath "$lua_so")"
[plugin.options]
script = "$script"
cache_ttl = "$3"
TOML
}
lua_config "$logs/lua-cache-on.toml" "$on_port" 10s
lua_config "$logs/lua-cache-off.toml" "$off_port" 0

start_roost none_pid "$logs/roost-noplugin.log" --listen "127.0.0.1:$none_port"
start_roost on_pid "$logs/roost-lua-cache-on.log" -c "$logs/lua-cache-on.toml"
start_roost off_pid "$logs/roost-lua-cache-off.log" -c "$logs/lua-cache-off.toml"
wait_port "$none_port" "$none_pid" "Roost (no plugin)"
wait_port "$on_port" "$on_pid" "Roost (lua, cache on)"
wait_port "$off_port" "$off_pid" "Roost (lua, cache off)"
for log in "$logs/roost-lua-cache-on.log" "$logs/roost-lua-cache-off.log"; do
  grep -q "plugin 'lua' loaded" "$log" || { echo "$me: $log does not say the lua plugin loaded:" >&2; cat "$log" >&2; exit 1; }
done

scenarios=(
  "pairwise-q0-16B|--scenario pairs --pairs 8 --qos 0 --payload 16"
  "pairwise-q1-16B|--scenario pairs --pairs 8 --qos 1 --payload 16"
  "fanin-q0-16B|--scenario fan-in --publishers 8 --qos 0 --payload 16"
)
brokers=("none|$none_port|$none_pid" "cache-on|$on_port|$on_pid" "cache-off|$off_port|$off_pid")

raw="$results/lua_bench.jsonl"
: >"$raw"
start=$(date +%s)
echo "== $runs rounds x ${duration}s per scenario and broker (warm-up ${warmup}s), order rotating" >&2
for s in "${scenarios[@]}"; do
  name=${s%%|*}
  args=${s#*|}
  [[ -n $only && ! $name =~ $only ]] && continue
  for ((r = 1; r <= runs; r++)); do
    for ((i = 0; i < 3; i++)); do
      b=${brokers[$(((i + r - 1) % 3))]}
      IFS='|' read -r label port pid <<<"$b"
      # shellcheck disable=SC2086
      run_one "$label" "$port" "$pid" "$name" "$r" $args
    done
  done
done
elapsed=$(( $(date +%s) - start ))

# The scripts log their call counts in on_disconnect, as each run's clients leave: the last line
# per worker is its total.
on_calls=$(grep -o "acl calls on worker [0-9]*: [0-9]*" "$logs/roost-lua-cache-on.log" | awk -F': ' '{s[$1]=$2} END {t=0; for (k in s) t+=s[k]; print t}')
off_calls=$(grep -o "acl calls on worker [0-9]*: [0-9]*" "$logs/roost-lua-cache-off.log" | awk -F': ' '{s[$1]=$2} END {t=0; for (k in s) t+=s[k]; print t}')

python3 - "$raw" "$results/lua_bench.md" "$runs" "$duration" "$elapsed" "${on_calls:-0}" "${off_calls:-0}" \
  "$("$roost_bin" --version 2>/dev/null | head -1)" <<'PY'
import json, statistics, sys, datetime, platform, os
raw, out_md, runs, duration, elapsed, on_calls, off_calls, version = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
by, order = {}, []
for r in rows:
    broker, name, rnd = r["label"].split("|")
    if name not in order: order.append(name)
    by.setdefault((name, broker), {})[int(rnd)] = r
good = lambda r: r is not None and "deliveries_per_s" in r
def med(name, broker, key):
    vals = [key(r) for r in by.get((name, broker), {}).values() if good(r)]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None
rate = lambda r: r["deliveries_per_s"]
cpu = lambda r: (r.get("broker") or {}).get("cpu_us_per_delivery")
lines = ["| scenario | no plugin msgs/s | lua, cache on | **ratio** | lua, cache off | **ratio** | paired ratios on / off (min-max) | CPU µs/msg none / on / off | lost |",
         "|---|---|---|---|---|---|---|---|---|"]
notes = []
ok = True
for name in order:
    base, on, off = (med(name, b, rate) for b in ("none", "cache-on", "cache-off"))
    cn, con, coff = (med(name, b, cpu) for b in ("none", "cache-on", "cache-off"))
    def ratio(x):
        return None if not x or not base else x / base
    def paired(b):
        ps = []
        for rnd, ra in by.get((name, "none"), {}).items():
            rb = by.get((name, b), {}).get(rnd)
            if good(ra) and good(rb) and ra["deliveries_per_s"] > 0: ps.append(rb["deliveries_per_s"] / ra["deliveries_per_s"])
        return f"{statistics.median(ps):.2f} ({min(ps):.2f}-{max(ps):.2f})" if ps else "-"
    k = lambda v: "-" if v is None else f"{v/1000:,.1f}k"
    rt = lambda v: "-" if v is None else f"**{v:.2f}**"
    c = lambda v: "-" if v is None else f"{v:.2f}"
    lost = sum(r.get("lost", 0) for b in ("none", "cache-on", "cache-off") for r in by.get((name, b), {}).values() if good(r))
    lines.append(f"| {name} | {k(base)} | {k(on)} | {rt(ratio(on))} | {k(off)} | {rt(ratio(off))} | {paired('cache-on')} / {paired('cache-off')} | {c(cn)} / {c(con)} / {c(coff)} | {lost} |")
    if ratio(on) is not None and ratio(on) < 0.9: notes.append(f"- {name}: cache on ratio {ratio(on):.2f} is BELOW the 0.9 target")
    if ratio(off) is not None and ratio(off) < 0.5: notes.append(f"- {name}: cache off ratio {ratio(off):.2f} is BELOW the 0.5 target")
    for b in ("none", "cache-on", "cache-off"):
        for r in by.get((name, b), {}).values():
            if not r.get("ok", False):
                notes.append(f"- {b} {name} round: failed: " + "; ".join(r.get("error_messages", []) or ["broker died" if r.get("broker_dead") else "no output"]))
notes.append(f"- on_acl calls the scripts counted (logged as the bench clients disconnected): cache on {int(on_calls):,}, cache off {int(off_calls):,}")
if int(off_calls) == 0:
    ok = False
    notes.insert(0, "- **INVALID: the cache-off broker's script logged no on_acl calls**")
table = "\n".join(lines)
print("\n" + table + "\n\nNotes:\n" + "\n".join(notes) + f"\n\n({runs} rounds x {duration}s per cell; medians; {elapsed}s total)")
with open(out_md, "w") as f:
    f.write(f"# lua plugin: publish throughput with on_acl, {datetime.datetime.now().isoformat(timespec='seconds')}\n\n")
    f.write(f"{version}. Host {platform.node()}, {os.cpu_count()} CPUs, loopback. {runs} rounds x {duration}s per scenario and broker, order rotating; medians. msgs/s = deliveries per second; ratio = lua msgs/s / no-plugin msgs/s (targets: cache on >= 0.9, cache off >= 0.5).\n\n")
    f.write(table + "\n\nNotes:\n\n" + "\n".join(notes) + "\n")
print(f"wrote {out_md}")
sys.exit(0 if ok else 3)
PY
