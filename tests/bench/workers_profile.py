#!/usr/bin/env python3
"""workers_profile.py DIR W: the broker's self time by kind, and its syscalls per 1,000
deliveries, from what workers_profile.sh left in DIR for workers = W."""
import json
import re
import subprocess
import sys

out, w = sys.argv[1], sys.argv[2]
result = json.load(open(f"{out}/bench-w{w}.json"))
cpu = result["broker"]["cpu_us_per_delivery"]
rate = result["deliveries_per_s"]

# First match wins; order matters (the kernel's wake-up symbols before "kernel: other").
KINDS = [
    ("kernel: wake-ups, scheduling", r"\[k\] (pvm_irq_enable|finish_task_switch|_?_?schedule|try_to_wake_up|ttwu|enqueue|dequeue|select_task|psi_|pick_next|_raw_spin|native_queued|__wake_up|ep_poll_callback|eventfd|futex)"),
    ("kernel: other (socket I/O, epoll)", r"\[k\] "),
    ("malloc/free", r"\[\.\] (malloc|_int_malloc|_int_free|cfree|free|unlink_chunk|malloc_consolidate|__libc_malloc|__libc_free|tcache|operator new|operator delete|__lll_lock)"),
    ("locks (reader lock, mutexes)", r"\[\.\] (pthread_|__pthread|.*shared_mutex)"),
    ("cross-worker (outbox, inbox, message homes)", r"\[\.\] .*(RemoteBatch|message_home|WorkerInbox|send_to_worker|flush_outbox|Broker::receive|uv__async|uv_async)"),
    ("libc syscall wrappers", r"\[\.\] (__GI___libc_write|__GI___libc_read|__libc_read|__libc_write|epoll_wait|writev|read|write)\b"),
    ("decode", r"\[\.\] .*(decode|has_control|topic_levels|utf8|has_wildcard|Decoder)"),
    ("routing (match, publish, ACL)", r"\[\.\] .*(SubscriptionTree|Hashtable|_Hash_bytes|Broker::publish|Router|deliver|acl)"),
    ("memcpy/memcmp", r"\[\.\] __mem"),
    ("rest of user space (publish, encode, write)", r"\[\.\] "),
]
report = subprocess.run(["perf", "report", "-i", f"{out}/perf-w{w}.data", "--no-children", "--sort", "symbol",
                         "-g", "none", "--stdio", "--percent-limit", "0"], capture_output=True, text=True).stdout
shares = {k: 0.0 for k, _ in KINDS}
tops = {k: [] for k, _ in KINDS}
for line in report.splitlines():
    m = re.match(r"\s*([\d.]+)%\s+(\[.\] .*?)\s*$", line)
    if not m:
        continue
    pct, sym = float(m.group(1)), m.group(2)
    for kind, rx in KINDS:
        if re.match(rx, sym):
            shares[kind] += pct
            tops[kind].append((pct, sym.split("] ", 1)[1][:48]))
            break
samples = re.search(r"# Samples: (\S+)", report)
print(f"deliveries/s {rate:,.0f}, broker CPU {cpu} µs/delivery, {result['broker']['cpu_utilization']:.2f} cores; "
      f"perf samples {samples.group(1) if samples else '?'}")
for kind, pct in shares.items():
    top = ", ".join(f"{s} {p:.1f}" for p, s in sorted(tops[kind], reverse=True)[:3])
    print(f"  {pct:5.1f} %  {pct / 100 * cpu:.3f} µs/delivery  {kind}: {top}")
stat = open(f"{out}/stat-w{w}.txt").read()
elapsed = float(re.search(r"([\d.]+) seconds time elapsed", stat).group(1))
deliveries = rate * elapsed
counts = []
for name in ("syscalls:sys_enter_write", "syscalls:sys_enter_read", "syscalls:sys_enter_epoll_wait", "context-switches"):
    m = re.search(r"([\d.,]+)\s+" + re.escape(name), stat)
    counts.append(f"{name.split(':')[-1].replace('sys_enter_', '')} {1000 * float(m.group(1).replace(',', '')) / deliveries:.2f}" if m else f"{name} ?")
print("  per 1,000 deliveries: " + ", ".join(counts))
