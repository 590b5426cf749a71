// Shared by interop311.test.mjs and interop5.test.mjs (the Eclipse Paho interoperability suite,
// eclipse/paho.mqtt.testing interoperability/client_test.py and client_test5.py, ported to
// MQTT.js): the suite's topics, and a raw client for what the suite's own client does and MQTT.js
// will not (a second CONNECT on one socket, a wrong protocol name, topic alias 0, PUBLISHes left
// unacknowledged, a keep alive with no PINGREQ). Packets are built and parsed by mqtt-packet, the
// codec MQTT.js itself uses (pinned by this folder's lockfile).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqttPacket from 'mqtt-packet';

import { collect, isMosquitto, sleep, startBroker, until } from './harness.mjs';

// The suite's data (setData() in client_test5.py; client_test.py has the same lists).
export const topics = ['TopicA', 'TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA'];
export const wildtopics = ['TopicA/+', '+/C', '#', '/#', '/+', '+/+', 'TopicA/#'];

// Broker options that refuse subscriptions to `topic`, as the suite's -n option expects of the
// broker under test: a Lua rule for roost (its [[plugin]] table goes after the harness's [limits]
// lines, where TOML starts a new table). Its file lives in a folder of its own, removed by done().
export function nosubscribeBroker(topic) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roost-interop-'));
  fs.writeFileSync(path.join(dir, 'nosubscribe.lua'), 'function on_acl(client, action, topic)\n' +
    `  if action == "subscribe" and topic == "${topic}" then return false, 0x80 end\n` +
    '  return true\nend\n');
  return {
    options: {
      limits: ['[[plugin]]', 'name = "lua"', '[plugin.options]', `script = "${dir}/nosubscribe.lua"`],
    },
    done() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

// A client on a raw socket. packets: every packet parsed so far (mqtt-packet objects: cmd,
// reasonCode / returnCode, properties, ...). As the suite's receiver thread does, it answers
// PUBREC with PUBREL for its own QoS 2 PUBLISHes (unless ackOwn is false) and acknowledges the
// PUBLISHes it receives (unless ackIncoming is false: the suite's pause()).
export async function rawClient(port, protocolVersion, { ackOwn = true, ackIncoming = true } = {}) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  sock.setNoDelay(true); // each packet leaves at once (Nagle held a PUBREC written after a PUBACK)
  const parser = mqttPacket.parser({ protocolVersion });
  const packets = [];
  let closed = false;
  const c = {
    sock,
    packets,
    get closed() { return closed; },
    send(packet) { if (!closed) sock.write(mqttPacket.generate(packet, { protocolVersion })); },
    // Bytes as they are, for what mqtt-packet refuses to build.
    sendBytes(bytes) { if (!closed) sock.write(Buffer.from(bytes)); },
    // The first packet from index `from` on that satisfies pred, or null after timeoutMs.
    async next(pred, timeoutMs = 3000, from = 0) {
      await until(() => closed || packets.slice(from).some(pred), timeoutMs);
      return packets.slice(from).find(pred) ?? null;
    },
    // The packets from index `from` on that satisfy pred, once there are n of them (or timeout).
    async some(pred, n, timeoutMs = 3000, from = 0) {
      await until(() => closed || packets.slice(from).filter(pred).length >= n, timeoutMs);
      return packets.slice(from).filter(pred);
    },
    async waitClosed(timeoutMs = 3000) { return until(() => closed, timeoutMs); },
    close() { sock.destroy(); },
  };
  parser.on('packet', (p) => {
    packets.push(p);
    if (p.cmd === 'pubrec' && ackOwn) c.send({ cmd: 'pubrel', messageId: p.messageId });
    if (p.cmd === 'pubrel') c.send({ cmd: 'pubcomp', messageId: p.messageId });
    if (p.cmd === 'publish' && ackIncoming && p.qos === 1) c.send({ cmd: 'puback', messageId: p.messageId });
    if (p.cmd === 'publish' && ackIncoming && p.qos === 2) c.send({ cmd: 'pubrec', messageId: p.messageId });
  });
  parser.on('error', (e) => packets.push({ cmd: 'parse-error', error: e.message }));
  sock.on('data', (d) => parser.parse(d));
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  return c;
}

