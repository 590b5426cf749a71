// The MQTT.js side of the integration harness: starts the broker under test (ROOST_BINARY, or
// Mosquitto when ROOST_TEST_BROKER=mosquitto) on a free loopback port with a generated config,
// and gives the tests promise-returning helpers around MQTT.js clients.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

let mqtt;
try {
  mqtt = (await import('mqtt')).default;
} catch (e) {
  throw new Error(`MQTT.js is missing: run \`npm ci\` in ${path.dirname(new URL(import.meta.url).pathname)} (${e.message})`);
}
export { mqtt };

export const isMosquitto = process.env.ROOST_TEST_BROKER === 'mosquitto';

// For tests of Roost-only behaviour: returns true (and says so) when the broker is Mosquitto.
export function roostOnly(t) {
  if (!isMosquitto) return false;
  t.diagnostic('Roost-only behaviour: not checked against mosquitto');
  return true;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// True once something accepts a TCP connection on 127.0.0.1:port (a broker that is up).
export function portAccepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// Starts a broker process (its stderr to `logPath`) and waits until every port in `ports`
// accepts, for 10 s at most. Returns { stop(clients) }: ends the clients, sends SIGTERM (SIGKILL
// after 10 s), removes `dir` unless ROOST_TEST_KEEP is set, and gives the exit code (null when it
// had to be killed). Shared by startBroker here and the ws harness.
export async function spawnBroker(cmd, args, dir, logPath, ports) {
  const logFd = fs.openSync(logPath, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', logFd] });
  fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const deadline = Date.now() + 10000;
  for (const port of ports) {
    while (!(await portAccepts(port))) {
      if (exited) throw new Error(`broker exited at start: ${fs.readFileSync(logPath, 'utf8')}`);
      if (Date.now() > deadline) throw new Error(`broker did not accept on port ${port} within 10 s`);
      await sleep(20);
    }
  }
  return {
    async stop(clients) {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const r = await exitPromise;
      clearTimeout(timer);
      if (!process.env.ROOST_TEST_KEEP) fs.rmSync(dir, { recursive: true, force: true });
      return r.signal ? null : r.code;
    },
  };
}

// options: { broker: ['key = value'], limits: [...], mosquitto: ['line'] }
export async function startBroker(options = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roost-js-'));
  const logPath = path.join(dir, 'broker.log');
  let cmd, args;
  if (isMosquitto) {
    const conf = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false',
      'log_dest stderr', 'log_type all', 'sys_interval 1', ...(options.mosquitto ?? [])].join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'mosquitto.conf'), conf);
    cmd = '/usr/sbin/mosquitto';
    args = ['-c', path.join(dir, 'mosquitto.conf'), '-v'];
  } else {
    // ctest runs every broker test with one worker and with two (tests/CMakeLists.txt).
    const workers = process.env.ROOST_TEST_WORKERS ? `workers = ${process.env.ROOST_TEST_WORKERS}\n` : '';
    let toml = '[broker]\nsys_interval = 1\n' + workers + (options.broker ?? []).map((l) => l + '\n').join('');
    if (options.limits?.length) toml += '\n[limits]\n' + options.limits.map((l) => l + '\n').join('');
    fs.writeFileSync(path.join(dir, 'roost.toml'), toml);
    cmd = process.env.ROOST_BINARY;
    if (!cmd) throw new Error('ROOST_BINARY is not set (ctest sets it; or use ROOST_TEST_BROKER=mosquitto)');
    args = ['--listen', `127.0.0.1:${port}`, '-v', '-c', path.join(dir, 'roost.toml')];
  }
  const broker = await spawnBroker(cmd, args, dir, logPath, [port]);
  const clients = [];
  return {
    mqtt,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => fs.readFileSync(logPath, 'utf8'),
    // Connects an MQTT.js client (MQTT 5 unless told otherwise) and waits for the CONNACK.
    async client(opts = {}) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts,
      });
      clients.push(c);
      return c;
    },
    // Connects and returns { client, connack } (the CONNACK packet: sessionPresent, properties).
    async connect(opts = {}) {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts,
      });
      clients.push(c);
      const connack = await new Promise((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      return { client: c, connack };
    },
    // Ends every client, sends SIGTERM, returns the exit code (null if it had to be killed).
    async stop() {
      return broker.stop(clients);
    },
  };
}

// Collects 'message' events: { topic, payload (string), packet }.
export function collect(client) {
  const got = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
  return got;
}

// Waits until `pred()` is true or the timeout passes; returns pred()'s last value.
export async function until(pred, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!pred() && Date.now() < deadline) await sleep(20);
  return pred();
}

// A raw TCP client with hand-built MQTT 5 bytes, for checks MQTT.js hides (it acknowledges in
// order and one at a time). packets: [{ type, flags, body }] as they arrive.
export async function rawClient(port) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  let buf = Buffer.alloc(0);
  const packets = [];
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      let len = 0; let mult = 1; let pos = 1; let done = false;
      while (pos < buf.length && pos <= 4) {
        const byte = buf[pos++];
        len += (byte & 0x7f) * mult;
        mult *= 128;
        if (!(byte & 0x80)) { done = true; break; }
      }
      if (!done || buf.length < pos + len) return;
      packets.push({ type: buf[0] >> 4, flags: buf[0] & 15, body: buf.subarray(pos, pos + len) });
      buf = buf.subarray(pos + len);
    }
  });
  sock.on('error', () => {});
  return { sock, packets, send: (b) => sock.write(b), close: () => sock.destroy() };
}

export const raw = {
  varint(v) { const out = []; do { let b = v % 128; v = Math.floor(v / 128); if (v > 0) b |= 0x80; out.push(b); } while (v > 0); return Buffer.from(out); },
  str(s) { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); },
  packet(first, body) { return Buffer.concat([Buffer.from([first]), raw.varint(body.length), body]); },
  // MQTT 5 CONNECT, clean start, keep alive 60, with encoded properties.
  connect(clientId, props = Buffer.alloc(0)) {
    return raw.packet(0x10, Buffer.concat([raw.str('MQTT'), Buffer.from([5, 2, 0, 60]), raw.varint(props.length), props, raw.str(clientId)]));
  },
  subscribe(id, filter, options) {
    return raw.packet(0x82, Buffer.concat([Buffer.from([id >> 8, id & 255, 0]), raw.str(filter), Buffer.from([options])]));
  },
  puback(id) { return raw.packet(0x40, Buffer.from([id >> 8, id & 255])); },
  // A PUBLISH body's packet id (QoS > 0).
  publishId(body) { const tl = (body[0] << 8) | body[1]; return (body[2 + tl] << 8) | body[3 + tl]; },
};
