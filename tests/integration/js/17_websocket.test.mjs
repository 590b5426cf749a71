// MQTT.js over ws:// and wss:// (TLS on the listener, certificates made with openssl by the
// test) through the ws plugin: MQTT 3.1.1 and 5, QoS 0/1/2 both ways, retained messages, large
// messages, and WebSocket and TCP clients talking to each other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { collect, until } from './harness.mjs';
import { startWsBroker } from './ws_harness.mjs';

let broker;
before(async () => { broker = await startWsBroker({ tls: true, mqtts: true }); });
after(async () => { assert.equal(await broker.stop(), 0, 'broker exit code'); });

test('a wss:// client that does not trust the certificate is refused; the others carry on', async () => {
  await assert.rejects(broker.client({ scheme: 'wss', ca: undefined, rejectUnauthorized: true }));
  const c = await broker.client({ scheme: 'wss' });
  await c.publishAsync('wss/after', 'still fine', { qos: 1 });
  await c.endAsync();
});

for (const scheme of ['ws', 'wss'])
for (const version of [4, 5]) {
  const name = version === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
  describe(`${name} over ${scheme}://`, () => {
    for (const qos of [0, 1, 2]) {
      test(`QoS ${qos}: publish and receive over WebSocket, in order`, async () => {
        const sub = await broker.client({ scheme, protocolVersion: version });
        const pub = await broker.client({ scheme, protocolVersion: version });
        const topic = `${scheme}/v${version}/q${qos}`;
        const granted = await sub.subscribeAsync(topic, { qos });
        assert.equal(granted[0].qos, qos);
        const got = collect(sub);
        for (let i = 0; i < 20; i++) await pub.publishAsync(topic, `m${i}`, { qos });
        assert.ok(await until(() => got.length === 20, 5000), `got ${got.length} of 20`);
        assert.deepEqual(got.map((m) => m.payload), Array.from({ length: 20 }, (_, i) => `m${i}`));
        assert.ok(got.every((m) => m.packet.qos === qos));
        await sub.endAsync();
        await pub.endAsync();
      });
    }

    test('retained: set over ws, delivered to a later ws subscriber, cleared', async () => {
      const topic = `${scheme}/v${version}/retained`;
      const pub = await broker.client({ scheme, protocolVersion: version });
      await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
      const sub = await broker.client({ scheme, protocolVersion: version });
      const got = collect(sub);
      await sub.subscribeAsync(topic, { qos: 1 });
      assert.ok(await until(() => got.length === 1), 'retained message arrives');
      assert.equal(got[0].payload, 'kept');
      assert.equal(got[0].packet.retain, true);
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      const late = await broker.client({ scheme, protocolVersion: version });
      const none = collect(late);
      await late.subscribeAsync(topic, { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(none.length, 0, 'cleared');
      await Promise.all([pub.endAsync(), sub.endAsync(), late.endAsync()]);
    });
  });
}

test('a 512 KiB message crosses WebSocket both ways (frames of 64 KiB+ lengths, ws in, wss out)', async () => {
  const sub = await broker.client({ scheme: 'wss' });
  const pub = await broker.client();
  await sub.subscribeAsync('ws/big', { qos: 1 });
  const got = collect(sub);
  const payload = 'x'.repeat(512 * 1024);
  await pub.publishAsync('ws/big', payload, { qos: 1 });
  assert.ok(await until(() => got.length === 1, 5000));
  assert.equal(got[0].payload.length, payload.length);
  await Promise.all([sub.endAsync(), pub.endAsync()]);
});

test('ws://, wss:// and TCP clients reach each other', async () => {
  const wssSub = await broker.client({ scheme: 'wss' });
  await wssSub.subscribeAsync('mix/#', { qos: 1 });
  const fromWss = collect(wssSub);
  const wsSub = await broker.client();
  const tcpSub = await broker.tcpClient({ protocolVersion: 4 });
  await wsSub.subscribeAsync('mix/#', { qos: 2 });
  await tcpSub.subscribeAsync('mix/#', { qos: 2 });
  const fromWs = collect(wsSub);
  const fromTcp = collect(tcpSub);
  const tcpPub = await broker.tcpClient();
  const wsPub = await broker.client({ protocolVersion: 4 });
  await tcpPub.publishAsync('mix/tcp', 'from tcp', { qos: 2 });
  await wsPub.publishAsync('mix/ws', 'from ws', { qos: 1 });
  assert.ok(await until(() => fromWs.length === 2 && fromTcp.length === 2 && fromWss.length === 2),
    `${fromWs.length} ${fromTcp.length} ${fromWss.length}`);
  for (const got of [fromWs, fromTcp, fromWss])
    assert.deepEqual(got.map((m) => m.payload).sort(), ['from tcp', 'from ws']);
  await Promise.all([wsSub.endAsync(), tcpSub.endAsync(), tcpPub.endAsync(), wsPub.endAsync(), wssSub.endAsync()]);
});

// Payloads from 4 KiB on leave the broker by reference (issue 7): over TCP the connection writes
// them from the shared message, over TLS it encrypts from there, through the ws plugin they are
// handed over whole. Every subscriber must get every byte, in order.
test('large payloads reach TCP, TLS, ws and wss subscribers byte for byte', async () => {
  const subs = [
    await broker.tcpClient({ protocolVersion: 4 }),
    await broker.tcpClient(),
    await broker.tlsClient({ protocolVersion: 4 }),
    await broker.tlsClient(),
    await broker.client(),
    await broker.client({ scheme: 'wss', protocolVersion: 4 }),
  ];
  const got = subs.map(() => []);
  subs.forEach((s, i) => s.on('message', (topic, payload) => got[i].push(Buffer.from(payload))));
  for (const [i, s] of subs.entries()) await s.subscribeAsync('large/#', { qos: i % 2 });
  const pub = await broker.tcpClient();
  // Around the thresholds (4 KiB: by reference; 64 KiB: the encoding cache's bound) and past a
  // TLS record and a ws frame length; each filled differently.
  const sizes = [4095, 4096, 65536, 70000, 300000];
  const payloads = sizes.map((n, i) => {
    const b = Buffer.alloc(n);
    for (let j = 0; j < n; j++) b[j] = (j * 7 + i * 131 + (j >> 8)) & 0xff;
    return b;
  });
  for (const p of payloads) await pub.publishAsync('large/t', p, { qos: 1 });
  assert.ok(await until(() => got.every((g) => g.length === payloads.length), 10000),
    `got ${got.map((g) => g.length)}`);
  for (const [i, g] of got.entries())
    for (const [k, p] of payloads.entries())
      assert.ok(p.equals(g[k]), `subscriber ${i}, message ${k} (${p.length} bytes) differs`);
  await Promise.all([...subs, pub].map((c) => c.endAsync()));
});
