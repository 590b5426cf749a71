#!/usr/bin/env bash
# What the plugin ABI costs: Roost's publish throughput with a plugin whose acl and message hooks
# answer ALLOW to everything (plugins/allow_all.c), as a ratio of Roost with no plugin. Target:
# at least 0.9. See tests/bench/README.md.
#
#   tests/bench/run_plugin_bench.sh            3 scenarios x 2 brokers x 5 runs of 2.5 s, about 2 minutes
#   tests/bench/run_plugin_bench.sh --quick    3 short runs each, under a minute (plus build time)
#   options: --runs R  --duration SECONDS (measured, after a 0.5 s warm-up)  --no-build
#            --only REGEX (scenario names)  --roost BIN (use this Roost binary instead of building
#            build-bench-roost/)  --bench BIN (this roost-bench instead of build-bench/'s)
#
# Starts two Roost processes side by side on free 127.0.0.1 ports: one with `--listen` and no
# plugin, one with `-c plugin.toml` loading allow_all.so. Runs every scenario against each in
# turn, R times, alternating which goes first; prints medians and the plugin/no-plugin ratios and
# writes tests/bench/results/plugin_overhead.md (per-run JSON lines in plugin_overhead.jsonl, logs
# in results/logs/). Shared code: lib.sh. Exits 3 when allow_all's shutdown log shows its acl or
# message hooks never ran (then the figure measures nothing).
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_parse_args "$@"

bench_build
bench_require "$roost_bin" "$bench_bin" "$plugin_so"
mkdir -p "$logs"

{ read -r base_port; read -r plug_port; } < <(free_ports 2)

base_log="$logs/roost-noplugin.log"
plug_log="$logs/roost-allow_all.log"
plug_cfg="$logs/plugin.toml"
cat >"$plug_cfg" <<EOF
# Written by run_plugin_bench.sh: Roost's defaults, one listener, the allow_all plugin.
[[listener]]
bind = "127.0.0.1"
port = $plug_port

[[plugin]]
path = "$plugin_so"
EOF

start_roost base_pid "$base_log" --listen "127.0.0.1:$base_port"
start_roost plug_pid "$plug_log" -c "$plug_cfg"
wait_port "$base_port" "$base_pid" "Roost (no plugin)"
wait_port "$plug_port" "$plug_pid" "Roost (allow_all)"
if ! grep -q "plugin 'allow_all' loaded" "$plug_log"; then
  echo "$me: $plug_log does not say \"plugin 'allow_all' loaded\":" >&2
  cat "$plug_log" >&2
  exit 1
fi
echo "== Roost $("$roost_bin" --version 2>/dev/null | head -1): no plugin pid $base_pid on 127.0.0.1:$base_port;" \
     "allow_all pid $plug_pid on 127.0.0.1:$plug_port" >&2
grep "plugin 'allow_all' loaded" "$plug_log" | sed 's/^/   /' >&2

# name | roost-bench arguments: the same as run_bench.sh's scenarios of these names.
scenarios=(
  "pairwise-q0-16B|--scenario pairs --pairs 8 --qos 0 --payload 16"
  "fanin-q0-16B|--scenario fan-in --publishers 8 --qos 0 --payload 16"
  "pairwise-q1-16B|--scenario pairs --pairs 8 --qos 1 --payload 16"
)

raw="$results/plugin_overhead.jsonl"
: >"$raw"

run_alternating none "$base_port" "$base_pid" allow_all "$plug_port" "$plug_pid"

base_dead=0; plug_dead=0
alive "$base_pid" || base_dead=1
alive "$plug_pid" || plug_dead=1
# Stop the plugin broker now (SIGTERM, by PID): on the way out allow_all logs how often each hook
# ran, which shows the hooks were called for every message.
kill "$plug_pid" 2>/dev/null || true
wait "$plug_pid" 2>/dev/null || true
hook_counts=$(grep -o "worker [0-9]*: acl publish.*" "$plug_log" || true)

python3 - "$raw" "$results/plugin_overhead.md" "$runs" "$duration" "$elapsed" "$base_dead" "$plug_dead" \
  "$hook_counts" "$("$roost_bin" --version 2>/dev/null | head -1) ($roost_bin)" <<'EOF'
import json, statistics, sys, datetime, platform, os
raw, out_md, runs, duration, elapsed, base_dead, plug_dead, hook_counts, version = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
by, order = {}, []
for r in rows:
    broker, name, rnd = r["label"].split("|")
    if name not in order:
        order.append(name)
    by.setdefault((name, broker), {})[int(rnd)] = r

def med(vals):
    return statistics.median(vals) if vals else None

def good(r):
    return r is not None and "deliveries_per_s" in r

def cpu_us(r):  # broker CPU per delivered message, over the measurement (roost-bench --broker-pid)
    return (r.get("broker") or {}).get("cpu_us_per_delivery") or None

