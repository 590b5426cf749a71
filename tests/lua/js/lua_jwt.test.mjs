// scripts/jwt_auth.lua through MQTT.js: valid, expired and forged JWTs for HS256, RS256 and
// ES256 (keys made by the openssl CLI in the test, tokens signed with node's crypto), claims
// mapped to topic permissions; and on_message rewriting user properties.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { now, signJwt } from './jwt.mjs';
import { scriptsDir, sh, startBroker, tempDir } from './lua_harness.mjs';

let broker;
const keys = {};

before(async () => {
  const dir = tempDir();
  const file = (name) => path.join(dir, name);
  sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('rsa.key')]);
  sh('openssl', ['pkey', '-in', file('rsa.key'), '-pubout', '-out', file('rsa.pub')]);
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('ec.key')]);
  sh('openssl', ['pkey', '-in', file('ec.key'), '-pubout', '-out', file('ec.pub')]);
  // The attacker's keys: same kinds, not the broker's.
  sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('evil-rsa.key')]);
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('evil-ec.key')]);
  fs.writeFileSync(file('hs.secret'), sh('openssl', ['rand', '-hex', '32']));
  keys.HS256 = fs.readFileSync(file('hs.secret'), 'utf8').trim();
  keys.RS256 = fs.readFileSync(file('rsa.key'), 'utf8');
  keys.ES256 = fs.readFileSync(file('ec.key'), 'utf8');
  keys.evil = { HS256: 'not-the-secret', RS256: fs.readFileSync(file('evil-rsa.key'), 'utf8'), ES256: fs.readFileSync(file('evil-ec.key'), 'utf8') };
  broker = await startBroker({
    dir,
    script: path.join(scriptsDir, 'jwt_auth.lua'),
    pluginOptions: {
      jwt_secret_file: file('hs.secret'),
      jwt_public_keys: `${file('rsa.pub')},${file('ec.pub')}`,
      jwt_audience: 'roost',
    },
  });
});

after(async () => {
  if (broker) assert.equal(await broker.stop(), 0);
});

const claimsFor = (id, extra = {}) => ({
  sub: id, aud: 'roost', exp: now() + 600,
  publish: ['devices/%c/up', 'broadcast/#'], subscribe: ['devices/%c/down/#'], ...extra,
});

for (const alg of ['HS256', 'RS256', 'ES256']) {
  test(`${alg}: a valid token connects, and its claims decide what it may publish and subscribe to`, async () => {
    const id = `dev-${alg}`;
    const token = signJwt(alg, claimsFor(id), keys[alg]);
    const { client } = await broker.connect({ clientId: id, username: 'device', password: token });
    await client.publishAsync(`devices/${id}/up`, '1', { qos: 1 });
    await assert.rejects(client.publishAsync('devices/other/up', '1', { qos: 1 }), (err) => err.code === 0x87);
    const granted = await client.subscribeAsync(`devices/${id}/down/#`, { qos: 1 });
    assert.deepEqual(granted.map((g) => g.qos), [1]);
    // SUBACK 0x87: MQTT.js rejects with "Subscribe error: Not authorized".
    await assert.rejects(client.subscribeAsync('devices/+/down/#', { qos: 1 }), /Not authorized/);
    // 3.1.1 works the same.
    const v4 = await broker.connect({ clientId: `${id}-v4`, username: 'device', password: signJwt(alg, claimsFor(`${id}-v4`), keys[alg]), protocolVersion: 4 });
    await v4.client.publishAsync(`devices/${id}-v4/up`, '1', { qos: 1 });
  });

  test(`${alg}: an expired token is refused (CONNACK 0x86; 3.1.1 return code 4)`, async () => {
    const token = signJwt(alg, claimsFor('late', { exp: now() - 10 }), keys[alg]);
    await assert.rejects(broker.connect({ clientId: 'late', username: 'device', password: token }), (err) => err.code === 0x86);
    await assert.rejects(broker.connect({ clientId: 'late4', username: 'device', password: token, protocolVersion: 4 }), (err) => err.code === 4);
  });

  test(`${alg}: a forged token (another key, or claims changed after signing) is refused`, async () => {
    const forged = signJwt(alg, claimsFor('mallory'), keys.evil[alg]);
    await assert.rejects(broker.connect({ clientId: 'mallory', username: 'x', password: forged }), (err) => err.code === 0x86);
    const good = signJwt(alg, claimsFor('mallory'), keys[alg]);
    const [h, , s] = good.split('.');
    const widened = Buffer.from(JSON.stringify(claimsFor('mallory', { publish: ['#'] }))).toString('base64url');
    await assert.rejects(broker.connect({ clientId: 'mallory', username: 'x', password: `${h}.${widened}.${s}` }), (err) => err.code === 0x86);
  });
}

test('a token for another audience, or without exp, is refused; the log says why', async () => {
  const wrongAud = signJwt('HS256', claimsFor('aud', { aud: 'elsewhere' }), keys.HS256);
  await assert.rejects(broker.connect({ clientId: 'aud', password: wrongAud, username: 'x' }), (err) => err.code === 0x86);
  const { exp, ...noExp } = claimsFor('noexp');
  assert.ok(exp);
  await assert.rejects(broker.connect({ clientId: 'noexp', password: signJwt('RS256', noExp, keys.RS256), username: 'x' }), (err) => err.code === 0x86);
  const log = broker.log();
  assert.match(log, /client aud from 127\.0\.0\.1:\d+: JWT refused: audience does not match/);
  assert.match(log, /client noexp .* JWT refused: token has no "exp"/);
  assert.match(log, /JWT refused: token expired/);
  assert.match(log, /JWT refused: bad signature/);
});

test('a client id with a wildcard does not widen its %c filters (a client named "+" gets nothing of others)', async () => {
  // Before: "devices/%c/down/#" became "devices/+/down/#" for a client named "+": every device's commands.
  const token = signJwt('HS256', claimsFor('+'), keys.HS256);
  const { client } = await broker.connect({ clientId: '+', username: 'device', password: token });
  await assert.rejects(client.subscribeAsync('devices/other/down/#', { qos: 1 }), /Not authorized/);
  await assert.rejects(client.publishAsync('devices/other/up', '1', { qos: 1 }), (err) => err.code === 0x87);
  // What needs no %c still works for it.
  await client.publishAsync('broadcast/all', '1', { qos: 1 });
});
