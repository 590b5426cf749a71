#!/usr/bin/env python3
"""Chaos test: random but mostly well-formed MQTT 3.1.1 and 5.0 traffic from up to 40 clients at
once (connects with and without wills and clean sessions, session takeovers, publishes at every
QoS with topic aliases and expiry, subscriptions including $share, acknowledgements with random
packet ids, unsubscribes, pings, dropped sockets, garbage bytes) against the real broker, for a
bounded time. It passes when the broker is still serving a fresh client at the end and then stops
cleanly with exit 0 (under ASan+UBSan that also means no leak and no undefined behaviour).

usage: chaos_test.py ROOST_BINARY [SECONDS] [SEED]   (standard library only)"""
import os, random, signal, socket, struct, subprocess, sys, tempfile, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def vbi(n):
    out=b""
    while True:
        b=n%128; n//=128
        if n: b|=0x80
        out+=bytes([b])
        if not n: return out
def s16(x): return struct.pack(">H",len(x))+x
def pkt(t,flags,body): return bytes([(t<<4)|flags])+vbi(len(body))+body
def props(v, p=b""): return (vbi(len(p))+p) if v==5 else b""
topics=[b"a",b"a/b",b"a/b/c",b"$SYS/x",b"x/y",b"r/1"]
filters=[b"#",b"a/#",b"+/b",b"a/+/c",b"$share/g/a/#",b"x/y",b"r/#"]
def rand_packet(v, garbage):
    k=random.randrange(12 if garbage else 11)
    pid=struct.pack(">H",random.randrange(1,20))
    if k<4:
        q=random.randrange(3); t=random.choice(topics); retain=random.random()<0.2
        pr=b""
        if v==5 and random.random()<0.3: pr=b"\x23"+struct.pack(">H",random.randrange(1,5))  # topic alias
        if v==5 and random.random()<0.2: pr+=b"\x02"+struct.pack(">I",random.randrange(0,3))
        body=s16(t if random.random()<0.9 else b"")+(pid if q else b"")+props(v,pr)+bytes(random.randrange(40))
        return pkt(3,(q<<1)|retain|(8 if q and random.random()<0.1 else 0),body)
    if k==4: return pkt(8,2,pid+props(v, b"\x0b\x05" if random.random()<0.3 else b"")+s16(random.choice(filters))+bytes([random.randrange(3)|(random.randrange(3)<<4 if v==5 else 0)]))
    if k==5: return pkt(10,2,pid+props(v)+s16(random.choice(filters)))
    if k==6: return pkt(4,0,pid)
    if k==7: return pkt(5,0,pid)
    if k==8: return pkt(6,2,pid)
    if k==9: return pkt(7,0,pid)
    if k==10: return pkt(12,0,b"")
    return bytes(random.randrange(256) for _ in range(random.randrange(1,8)))  # garbage
def connect(i):
    v=random.choice([4,5]); cid=("c%d"%random.randrange(30)).encode()
    flags=0x02 if random.random()<0.5 else 0
    will=b""
    if random.random()<0.3:
        flags|=0x04|(random.randrange(3)<<3)
        will=props(v, b"\x18"+struct.pack(">I",random.randrange(3)))+s16(b"w/"+cid)+s16(b"bye")
    p=b"\x11"+struct.pack(">I",random.choice([0,5,60])) if v==5 else b""
    body=s16(b"MQTT")+bytes([v,flags])+struct.pack(">H",random.choice([0,1,30]))+props(v,p+(b"\x22\x00\x05" if v==5 else b""))+s16(cid)+will
    return v, pkt(1,0,body)

def run(port, seconds, garbage):
    end = time.time() + seconds
    conns, sent = [], 0
    while time.time() < end:
        if len(conns) < 40 or random.random() < 0.05:
            try:
                s = socket.create_connection(("127.0.0.1", port))
                s.setblocking(False)
                v, c = connect(len(conns))
                s.send(c)
                conns.append((s, v))
            except OSError:
                pass
        if not conns:
            continue
        s, v = random.choice(conns)
        try:
            s.send(rand_packet(v, garbage))
            sent += 1
            try:
                s.recv(65536)
            except BlockingIOError:
                pass
        except OSError:
            conns.remove((s, v))
            s.close()
        if conns and random.random() < 0.02:
            s, v = random.choice(conns)
            conns.remove((s, v))
            s.close()
    for s, _ in conns:
        s.close()
    return sent

def probe(port):
    """A fresh MQTT 3.1.1 client gets CONNACK 0 and a PINGRESP."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        body = s16(b"MQTT") + bytes([4, 2]) + struct.pack(">H", 30) + s16(b"chaos-probe")
        s.sendall(pkt(1, 0, body) + pkt(12, 0, b""))
        got = b""
        while len(got) < 6:
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
        return got[:6] == b"\x20\x02\x00\x00\xd0\x00"

def alive(port):
    """The broker serves a fresh client within 10 s of the chaos. Not at once: the chaos leaves
    thousands of sockets the broker has not yet seen close, and while more than [limits]
    max_pending_connects (1024) of them still count as waiting for CONNECT, a new connection is
    closed at accept, as it should be (the log says "over [limits] max_pending_connects")."""
    deadline = time.time() + 10
    while True:
        try:
            if probe(port):
                return True
        except OSError as e:
            print(f"chaos: probe failed ({e}); retrying")
        if time.time() > deadline:
            return False
        time.sleep(0.5)

def main():
    binary = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="roost-chaos-", suffix=".log", delete=False)
    broker = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        sent = run(port, seconds / 2, garbage=False) + run(port, seconds / 2, garbage=True)
        ok = alive(port)
    finally:
        broker.send_signal(signal.SIGTERM)
        try:
            code = broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            broker.kill()
            code = "hung"
    print(f"chaos: {sent} packets sent; broker alive at the end: {ok}; exit code after SIGTERM: {code}; log {log.name}")
    if not ok or code != 0:
        print(open(log.name, errors="replace").read()[-4000:])
        sys.exit(1)
    os.unlink(log.name)

if __name__ == "__main__":
    main()
