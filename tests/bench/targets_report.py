#!/usr/bin/env python3
"""Tables for run_targets.sh: reads results/targets-*.jsonl (one roost-bench JSON result per
line, labelled BROKER|SCENARIO|ROUND) and prints one Markdown table per target, medians with the
min-max over the rounds; also writes them to --out."""
import argparse
import datetime
import json
import os
import platform
import statistics


def load(path):
    rows = {}
    order = []
    if not os.path.exists(path):
        return rows, order
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        broker, name, _ = r["label"].split("|")
        if name not in order:
            order.append(name)
        rows.setdefault((name, broker), []).append(r)
    return rows, order


def ok_runs(rs):
    return [r for r in rs if r.get("ok") and "scenario" in r]


def values(rs, get):
    out = []
    for r in ok_runs(rs):
        try:
            v = get(r)
        except (KeyError, TypeError):
            continue
        if v is not None:
            out.append(v)
    return out


def med(vals):
    return statistics.median(vals) if vals else None


def fmt_num(v, kind):
    if v is None:
        return "-"
    if kind == "rate":
        return f"{v/1000:,.1f}k" if v >= 1000 else f"{v:,.0f}"
    if kind == "us":
        return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    if kind == "cpu":
        return f"{v:.2f}"
    if kind == "bytes":
        return f"{v:,.0f}"
    return f"{v:g}"


def cell(vals, kind):
    """median (min-max), or just the value for a single run."""
    if not vals:
        return "-"
    m = fmt_num(med(vals), kind)
    if len(vals) == 1:
        return m
    return f"{m} ({fmt_num(min(vals), kind)}–{fmt_num(max(vals), kind)})"


def ratio(a, b):
    return f"{a/b:.2f}x" if a and b else "-"


def failures(rs, rounds):
    bad = [r for r in rs if not r.get("ok")]
    if not bad and len(rs) >= rounds:
        return None
    msgs = sorted({m for r in bad for m in r.get("error_messages", [])} |
                  ({"broker process died"} if any(r.get("broker_dead") for r in bad) else set()))
    return f"{len(bad)} of {len(rs)} runs failed" + (": " + "; ".join(msgs[:3]) if msgs else "")


rate = lambda r: r["deliveries_per_s"]
cpu = lambda r: r["broker"]["cpu_us_per_delivery"]
p50 = lambda r: r["latency_us"]["p50"]
p99 = lambda r: r["latency_us"]["p99"]


def compare_table(rows, order, a, b, a_name, b_name, rounds, notes):
    head = (f"| scenario | {a_name} deliveries/s | {b_name} deliveries/s | {a_name}/{b_name} "
            f"| {a_name} CPU µs/delivery | {b_name} CPU µs/delivery | CPU {a_name}/{b_name} "
            f"| {a_name} p50 / p99 µs | {b_name} p50 / p99 µs | lost {a_name} / {b_name} |")
    lines = [head, "|" + "---|" * 10]
    for name in order:
        ra, rb = rows.get((name, a), []), rows.get((name, b), [])
        lat = lambda rs: f"{fmt_num(med(values(rs, p50)), 'us')} / {fmt_num(med(values(rs, p99)), 'us')}"
        lost = lambda rs: str(sum(values(rs, lambda r: r["lost"])))
        lines.append(
            f"| {name} | {cell(values(ra, rate), 'rate')} | {cell(values(rb, rate), 'rate')} "
            f"| {ratio(med(values(ra, rate)), med(values(rb, rate)))} "
            f"| {cell(values(ra, cpu), 'cpu')} | {cell(values(rb, cpu), 'cpu')} "
            f"| {ratio(med(values(ra, cpu)), med(values(rb, cpu)))} "
            f"| {lat(ra)} | {lat(rb)} | {lost(ra)} / {lost(rb)} |")
        for who, rs in ((a_name, ra), (b_name, rb)):
            f = failures(rs, rounds)
            if f:
                notes.append(f"- {who} {name}: {f}")
            dup = sum(values(rs, lambda r: r["duplicates"]))
            if dup:
                notes.append(f"- {who} {name}: {dup} duplicate deliveries")
            lost_n = sum(values(rs, lambda r: r["lost"]))
            if lost_n and "-q0" not in name:
                notes.append(f"- {who} {name}: {lost_n} QoS 1 messages lost")
    return "\n".join(lines)


def paired_lines(rows, order, a, b, a_name, b_name):
    """Per scenario: the ratio of each round's a and b runs (run back to back), their median, and
    the cores the brokers and roost-bench used (cpu_utilization; whether the generator kept up)."""
    lines = [f"| scenario | {a_name}/{b_name} per round | median | broker cores {a_name} / {b_name} "
             f"| roost-bench cores with {a_name} / {b_name} |", "|" + "---|" * 5]
    for name in order:
        by_round = {}
        for who in (a, b):
            for r in ok_runs(rows.get((name, who), [])):
                by_round.setdefault(r["label"].split("|")[2], {})[who] = r
        ratios = [rs[a]["deliveries_per_s"] / rs[b]["deliveries_per_s"] for _, rs in sorted(by_round.items())
                  if a in rs and b in rs and rs[b]["deliveries_per_s"]]
        cores = lambda who, key: med(values(rows.get((name, who), []), lambda r: r[key]["cpu_utilization"]))
        fmt = lambda v: "-" if v is None else f"{v:.2f}"
        lines.append(f"| {name} | {', '.join(f'{x:.2f}' for x in ratios) or '-'} "
                     f"| {f'{statistics.median(ratios):.2f}x' if ratios else '-'} "
                     f"| {fmt(cores(a, 'broker'))} / {fmt(cores(b, 'broker'))} "
                     f"| {fmt(cores(a, 'generator'))} / {fmt(cores(b, 'generator'))} |")
    return "\n".join(lines)


