// 12 expiry: message expiry (MQTT 5 3.3.2.3.3) and session expiry (3.1.2.11.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep } from './harness.mjs';

const persistent = (id) => ({ clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });

test('a message with expiry 1 s queued for an offline session is not delivered after 2 s', async () => {
  const b = await startBroker();
  try {
    const s = await b.client(persistent('expiring'));
    await s.subscribeAsync('exp/#', { qos: 1 });
    await s.endAsync();
    const pub = await b.client();
    await pub.publishAsync('exp/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await sleep(2200);
    // MQTT.js emits 'message' only once a listener exists; queued messages may follow the
    // CONNACK at once, so listen on the client before it connects.
    const again = b.mqtt.connect(b.url, { protocolVersion: 5, reconnectPeriod: 0, ...persistent('expiring') });
    const got = collect(again);
    await new Promise((resolve) => again.once('connect', resolve));
    assert.ok(await until(() => got.length >= 1));
    await sleep(500);
    assert.deepEqual(got.map((m) => m.payload), ['kept']);
    // The remaining lifetime was decremented by the time it spent queued (at least 2 s).
    const left = got[0].packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left <= 98 && left > 0, `messageExpiryInterval ${left}`);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('a live subscriber receives the expiry interval', async () => {
  const b = await startBroker();
  try {
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('exp/live', { qos: 1 });
    const pub = await b.client();
    await pub.publishAsync('exp/live', 'x', { qos: 1, properties: { messageExpiryInterval: 50 } });
    assert.ok(await until(() => got.length >= 1));
    const left = got[0].packet.properties?.messageExpiryInterval;
    assert.ok(left === 50 || left === 49, `messageExpiryInterval ${left}`);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('session expiry 1 s: after 2 s the session is gone (session present false)', async () => {
  const b = await startBroker();
  try {
    const opts = { clientId: 'short-session', clean: false, properties: { sessionExpiryInterval: 1 } };
    const s = await b.client(opts);
    await s.subscribeAsync('sess/t', { qos: 1 });
    await s.endAsync();
    await sleep(2200);
    const { connack: ack } = await b.connect(opts);
    assert.equal(ack.sessionPresent, false);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('session expiry 60 s: reconnecting after 1 s finds the session (session present true)', async () => {
  const b = await startBroker();
  try {
    const opts = { clientId: 'long-session', clean: false, properties: { sessionExpiryInterval: 60 } };
    const s = await b.client(opts);
    await s.subscribeAsync('sess/t', { qos: 1 });
    await s.endAsync();
    await sleep(1000);
    const { connack: ack } = await b.connect(opts);
    assert.equal(ack.sessionPresent, true);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
