// 16 overload: sustained fan-in of QoS 1 from 10 MQTT.js publishers into one slow MQTT.js
// subscriber (it acknowledges one message every few milliseconds), under each [limits]
// queue_full_policy. Roost-only: the policies are Roost's keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, until, sleep, roostOnly } from './harness.mjs';

const PUBLISHERS = 10;
const PER_PUBLISHER = 60;
const LIMITS = ['max_queued_messages = 20', 'max_inflight = 10'];

// Runs the fan-in; returns what the subscriber got and each publish's reason code.
async function fanIn(b, ackEveryMs) {
  const got = [];
  const acks = [];
  const sub = await b.client({
    clientId: 'slow-sub',
    customHandleAcks: (topic, message, packet, done) => {
      got.push(message.toString());
      acks.push(done);
    },
  });
  const timer = setInterval(() => acks.shift()?.(0), ackEveryMs);
  await sub.subscribeAsync('fan/#', { qos: 1 });
  const pubs = await Promise.all([...Array(PUBLISHERS)].map((_, i) => b.client({ clientId: `fan-pub-${i}` })));
  const started = Date.now();
  const codes = (
    await Promise.all(
      pubs.map(async (p, i) => {
        const out = [];
        for (let n = 0; n < PER_PUBLISHER; ++n) {
          try {
            const ack = await p.publishAsync(`fan/${i}`, `${i}:${n}`, { qos: 1 });
            out.push(ack?.reasonCode ?? 0);
          } catch (e) {
            out.push(e.code ?? -1);
          }
        }
        return out;
      }),
    )
  ).flat();
  const publishMs = Date.now() - started;
  return { got, codes, publishMs, stop: () => clearInterval(timer), acks };
}

// A $SYS counter once it is above zero ($SYS is published every second, so the first value may
// be from before the event), or its last value after 3 s.
async function sysValue(b, topic) {
  const w = await b.client({ clientId: `sys-${Math.random()}` });
  let value = 0;
  w.on('message', (t, p) => (value = Number(p.toString())));
  await w.subscribeAsync(topic);
  await until(() => value > 0, 3000);
  return value;
}

test('backpressure (default): nothing acknowledged is lost; publishers slow to the subscriber', async (t) => {
  if (roostOnly(t)) return;
  const b = await startBroker({ limits: LIMITS });
  const run = await fanIn(b, 4);
  try {
    assert.ok(run.codes.every((c) => c === 0 || c === 16), `every publish accepted: ${[...new Set(run.codes)]}`);
    assert.ok(await until(() => run.got.length >= PUBLISHERS * PER_PUBLISHER, 10000), `got ${run.got.length}`);
    await sleep(300);
    assert.equal(run.got.length, PUBLISHERS * PER_PUBLISHER, 'each once');
    assert.equal(new Set(run.got).size, PUBLISHERS * PER_PUBLISHER);
    // Paced by the subscriber: 600 messages at one acknowledgement per 4 ms take over a second.
    assert.ok(run.publishMs > 1000, `publishers took ${run.publishMs} ms`);
    assert.ok((await sysValue(b, '$SYS/broker/messages/throttled')) > 0);
    assert.ok(!b.log().includes('dropping messages'));
  } finally {
    run.stop();
    assert.equal(await b.stop(), 0);
  }
});

test('drop_oldest: publishers are not slowed; a warning and $SYS count the drops', async (t) => {
  if (roostOnly(t)) return;
  const b = await startBroker({ limits: [...LIMITS, 'queue_full_policy = "drop_oldest"'] });
  const run = await fanIn(b, 20);
  try {
    assert.ok(run.codes.every((c) => c === 0 || c === 16));
    assert.ok(await until(() => b.log().includes('dropping messages (queue_full_policy = "drop_oldest")'), 3000));
    assert.ok((await sysValue(b, '$SYS/broker/messages/dropped')) > 0);
    run.stop();
    while (run.acks.length) run.acks.shift()(0);
    await sleep(500);
    while (run.acks.length) run.acks.shift()(0);
    assert.ok(run.got.length < PUBLISHERS * PER_PUBLISHER, `some were dropped (got ${run.got.length})`);
  } finally {
    run.stop();
    assert.equal(await b.stop(), 0);
  }
});

test('refuse: MQTT 5 publishers hear 0x97 Quota exceeded while the queue is full', async (t) => {
  if (roostOnly(t)) return;
  const b = await startBroker({ limits: [...LIMITS, 'queue_full_policy = "refuse"'] });
  const run = await fanIn(b, 20);
  try {
    const refused = run.codes.filter((c) => c === 0x97).length;
    assert.ok(refused > 0, `codes seen: ${[...new Set(run.codes)]}`);
    assert.ok(run.codes.every((c) => c === 0 || c === 16 || c === 0x97));
    // What was accepted arrives: refused ones are the only ones missing.
    const accepted = run.codes.filter((c) => c !== 0x97).length;
    run.stop();
    const drain = setInterval(() => { while (run.acks.length) run.acks.shift()(0); }, 10);
    assert.ok(await until(() => run.got.length >= accepted, 5000), `got ${run.got.length} of ${accepted}`);
    clearInterval(drain);
  } finally {
    run.stop();
    assert.equal(await b.stop(), 0);
  }
});
