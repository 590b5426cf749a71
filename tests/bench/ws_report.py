#!/usr/bin/env python3
"""ws_bench.sh's table: ws/TCP ratios per broker and scenario from roost-bench's JSON lines.

usage: ws_report.py RUNS.jsonl ROUNDS SECONDS [HEADER]

HEADER (optional) goes first: the command and the load average of the run.

Each round ran TCP and ws back to back on the same broker, so a round's ratio compares like with
like; the table shows the median of the rounds' ratios next to the medians of the raw figures.
Broker CPU per delivery (from --broker-pid) is what WebSocket costs the broker itself, apart from
the load generator, which shares the machine's cores."""
import json
import statistics
import sys


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    by = {}
    for r in runs:
        broker, transport, name = r["label"].split("|")
        by.setdefault((name, broker, transport), []).append(r)
    if len(sys.argv) > 4:
        print(sys.argv[4] + "\n")
    print(f"Medians of {sys.argv[2]} alternating rounds, {sys.argv[3]} s measured per run, MQTT 3.1.1 "
          "(rate-q1: 5,000 msg/s, the others closed loop). Ratio = ws / TCP for the same broker and "
          "scenario, the median of the rounds' ratios: throughput higher is better, p99 and CPU lower "
          "is better.\n")
    print("| scenario | broker | deliveries/s TCP → ws | **ws/TCP throughput** | p99 ms TCP → ws | **ws/TCP p99** "
          "| broker CPU µs/delivery TCP → ws | **ws/TCP CPU** | broker cores TCP / ws | roost-bench cores TCP / ws "
          "| lost (ws) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    names = []
    for (name, _, _) in by:
        if name not in names:
            names.append(name)
    for name in names:
        for broker in [b for b in ("roost", "baseline", "mosquitto") if (name, b, "tcp") in by or (name, b, "ws") in by]:
            tcp = by.get((name, broker, "tcp"), [])
            ws = by.get((name, broker, "ws"), [])
            pairs = [(t, w) for t, w in zip(tcp, ws) if t.get("ok") and w.get("ok")]

            def figure(f):
                return med([f(t) for t, _ in pairs]), med([f(w) for _, w in pairs]), \
                    med([f(w) / f(t) for t, w in pairs if f(t)])

            tp = figure(lambda x: x["deliveries_per_s"])
            p99 = figure(lambda x: x["latency_us"]["p99"] / 1000)
            cpu = figure(lambda x: x.get("broker", {}).get("cpu_us_per_delivery", 0) or float("nan"))
            # Cores used over the measurement: whether the broker or roost-bench was the limit.
            bc = figure(lambda x: (x.get("broker") or {}).get("cpu_utilization", float("nan")))
            gc = figure(lambda x: (x.get("generator") or {}).get("cpu_utilization", float("nan")))
            lost = sum(x.get("lost", 0) for x in ws)
            failed = len(tcp) + len(ws) - 2 * len(pairs)
            note = f" ({failed} runs failed)" if failed else ""
            print(f"| {name} | {broker} | {tp[0]:,.0f} → {tp[1]:,.0f} | **{tp[2]:.2f}x** | {p99[0]:.1f} → {p99[1]:.1f} "
                  f"| **{p99[2]:.2f}x** | {cpu[0]:.2f} → {cpu[1]:.2f} | **{cpu[2]:.2f}x** "
                  f"| {bc[0]:.2f} / {bc[1]:.2f} | {gc[0]:.2f} / {gc[1]:.2f} | {lost}{note} |")
    if any(b == "baseline" for (_, b, _) in by):
        ab_table(by, names)


def ab_table(by, names):
    """ws_bench.sh --baseline: the same scenario and transport, baseline build → this build."""
    print("\nA/B, baseline → this build (medians; the ratio is the median of the rounds' new/baseline ratios, "
          "each round having run both builds back to back):\n")
    print("| scenario | transport | deliveries/s baseline → new | **new/baseline** | p99 ms baseline → new "
          "| broker CPU µs/delivery baseline → new | **new/baseline CPU** |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        for transport in ("tcp", "ws"):
            pairs = [(b, n) for b, n in zip(by.get((name, "baseline", transport), []), by.get((name, "roost", transport), []))
                     if b.get("ok") and n.get("ok")]
            if not pairs:
                continue

            def figure(f):
                return med([f(b) for b, _ in pairs]), med([f(n) for _, n in pairs]), \
                    med([f(n) / f(b) for b, n in pairs if f(b)])

            tp = figure(lambda x: x["deliveries_per_s"])
            p99 = figure(lambda x: x["latency_us"]["p99"] / 1000)
            cpu = figure(lambda x: x.get("broker", {}).get("cpu_us_per_delivery", 0) or float("nan"))
            print(f"| {name} | {transport} | {tp[0]:,.0f} → {tp[1]:,.0f} | **{tp[2]:.2f}x** | {p99[0]:.1f} → {p99[1]:.1f} "
                  f"| {cpu[0]:.2f} → {cpu[1]:.2f} | **{cpu[2]:.2f}x** |")


if __name__ == "__main__":
    main()
