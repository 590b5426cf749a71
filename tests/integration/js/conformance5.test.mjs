// Conformance (session 14 audit): statements of MQTT 3.1.1 and 5.0 Roost broke, through MQTT.js.
// The raw-byte side of the same audit is tests/integration/23_conformance_test.cpp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep, roostOnly } from './harness.mjs';

test('MQTT 3.1.1: MQTT.js publishes 100 QoS 2 messages at once; none is refused', async () => {
  // MQTT.js sends every QoS 2 PUBLISH at once and each PUBREL as its PUBREC comes. 3.1.1 has no
  // Receive Maximum, but Roost applied MQTT 5's (32) and closed the client at the 33rd.
  const b = await startBroker();
  try {
    const sub = await b.client({ protocolVersion: 4 });
    const got = collect(sub);
    await sub.subscribeAsync('burst/js', { qos: 2 });
    const pub = await b.client({ protocolVersion: 4 });
    // A close fails the test at once: the publishes it cut off would never settle.
    const closed = new Promise((resolve, reject) => pub.once('close', () => reject(new Error('the broker closed the publisher'))));
    closed.catch(() => {});
    const n = 100;
    await Promise.race([
      Promise.all([...Array(n).keys()].map((i) => pub.publishAsync('burst/js', `${i}`, { qos: 2 }))),
      closed,
    ]);
    assert.ok(await until(() => got.length >= n), `${got.length} of ${n} arrived`);
    assert.deepEqual(got.map((m) => Number(m.payload)), [...Array(n).keys()]); // in order, once each
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('MQTT 5: a shared QoS 2 message whose member went away before PUBREC waits for that member (4.8.2-4)', async (t) => {
  if (roostOnly(t)) return;
  const b = await startBroker();
  try {
    const session = { clean: false, properties: { sessionExpiryInterval: 300 } };
    // The members never answer a QoS 2 PUBLISH (no PUBREC): the delivery stays in flight.
    const held = [];
    const member = async (clientId) => {
      const c = await b.client({
        clientId, ...session,
        customHandleAcks: (topic, message, packet, done) => held.push({ clientId, payload: message.toString() }),
      });
      await c.subscribeAsync('$share/g/jobs/js', { qos: 2 });
      return c;
    };
    const members = { 'js-member-1': await member('js-member-1'), 'js-member-2': await member('js-member-2') };
    const pub = await b.client();
    await pub.publishAsync('jobs/js', 'the job', { qos: 2 });
    assert.ok(await until(() => held.length === 1));
    const chosen = held[0].clientId;
    await members[chosen].endAsync(true); // the connection breaks, no PUBREC, no DISCONNECT
    await sleep(1000);
    assert.equal(held.length, 1, 'the other member was given the message too');

    const back = await b.client({ clientId: chosen, ...session });
    const got = collect(back);
    assert.ok(await until(() => got.length === 1), 'the member that had it did not get it again');
    assert.equal(got[0].payload, 'the job');
    assert.equal(got[0].packet.qos, 2);
    assert.equal(got[0].packet.dup, true);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
