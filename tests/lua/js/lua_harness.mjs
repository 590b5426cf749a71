// The lua plugin's MQTT.js tests: starts the real roost (ROOST_BINARY) with the lua plugin
// (ROOST_PLUGIN_LUA) on free loopback ports, from a generated roost.toml. MQTT.js itself comes
// from tests/integration/js (run `npm ci` there once).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort, mqtt, sleep, spawnBroker } from '../../integration/js/harness.mjs';

export { freePort, mqtt, sleep };

export const scriptsDir = new URL('../../../scripts/', import.meta.url).pathname;

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'roost-lua-js-'));
}

// Runs a command (openssl) and returns its stdout; throws with its stderr on failure.
export function sh(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

const toml = (s) => JSON.stringify(String(s));

// options: { dir, script, pluginOptions: {k: v}, listeners: [{ transport?, auth_default? }],
//            plugins: [{ name, options }] (loaded before lua, e.g. ws) }
export async function startBroker(options) {
  const dir = options.dir ?? tempDir();
  const listeners = options.listeners ?? [{}];
  for (const l of listeners) l.port = await freePort();
  const workers = process.env.ROOST_TEST_WORKERS ? `workers = ${process.env.ROOST_TEST_WORKERS}\n` : '';
  let text = `[broker]\nsys_interval = 0\n${workers}`;
  for (const l of listeners) {
    text += `\n[[listener]]\nbind = "127.0.0.1"\nport = ${l.port}\n`;
    if (l.transport) text += `transport = ${toml(l.transport)}\n`;
    if (l.auth_default) text += `auth_default = ${toml(l.auth_default)}\n`;
  }
  for (const p of options.plugins ?? []) {
    text += `\n[[plugin]]\nname = ${toml(p.name)}\n`;
    if (p.options) text += '[plugin.options]\n' + Object.entries(p.options).map(([k, v]) => `${k} = ${toml(v)}\n`).join('');
  }
  text += `\n[[plugin]]\npath = ${toml(process.env.ROOST_PLUGIN_LUA)}\n[plugin.options]\nscript = ${toml(options.script)}\n`;
  for (const [k, v] of Object.entries(options.pluginOptions ?? {})) text += `${k} = ${toml(v)}\n`;
  fs.writeFileSync(path.join(dir, 'roost.toml'), text);
  const logPath = path.join(dir, 'broker.log');
  if (!process.env.ROOST_BINARY) throw new Error('ROOST_BINARY is not set (ctest sets it)');
  const broker = await spawnBroker(process.env.ROOST_BINARY, ['-v', '-c', path.join(dir, 'roost.toml')], dir, logPath,
    listeners.map((l) => l.port));
  const clients = [];
  return {
    dir,
    ports: listeners.map((l) => l.port),
    port: listeners[0].port,
    log: () => fs.readFileSync(logPath, 'utf8'),
    // Connects (MQTT 5 unless told otherwise); resolves { client, connack } or rejects with the
    // error MQTT.js gives (err.code is the CONNACK's reason / return code).
    connect(opts = {}, url = `mqtt://127.0.0.1:${listeners[0].port}`) {
      const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      clients.push(c);
      return new Promise((resolve, reject) => {
        c.once('connect', (connack) => resolve({ client: c, connack }));
        c.once('error', (err) => { c.end(true); reject(err); });
      });
    },
    async stop() {
      return broker.stop(clients);
    },
  };
}