def summary(name, broker):
    rs = list(by.get((name, broker), {}).values())
    ok = [r for r in rs if good(r)]
    return {
        "n": len(ok),
        "failed": sum(1 for r in rs if not r.get("ok", False)),
        "rate": med([r["deliveries_per_s"] for r in ok]),
        "cpu": med([c for c in (cpu_us(r) for r in ok) if c is not None]),
        "p50": med([r["latency_us"]["p50"] for r in ok]),
        "p99": med([r["latency_us"]["p99"] for r in ok]),
        "lost": sum(r["lost"] for r in ok),
        "dup": sum(r["duplicates"] for r in ok),
        "errors": [e for r in rs for e in r.get("error_messages", [])]
                  + (["broker process died"] if any(r.get("broker_dead") for r in rs) else []),
    }

def fmt_rate(v):
    return "-" if v is None else f"{v/1000:,.1f}k"

def fmt_us(v):
    return "-" if v is None else (f"{v:,.0f}" if v < 10000 else f"{v/1000:,.1f}ms")

header = ("| scenario | no plugin msgs/s | allow_all msgs/s | **ratio** | paired ratios (min-max) "
          "| CPU µs/msg none / allow_all | p50/p99 µs none | p50/p99 µs allow_all | lost none / allow_all |")
lines = [header, "|" + "---|" * 9]
notes = []
for name in order:
    a, b = summary(name, "none"), summary(name, "allow_all")
    ratio = "-" if not a["rate"] or not b["rate"] else f"**{b['rate']/a['rate']:.2f}**"
    # Each round runs both brokers back to back: the ratio within a round cancels some of the
    # machine's drift. Median and range of those.
    pairs = []
    for rnd, ra in by.get((name, "none"), {}).items():
        rb = by.get((name, "allow_all"), {}).get(rnd)
        if good(ra) and good(rb) and ra["deliveries_per_s"] > 0:
            pairs.append(rb["deliveries_per_s"] / ra["deliveries_per_s"])
    paired = (f"{statistics.median(pairs):.2f} ({min(pairs):.2f}-{max(pairs):.2f})" if pairs else "-")
    cpu = "-"
    if a["cpu"] and b["cpu"]:
        cpu = f"{a['cpu']:.2f} / {b['cpu']:.2f} ({b['cpu']/a['cpu']:.2f}x)"
    lines.append(f"| {name} | {fmt_rate(a['rate'])} | {fmt_rate(b['rate'])} | {ratio} | {paired} | {cpu} "
                 f"| {fmt_us(a['p50'])} / {fmt_us(a['p99'])} | {fmt_us(b['p50'])} / {fmt_us(b['p99'])} "
                 f"| {a['lost']} / {b['lost']} |")
    for broker, s in (("no plugin", a), ("allow_all", b)):
        if s["failed"] or s["errors"]:
            errs = sorted(set(s["errors"]))[:5]
            notes.append(f"- {broker} {name}: {s['failed']} of {runs} runs failed: " + ("; ".join(errs) or "no output"))
        if s["lost"] and "-q1-" in name:
            notes.append(f"- {broker} {name}: {s['lost']} QoS 1 messages lost over {s['n']} runs")
        if s["dup"]:
            notes.append(f"- {broker} {name}: {s['dup']} duplicate deliveries")
    if b["rate"] and a["rate"] and b["rate"] / a["rate"] < 0.9:
        notes.append(f"- {name}: ratio {b['rate']/a['rate']:.2f} is BELOW the 0.9 target")
if base_dead == "1":
    notes.append("- Roost (no plugin) was no longer running at the end (see results/logs/roost-noplugin.log)")
if plug_dead == "1":
    notes.append("- Roost (allow_all) was no longer running at the end (see results/logs/roost-allow_all.log)")
import re
hooks_ran = False
if hook_counts:
    notes.append("- allow_all's hook calls (logged at shutdown): " + "; ".join(hook_counts.splitlines()))
    m = re.search(r"acl publish (\d+),.*on_publish (\d+)", hook_counts)
    hooks_ran = bool(m) and int(m.group(1)) > 0 and int(m.group(2)) > 0
else:
    notes.append("- allow_all logged no hook counts at shutdown (worker_stop did not run?)")
if not hooks_ran:
    notes.insert(0, "- **INVALID: the broker never called allow_all's acl/message hooks, so this measures "
                    "nothing of the plugin path** (see the hook counts below)")

table = "\n".join(lines)
print()
print(table)
if notes:
    print("\nNotes:\n" + "\n".join(notes))
print(f"\n({runs} runs x {duration}s per cell; medians; {elapsed}s total)")

with open(out_md, "w") as f:
    f.write(f"# Plugin overhead, allow_all vs no plugin: {datetime.datetime.now().isoformat(timespec='seconds')}\n\n")
    f.write(f"{version}. Host: {platform.node()}, {os.cpu_count()} CPUs, loopback. {runs} runs x "
            f"{duration}s per scenario and broker, alternating; medians. msgs/s = messages delivered to "
            f"subscribers per second; ratio = allow_all msgs/s / no-plugin msgs/s (target >= 0.9). "
            f"CPU µs/msg = the broker's user+system CPU over the measurement / messages delivered in it.\n\n")
    f.write(table + "\n")
    if notes:
        f.write("\nNotes:\n\n" + "\n".join(notes) + "\n")
    f.write(f"\nRaw per-run results: plugin_overhead.jsonl. Total time {elapsed}s.\n")
print(f"wrote {out_md}")
sys.exit(0 if hooks_ran else 3)
EOF
