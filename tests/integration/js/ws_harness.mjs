// The WebSocket side of the MQTT.js harness: a broker with a plain TCP listener and a `ws`
// listener (the ws plugin, found by name in the build tree next to ROOST_BINARY), the page of
// examples/web/ as http_dir, and MQTT.js clients over ws://. With ROOST_TEST_BROKER=mosquitto,
// Mosquitto's own `protocol websockets` listener stands in (no static files, no plugin options).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort, isMosquitto, mqtt, spawnBroker } from './harness.mjs';
import { makeCerts } from './tls_certs.mjs';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
export const webDir = path.join(repoRoot, 'examples/web');

function tomlString(v) {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

// options: { ws: { key: value } (the plugin's options; http_dir defaults to examples/web),
//            broker: ['key = value'], listeners: ['extra toml'],
//            tls: true (a third listener: wss, with certificates made by tls_certs.mjs),
//            mqtts: true (with tls: a fourth, MQTT over TLS without a transport) }
export async function startWsBroker(options = {}) {
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const wssPort = options.tls ? await freePort() : 0;
  const mqttsPort = options.tls && options.mqtts ? await freePort() : 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roost-ws-'));
  const certs = options.tls ? makeCerts(dir) : null;
  const logPath = path.join(dir, 'broker.log');
  let cmd, args;
  if (isMosquitto) {
    const conf = [`listener ${tcpPort} 127.0.0.1`, `listener ${wsPort} 127.0.0.1`, 'protocol websockets',
      'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type all', 'sys_interval 1',
      ...(certs ? [`listener ${wssPort} 127.0.0.1`, 'protocol websockets', `certfile ${certs.cert}`, `keyfile ${certs.key}`] : []),
      ...(mqttsPort ? [`listener ${mqttsPort} 127.0.0.1`, `certfile ${certs.cert}`, `keyfile ${certs.key}`] : []),
    ].join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'mosquitto.conf'), conf);
    cmd = '/usr/sbin/mosquitto';
    args = ['-c', path.join(dir, 'mosquitto.conf'), '-v'];
  } else {
    const workers = process.env.ROOST_TEST_WORKERS ? `workers = ${process.env.ROOST_TEST_WORKERS}\n` : '';
    const ws = { path: '/mqtt', http_dir: webDir, ...(options.ws ?? {}) };
    let toml = '[broker]\nsys_interval = 1\n' + workers + (options.broker ?? []).map((l) => l + '\n').join('');
    toml += `\n[[listener]]\nbind = "127.0.0.1"\nport = ${tcpPort}\n`;
    toml += `\n[[listener]]\nbind = "127.0.0.1"\nport = ${wsPort}\ntransport = "ws"\n`;
    if (certs) {
      toml += `\n[[listener]]\nbind = "127.0.0.1"\nport = ${wssPort}\ntransport = "ws"\n` +
        `tls_cert_file = "${certs.cert}"\ntls_key_file = "${certs.key}"\ntls_handshake_timeout = 2\n`;
    }
    if (mqttsPort) {
      toml += `\n[[listener]]\nbind = "127.0.0.1"\nport = ${mqttsPort}\n` +
        `tls_cert_file = "${certs.cert}"\ntls_key_file = "${certs.key}"\n`;
    }
    toml += (options.listeners ?? []).join('\n');
    toml += '\n[[plugin]]\nname = "ws"\n[plugin.options]\n';
    for (const [k, v] of Object.entries(ws)) if (v !== undefined) toml += `${k} = ${tomlString(v)}\n`;
    fs.writeFileSync(path.join(dir, 'roost.toml'), toml);
    cmd = process.env.ROOST_BINARY;
    if (!cmd) throw new Error('ROOST_BINARY is not set (ctest sets it; or use ROOST_TEST_BROKER=mosquitto)');
    args = ['-v', '-c', path.join(dir, 'roost.toml')];
  }
  const broker = await spawnBroker(cmd, args, dir, logPath,
    [tcpPort, wsPort, ...(wssPort ? [wssPort] : []), ...(mqttsPort ? [mqttsPort] : [])]);
  const clients = [];
  return {
    dir,
    tcpPort,
    wsPort,
    wssPort,
    certs,
    wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`,
    httpUrl: `http://127.0.0.1:${wsPort}/`,
    wssUrl: `wss://127.0.0.1:${wssPort}/mqtt`,
    httpsUrl: `https://127.0.0.1:${wssPort}/`,
    log: () => fs.readFileSync(logPath, 'utf8'),
    // An MQTT.js client over ws:// (MQTT 5 unless told otherwise), connected; with
    // { scheme: 'wss' } over wss:// trusting the test's CA.
    async client({ scheme = 'ws', ...opts } = {}) {
      const url = scheme === 'wss' ? `wss://127.0.0.1:${wssPort}/mqtt` : `ws://127.0.0.1:${wsPort}/mqtt`;
      const tls = scheme === 'wss' ? { ca: certs.caPem, rejectUnauthorized: true } : {};
      const c = await mqtt.connectAsync(url, {
        protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...tls, ...opts,
      });
      clients.push(c);
      return c;
    },
    // MQTT over TLS (mqtts://, needs { mqtts: true }), trusting the test's CA.
    async tlsClient(opts = {}) {
      const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqttsPort}`, {
        protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ca: certs.caPem, rejectUnauthorized: true,
        ...opts,
      });
      clients.push(c);
      return c;
    },
    // The same over plain TCP.
    async tcpClient(opts = {}) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcpPort}`, {
        protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts,
      });
      clients.push(c);
      return c;
    },
    async stop() {
      return broker.stop(clients);
    },
  };
}
