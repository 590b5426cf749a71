// scripts/jwt_auth.lua with the token in a WebSocket request header: MQTT.js over the ws plugin
// sends "Authorization: Bearer <JWT>" in its upgrade request, the ws plugin hands the header to
// the lua plugin as the connection attribute ws.header.authorization, and the script's claims
// decide. Valid, expired and forged tokens; the same token in the password field on TCP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { now, signJwt } from './jwt.mjs';
import { scriptsDir, sh, startBroker, tempDir } from './lua_harness.mjs';

let broker;
let secret;
let wsUrl;

before(async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'hs.secret'), sh('openssl', ['rand', '-hex', '32']));
  secret = fs.readFileSync(path.join(dir, 'hs.secret'), 'utf8').trim();
  broker = await startBroker({
    dir,
    listeners: [{}, { transport: 'ws' }],
    plugins: [{ name: 'ws', options: { path: '/mqtt' } }],
    script: path.join(scriptsDir, 'jwt_auth.lua'),
    pluginOptions: { jwt_secret_file: path.join(dir, 'hs.secret'), jwt_algorithms: 'HS256' },
  });
  wsUrl = `ws://127.0.0.1:${broker.ports[1]}/mqtt`;
});

after(async () => {
  if (broker) assert.equal(await broker.stop(), 0);
});

const claims = (id, extra = {}) => ({ sub: id, exp: now() + 600, publish: ['devices/%c/up'], subscribe: ['devices/%c/down'], ...extra });
const bearer = (token) => ({ wsOptions: { headers: { Authorization: `Bearer ${token}` } } });

test('a valid JWT in the Authorization header of the WebSocket upgrade: connected, claims apply', async () => {
  const token = signJwt('HS256', claims('ws-dev'), secret);
  const { client } = await broker.connect({ clientId: 'ws-dev', ...bearer(token) }, wsUrl);
  await client.publishAsync('devices/ws-dev/up', 'hello', { qos: 1 });
  await assert.rejects(client.publishAsync('devices/other/up', 'x', { qos: 1 }), (err) => err.code === 0x87);
  const granted = await client.subscribeAsync('devices/ws-dev/down', { qos: 1 });
  assert.deepEqual(granted.map((g) => g.qos), [1]);
  // MQTT 3.1.1 over WebSocket too.
  const v4 = await broker.connect({ clientId: 'ws-dev4', protocolVersion: 4, ...bearer(signJwt('HS256', claims('ws-dev4'), secret)) }, wsUrl);
  await v4.client.publishAsync('devices/ws-dev4/up', 'hello', { qos: 1 });
});

test('an expired or forged JWT in the header is refused with CONNACK 0x86 (3.1.1: 4)', async () => {
  const expired = signJwt('HS256', claims('ws-late', { exp: now() - 5 }), secret);
  await assert.rejects(broker.connect({ clientId: 'ws-late', ...bearer(expired) }, wsUrl), (err) => err.code === 0x86);
  await assert.rejects(broker.connect({ clientId: 'ws-late4', protocolVersion: 4, ...bearer(expired) }, wsUrl), (err) => err.code === 4);
  const forged = signJwt('HS256', claims('ws-evil'), 'not-the-secret');
  await assert.rejects(broker.connect({ clientId: 'ws-evil', ...bearer(forged) }, wsUrl), (err) => err.code === 0x86);
  assert.match(broker.log(), /client ws-late .*JWT refused: token expired/);
  assert.match(broker.log(), /client ws-evil .*JWT refused: bad signature/);
});

test('no token at all: the script says next, and the listener default (deny once an auth plugin is loaded) refuses', async () => {
  await assert.rejects(broker.connect({ clientId: 'ws-none' }, wsUrl), (err) => err.code === 0x87);
});