// A CONNACK's return code (MQTT 3.1.1) or reason code (MQTT 5).
const rcOf = (connack) => connack?.returnCode ?? connack?.reasonCode;

// Sends CONNECT on a raw client; returns the CONNACK, or null if the connection closed (or
// 3 s passed) without one.
export async function rawConnect(c, protocolVersion, fields = {}) {
  const from = c.packets.length;
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clean: true, keepalive: 0, clientId: '', ...fields });
  return c.next((p) => p.cmd === 'connack', 3000, from);
}

// The clients of one test, MQTT.js or raw, all ended by done() (before the broker stops).
export function clientsOf(b) {
  const mqttClients = [];
  const raws = [];
  return {
    // An MQTT.js client (MQTT 5 unless told otherwise) whose messages are collected from the
    // start, so those that follow the CONNACK at once are not missed. Returns { c, got, connack }.
    async open(opts = {}) {
      const c = b.mqtt.connect(b.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      mqttClients.push(c);
      const got = collect(c);
      const connack = await new Promise((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      return { c, got, connack };
    },
    // A raw client, not yet connected.
    async raw(protocolVersion, clientOpts = {}) {
      const c = await rawClient(b.port, protocolVersion, clientOpts);
      raws.push(c);
      return c;
    },
    // A raw client after a successful CONNACK (throws otherwise); connack in .connack.
    async rawSession(protocolVersion, fields = {}, clientOpts = {}) {
      const c = await this.raw(protocolVersion, clientOpts);
      c.connack = await rawConnect(c, protocolVersion, fields);
      if (rcOf(c.connack) !== 0) throw new Error(`CONNACK ${JSON.stringify(c.connack)}`);
      return c;
    },
    async done() {
      raws.forEach((c) => c.close());
      await Promise.all(mqttClients.map((c) => c.endAsync(true).catch(() => {})));
    },
  };
}

// Runs body(b, k) with a broker started with `options` and k = clientsOf(b); ends the clients
// and checks the broker's clean exit whatever happens.
export async function withBroker(options, body) {
  const b = await startBroker(options);
  const k = clientsOf(b);
  try {
    await body(b, k);
  } finally {
    await k.done();
    assert.equal(await b.stop(), 0);
  }
}

// Subscribes an MQTT.js client; resolves to the SUBACK's codes (failures included, which
// subscribeAsync would turn into a rejection).
export function subscribeCodes(c, filters, opts) {
  return new Promise((resolve) => c.subscribe(filters, opts, (err, granted) => {
    if (!err) resolve(granted.map((g) => g.qos));
    else resolve(err.packet?.granted ?? [err.code]);
  }));
}

// Seconds from `start` until pred() holds (polled every 20 ms), or null after timeoutMs.
export async function secondsUntil(pred, start, timeoutMs) {
  const ok = await until(pred, timeoutMs);
  return ok ? (Date.now() - start) / 1000 : null;
}

// The cases client_test.py and client_test5.py share, for protocol version V (4: MQTT 3.1.1,
// 5: MQTT 5.0), each run in withBroker. Normative statements are cited as (3.1.1 / 5.0).
export const sharedCases = {
  // test_basic: QoS 0/1/2 to oneself; a second CONNECT and a wrong protocol name are refused.
  async basic(V, k) {
    const first = await k.open({ protocolVersion: V, clientId: 'myclientid' });
    await first.c.endAsync();
    const { c, got, connack } = await k.open({ protocolVersion: V, clientId: 'myclientid' });
    assert.equal(rcOf(connack), 0);
    assert.equal(connack.sessionPresent, false); // clean: [MQTT-3.2.2-1] / [MQTT-3.2.2-2]
    await c.subscribeAsync(topics[0], { qos: 2 });
    await c.publishAsync(topics[0], 'qos 0', { qos: 0 });
    await c.publishAsync(topics[0], 'qos 1', { qos: 1 });
    await c.publishAsync(topics[0], 'qos 2', { qos: 2 });
    assert.ok(await until(() => got.length >= 3), `${got.length} of 3 arrived`);
    await sleep(300);
    assert.deepEqual(got.map((m) => `${m.payload}@${m.packet.qos}`), ['qos 0@0', 'qos 1@1', 'qos 2@2']);
    await c.endAsync();

    // "should fail - second connect on socket": the Server MUST treat a second CONNECT as a
    // protocol violation and close the connection [MQTT-3.1.0-2]; MQTT 5 may say 0x82 first.
    const twice = await k.raw(V);
    assert.equal(rcOf(await rawConnect(twice, V, { clientId: 'myclientid' })), 0);
    const from = twice.packets.length;
    twice.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: V, clean: true, keepalive: 0, clientId: 'myclientid' });
    assert.ok(await twice.waitClosed(), 'the connection stayed open after a second CONNECT');
    const after = twice.packets.slice(from);
    assert.ok(after.every((p) => V === 5 && p.cmd === 'disconnect' && p.reasonCode === 0x82), JSON.stringify(after));

    // "should fail - wrong protocol name": the Server MAY close the connection, or go on under
    // another specification, not this one [MQTT-3.1.2-1]. The suite's client fails unless it
    // reads a successful CONNACK.
    const hj = await k.raw(V);
    const refused = await rawConnect(hj, V, { protocolId: 'hj', clientId: 'myclientid' });
    assert.ok(!refused || rcOf(refused) !== 0, `a CONNECT with protocol name "hj" got ${JSON.stringify(refused)}`);
    assert.ok(await hj.waitClosed(), 'the connection stayed open after a wrong protocol name');
  },

  // test_offline_message_queueing: `subscriber` is how the first connection keeps its session.
  async offlineQueueing(V, k, t, subscriber) {
    const a = await k.open({ protocolVersion: V, clientId: 'myclientid', ...subscriber });
    await a.c.subscribeAsync(wildtopics[5], { qos: 2 });
    await a.c.endAsync();

    const pub = await k.open({ protocolVersion: V, clientId: 'myclientid2', clean: true });
    assert.equal(pub.connack.sessionPresent, false);
    await pub.c.publishAsync(topics[1], 'qos 0', { qos: 0 });
    await pub.c.publishAsync(topics[2], 'qos 1', { qos: 1 });
    await pub.c.publishAsync(topics[3], 'qos 2', { qos: 2 });
    await pub.c.endAsync();

    const back = await k.open({ protocolVersion: V, clientId: 'myclientid', clean: false });
    assert.equal(back.connack.sessionPresent, true); // [MQTT-3.2.2-2] / [MQTT-3.2.2-3]
    assert.ok(await until(() => back.got.length >= 2), `${back.got.length} queued messages arrived`);
    await sleep(1000);
    // QoS 1 and 2 MUST be kept for the session ([MQTT-3.1.2-5] / 3.1.2.4), QoS 0 MAY be.
    const payloads = back.got.map((m) => m.payload);
    assert.ok([2, 3].includes(payloads.length), JSON.stringify(payloads));
    assert.ok(payloads.includes('qos 1') && payloads.includes('qos 2'), JSON.stringify(payloads));
    t.diagnostic(`this broker ${payloads.length === 3 ? 'queues' : 'does not queue'} QoS 0 messages for offline clients`);
  },

  // test_overlapping_subscriptions: one copy at the highest QoS, or one copy per subscription.
  async overlapping(V, k, t) {
    const { c, got } = await k.open({ protocolVersion: V, clientId: 'myclientid' });
    await c.subscribeAsync({ [wildtopics[6]]: { qos: 2 }, [wildtopics[0]]: { qos: 1 } });
    await c.publishAsync(topics[3], 'overlapping topic filters', { qos: 2 });
    assert.ok(await until(() => got.length >= 1));
    await sleep(1000);
    // Delivered respecting the maximum QoS of all matching subscriptions ([MQTT-3.3.5-1] /
    // [MQTT-3.3.4-2]).
    const qos = got.map((m) => m.packet.qos).sort();
    const ok = got.length === 1 ? qos[0] === 2 : got.length === 2 && qos.join() === '1,2';
    if (!ok && isMosquitto) return t.diagnostic(`mosquitto sent QoS ${qos}: the suite fails it`);
    assert.ok(ok, JSON.stringify(qos));
  },

  // test_keepalive: a client that sends nothing (the suite's client never pings; MQTT.js would,
  // so this one is raw) is cut off, and its will published.
  async keepalive(V, k, t) {
    const sub = await k.open({ protocolVersion: V, clientId: 'myclientid2', clean: true, keepalive: 0 });
    await sub.c.subscribeAsync(topics[4], { qos: 2 });
    const a = await k.raw(V);
    const connack = await rawConnect(a, V, {
      clientId: 'myclientid', keepalive: 5, will: { topic: topics[4], payload: Buffer.from('keepalive expiry'), qos: 2, retain: false },
    });
    assert.equal(rcOf(connack), 0);
    const start = Date.now();
    // Not in the suite: four more silent clients with keep alive 2, connected a quarter of a
    // second apart, so that whatever the phase of a once-a-second check in the broker, one of
    // them would be closed late by it. Each closing time is from its CONNACK.
    const silent = [];
    for (let i = 0; i < 4; ++i) {
      const c = await k.raw(V);
      assert.equal(rcOf(await rawConnect(c, V, { clientId: `silent${i}`, keepalive: 2 })), 0);
      const from = Date.now();
      silent.push(secondsUntil(() => c.closed, from, 10000));
      await sleep(250);
    }
    const took = await secondsUntil(() => sub.got.length >= 1, start, 15000);
    assert.ok(took !== null, 'no will message within 15 s'); // the suite's bound
    // Closed once nothing came for 1.5 x the keep alive ([MQTT-3.1.2-24] / [MQTT-3.1.2-22]), not
    // before the keep alive the client may stay silent (3.1.2.10), and not later than 1.5 x it
    // and half a second (timers on a busy machine): Roost checked once a second, up to 1 s late.
    const closed = await Promise.all(silent);
    if (isMosquitto) {
      t.diagnostic(`mosquitto published the will after ${took} s, closed keep alive 2 after ${closed} s`);
    } else {
      assert.ok(took >= 5 && took <= 8, `will after ${took} s`);
      for (const s of closed) assert.ok(s !== null && s >= 2 && s <= 3.5, `keep alive 2: closed after ${closed} s`);
    }
    assert.ok(a.closed, 'the broker did not close the silent connection');
    const bye = a.packets.find((p) => p.cmd === 'disconnect');
    if (bye) assert.equal(bye.reasonCode, 0x8d); // MQTT 5: Keep Alive timeout, if it says why
    await sleep(300);
    assert.deepEqual(sub.got.map((m) => `${m.topic}|${m.payload}`), ['/TopicA|keepalive expiry']);
  },

  // test_redelivery_on_reconnect: the suite's client, paused, acknowledges its own publishes but
  // not what it receives; after it reconnects (with `fields` keeping its session) both come again.
  async redelivery(V, k, fields) {
    const paused = await k.raw(V, { ackIncoming: false });
    assert.equal(rcOf(await rawConnect(paused, V, { clientId: 'myclientid2', clean: false, ...fields })), 0);
    paused.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: wildtopics[6], qos: 2 }] });
    assert.ok(await paused.next((p) => p.cmd === 'suback'));
    paused.send({ cmd: 'publish', topic: topics[1], payload: Buffer.alloc(0), qos: 1, messageId: 2 });
    paused.send({ cmd: 'publish', topic: topics[3], payload: Buffer.alloc(0), qos: 2, messageId: 3 });
    assert.ok(await paused.next((p) => p.cmd === 'puback' && p.messageId === 2));
    assert.ok(await paused.next((p) => p.cmd === 'pubcomp' && p.messageId === 3));
    const first = await paused.some((p) => p.cmd === 'publish', 2);
    assert.equal(first.length, 2, 'the broker did not send the two messages');
    paused.send({ cmd: 'disconnect' });
    assert.ok(await paused.waitClosed());

    const back = await k.open({ protocolVersion: V, clientId: 'myclientid2', clean: false, ...fields });
    assert.equal(back.connack.sessionPresent, true);
    assert.ok(await until(() => back.got.length >= 2), `${back.got.length} of 2 sent again`);
    await sleep(500);
    // Sent again with their original packet ids [MQTT-4.4.0-1], DUP set [MQTT-3.3.1-1].
    assert.deepEqual(back.got.map((m) => `${m.topic}|${m.packet.qos}|${m.packet.dup}`).sort(),
      ['TopicA/B|1|true', 'TopicA/C|2|true']);
    const ids = Object.fromEntries(first.map((p) => [p.topic, p.messageId]));
    for (const m of back.got) assert.equal(m.packet.messageId, ids[m.topic], `${m.topic}: another packet id`);
  },

  // test_subscribe_failure: the broker under test refuses `filter` (the suite's -n option).
  async subscribeFailure(V, filter) {
    const refuse = nosubscribeBroker(filter);
    try {
      await withBroker(refuse.options, async (b, k) => {
        const { c } = await k.open({ protocolVersion: V, clientId: 'myclientid' });
        // The suite asserts 0x80; in MQTT 5 any code of 0x80 or above refuses (3.9.3), and the
        // rule here answers 0x80.
        assert.deepEqual(await subscribeCodes(c, filter, { qos: 2 }), [0x80]);
        assert.deepEqual(await subscribeCodes(c, topics[0], { qos: 2 }), [2]); // the connection goes on
      });
    } finally {
      refuse.done();
    }
  },

  // test_dollar_topics: a filter starting with a wildcard does not match a topic starting with $
  // [MQTT-4.7.2-1]. A broker may refuse PUBLISHes to $ topics (the suite says so): not asserted.
  async dollarTopics(V, k) {
    const { c, got } = await k.open({ protocolVersion: V, clientId: 'myclientid2', clean: true, keepalive: 0 });
    await c.subscribeAsync(wildtopics[5], { qos: 2 });
    await sleep(500);
    got.length = 0;
    c.publish(`$${topics[1]}`, '', { qos: 1 }, () => {});
    await sleep(1000);
    assert.deepEqual(got, []);
  },

  // test_unsubscribe: messages stop for the filter unsubscribed, not for the others.
  async unsubscribe(V, k) {
    const sub = await k.open({ protocolVersion: V, clientId: 'myclientid2', clean: true });
    for (const t of topics.slice(0, 3)) await sub.c.subscribeAsync(t, { qos: 2 });
    await sub.c.unsubscribeAsync(topics[0]);
    sub.got.length = 0;
    const pub = await k.open({ protocolVersion: V, clientId: 'myclientid', clean: true });
    await pub.c.publishAsync(topics[0], 'topic 0 - unsubscribed', { qos: 1 });
    await pub.c.publishAsync(topics[1], 'topic 1', { qos: 1 });
    await pub.c.publishAsync(topics[2], 'topic 2', { qos: 1 });
    assert.ok(await until(() => sub.got.length >= 2));
    await sleep(1000);
    assert.deepEqual(sub.got.map((m) => m.payload), ['topic 1', 'topic 2']);
  },
};