def rate_table(rows, order, brokers, rounds, notes):
    lines = ["| scenario | broker | deliveries/s | p50 µs | p90 µs | p99 µs | max µs | CPU µs/delivery | lost |",
             "|" + "---|" * 9]
    for name in order:
        for b, label in brokers:
            rs = rows.get((name, b), [])
            lines.append(
                f"| {name} | {label} | {cell(values(rs, rate), 'rate')} | {cell(values(rs, p50), 'us')} "
                f"| {cell(values(rs, lambda r: r['latency_us']['p90']), 'us')} | {cell(values(rs, p99), 'us')} "
                f"| {cell(values(rs, lambda r: r['latency_us']['max']), 'us')} | {cell(values(rs, cpu), 'cpu')} "
                f"| {sum(values(rs, lambda r: r['lost']))} |")
            f = failures(rs, rounds)
            if f:
                notes.append(f"- {label} {name}: {f}")
    return "\n".join(lines)


def conn_table(rows, order, brokers, rounds, notes):
    lines = ["| scenario | broker | RSS bytes/connection | connect CPU µs/connection "
             "| idle CPU µs/connection/s | connections/s | RSS before → after MiB |",
             "|" + "---|" * 7]
    for name in order:
        for b, label in brokers:
            rs = rows.get((name, b), [])
            mib = lambda key: med(values(rs, lambda r: r["broker"][key] / 1048576))
            before, after = mib("rss_before_bytes"), mib("rss_after_bytes")
            lines.append(
                f"| {name} | {label} | {cell(values(rs, lambda r: r['broker']['rss_bytes_per_connection']), 'bytes')} "
                f"| {cell(values(rs, lambda r: r['broker']['connect_cpu_us_per_connection']), 'us')} "
                f"| {cell(values(rs, lambda r: r['broker']['hold_cpu_us_per_connection_s']), 'cpu')} "
                f"| {cell(values(rs, lambda r: r['connections_per_s']), 'rate')} "
                f"| {'-' if before is None else f'{before:.1f} → {after:.1f}'} |")
            f = failures(rs, rounds)
            if f:
                notes.append(f"- {label} {name}: {f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--results", "--out", "--rounds", "--duration", "--warmup", "--elapsed", "--dead",
                "--roost-version", "--mosquitto-version", "--workers-note"):
        ap.add_argument(opt, default="")
    a = ap.parse_args()
    rounds = int(a.rounds)
    notes = []
    parts = []

    rows, order = load(os.path.join(a.results, "targets-vs.jsonl"))
    if order:
        parts.append("### Roost (default workers: 2 here) vs Mosquitto, closed loop\n\n"
                     + compare_table(rows, order, "roost", "mosquitto", "Roost", "Mosq", rounds, notes))
    rows, order = load(os.path.join(a.results, "targets-workers.jsonl"))
    if order:
        text = compare_table(rows, order, "workers-2", "workers-1", "w2", "w1", rounds, notes)
        text += "\n\nPaired by round:\n\n" + paired_lines(rows, order, "workers-2", "workers-1", "w2", "w1")
        if a.workers_note:
            text += f"\n\nroost-w2.log: `{a.workers_note.strip()}`"
        parts.append("### Roost workers = 2 vs workers = 1\n\n" + text)
    rows, order = load(os.path.join(a.results, "targets-rate.jsonl"))
    if order:
        parts.append("### Latency at a fixed rate (open loop, 10,000 msg/s)\n\n"
                     + rate_table(rows, order, [("roost", "Roost"), ("mosquitto", "Mosquitto")], rounds, notes))
    rows, order = load(os.path.join(a.results, "targets-conn.jsonl"))
    if order:
        parts.append("### Idle MQTT 3.1.1 connections (fresh broker per run)\n\n"
                     + conn_table(rows, order, [("roost", "Roost"), ("mosquitto", "Mosquitto")], rounds, notes))
    for d in a.dead.split():
        notes.append(f"- {d} was no longer running at the end (see results/logs/)")

    summary = (f"{a.roost_version} vs {a.mosquitto_version}; {platform.node()}, {os.cpu_count()} CPUs, "
               f"loopback. {rounds} round(s) x ({a.duration} s measured + {a.warmup} s warm-up) per "
               f"scenario and broker, alternating; cells are medians (min–max). deliveries/s = messages "
               f"received by subscribers per second; CPU = the broker's user+system CPU over the "
               f"measurement / deliveries in it (/proc/PID/stat, 10 ms ticks). {a.elapsed} s in all.")
    body = "\n\n".join(parts)
    if notes:
        body += "\n\nNotes:\n\n" + "\n".join(notes)
    print("\n" + body + "\n\n" + summary)
    with open(a.out, "w") as f:
        f.write(f"# Roost targets: {datetime.datetime.now().isoformat(timespec='seconds')}\n\n")
        f.write(summary + "\n\n" + body + "\n\nRaw per-run results: targets-*.jsonl.\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
