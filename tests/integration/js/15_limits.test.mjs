// 15 limits: Server Keep Alive (MQTT 5 3.2.2.3.14), the client's Maximum Packet Size
// (3.1.2.11.4) and Receive Maximum (3.1.2.11.3) as the broker must honour them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep, rawClient, raw } from './harness.mjs';

test('server keep alive announced when the client asks for more than max_keep_alive', async () => {
  const b = await startBroker({ limits: ['max_keep_alive = 10'], mosquitto: ['max_keepalive 10'] });
  try {
    const { connack } = await b.connect({ keepalive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, 10);
    const { connack: within } = await b.connect({ keepalive: 5 });
    assert.ok([undefined, 5].includes(within.properties?.serverKeepAlive));
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test("the broker never sends a packet larger than the client's maximum packet size", async () => {
  const b = await startBroker();
  try {
    const s = await b.client({ properties: { maximumPacketSize: 256 } });
    const got = collect(s);
    await s.subscribeAsync('mps/#', { qos: 1 });
    const pub = await b.client();
    await pub.publishAsync('mps/big', 'x'.repeat(1000), { qos: 1 });
    await pub.publishAsync('mps/small', 'ok', { qos: 1 });
    assert.ok(await until(() => got.length >= 1));
    await sleep(300);
    assert.deepEqual(got.map((m) => m.topic), ['mps/small']);
    assert.ok(s.connected, 'the client stays connected');
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('receive maximum: no more unacknowledged QoS 1 messages in flight than the client allows', async () => {
  const b = await startBroker();
  try {
    // A raw subscriber: MQTT.js would acknowledge for us.
    const c = await rawClient(b.port);
    c.send(raw.connect('rm-sub', Buffer.from([0x21, 0, 2]))); // Receive Maximum 2
    assert.ok(await until(() => c.packets.some((p) => p.type === 2)));
    c.send(raw.subscribe(1, 'rm/t', 1));
    assert.ok(await until(() => c.packets.some((p) => p.type === 9)));
    const publishes = () => c.packets.filter((p) => p.type === 3);
    const pub = await b.client();
    for (let i = 0; i < 6; ++i) await pub.publishAsync('rm/t', `${i}`, { qos: 1 });
    await sleep(700);
    assert.equal(publishes().length, 2, 'two in flight, the rest waits for acknowledgements');
    // Acknowledge as they come: the rest follows.
    let acked = 0;
    const deadline = Date.now() + 5000;
    while (acked < 6 && Date.now() < deadline) {
      const ps = publishes();
      while (acked < ps.length) c.send(raw.puback(raw.publishId(ps[acked++].body)));
      assert.ok(ps.length - acked <= 2);
      await sleep(20);
    }
    assert.equal(publishes().length, 6);
    c.close();
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
