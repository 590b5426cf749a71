// The Eclipse Paho interoperability suite for MQTT 5 (eclipse/paho.mqtt.testing,
// interoperability/client_test5.py), ported to MQTT.js and raw packets, one broker per case.
// Each case keeps the suite's assertions; where the suite is looser than the specification the
// spec's statement is checked too and cited ([MQTT-x.y.z-n] or a section, MQTT 5.0); where the
// suite relies on what the spec leaves to the broker, the comment says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until, sleep, isMosquitto, roostOnly } from './harness.mjs';
import { topics, wildtopics, withBroker, rawConnect, secondsUntil, sharedCases } from './interop_common.mjs';

const V = 5;
const userProps = { a: '2', c: '3' }; // the suite's [("a", "2"), ("c", "3")], in that order
const props = (m) => m.packet.properties ?? {};
// User properties as the ordered list of pairs the suite compares.
const userPropList = (m) => Object.entries(props(m).userProperties ?? {});

// The suite's clients a and b, both subscribed to TopicA with No Local.
async function twoNoLocal(k) {
  const pair = [await k.open({ clientId: 'myclientid', clean: true }), await k.open({ clientId: 'myclientid2', clean: true })];
  for (const { c } of pair) await c.subscribeAsync(topics[0], { qos: 2, nl: true });
  return pair;
}

test('basic: QoS 0/1/2 to oneself; a second CONNECT and a wrong protocol name are refused', async () => {
  await withBroker({}, (b, k) => sharedCases.basic(V, k));
});

test('retained messages keep their user properties, at each QoS', async () => {
  await withBroker({}, async (b, k) => {
    const { c, got } = await k.open({ clientId: 'myclientid', clean: true });
    const properties = { userProperties: userProps };
    await c.publishAsync(topics[1], 'qos 0', { qos: 0, retain: true, properties });
    await c.publishAsync(topics[2], 'qos 1', { qos: 1, retain: true, properties });
    await c.publishAsync(topics[3], 'qos 2', { qos: 2, retain: true, properties });
    await sleep(300);
    await c.subscribeAsync(wildtopics[5], { qos: 2 });
    assert.ok(await until(() => got.length >= 3), `${got.length} of 3 retained messages arrived`);
    await sleep(500);
    assert.equal(got.length, 3);
    // The suite accepts either order of the two properties; the Server MUST keep their order
    // [MQTT-3.3.2-18] and forward them unaltered [MQTT-3.3.2-17].
    for (const m of got) assert.deepEqual(userPropList(m), [['a', '2'], ['c', '3']], m.topic);
    assert.deepEqual(got.map((m) => m.packet.qos).sort(), [0, 1, 2]);
    assert.ok(got.every((m) => m.packet.retain), 'a retained message sent at subscribe without RETAIN');
  });
});

test('will message with user properties, published when the keep alive runs out', async () => {
  await withBroker({}, async (b, k) => {
    // The suite's client sends no PINGREQ: the broker must close it after 1.5 x 2 s.
    const a = await k.raw(V);
    const connack = await rawConnect(a, V, {
      clientId: 'myclientid', keepalive: 2,
      will: { topic: topics[2], payload: Buffer.from('will message'), qos: 2, retain: false,
        properties: { willDelayInterval: 0, userProperties: userProps } },
    });
    assert.equal(connack?.reasonCode, 0);
    const sub = await k.open({ clientId: 'myclientid2', clean: false });
    await sub.c.subscribeAsync(topics[2], { qos: 2 });
    assert.ok(await until(() => sub.got.length >= 1, 10000), 'no will message within 10 s');
    await sleep(300);
    assert.equal(sub.got.length, 1);
    assert.equal(sub.got[0].payload, 'will message');
    assert.deepEqual(userPropList(sub.got[0]), [['a', '2'], ['c', '3']]); // the suite: this order
  });
});

test('zero length client id: accepted with clean start 0 and 1, and an id assigned', async (t) => {
  await withBroker({}, async (b, k) => {
    // The spec lets a Server refuse a zero-length id (0x85); the suite expects it accepted, and
    // then the Server assigns an id and returns it in the CONNACK [MQTT-3.1.3-6], [MQTT-3.1.3-7].
    for (const clean of [false, true]) {
      const c = await k.raw(V);
      // mqtt-packet will not build the first: MQTT, level 5, flags 0 (clean start 0), keep alive
      // 0, no properties, a zero-length client id.
      const connack = clean ? await rawConnect(c, V, { clientId: '', clean })
        : (c.sendBytes([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0, 0, 0, 0, 0, 0]), await c.next((p) => p.cmd === 'connack'));
      if (isMosquitto && connack?.reasonCode === 0x85) {
        t.diagnostic(`mosquitto refuses a zero-length id with clean start ${clean ? 1 : 0}`);
        continue;
      }
      assert.equal(connack?.reasonCode, 0, `clean start ${clean}: ${JSON.stringify(connack)}`);
      assert.equal(connack.sessionPresent, false);
      assert.ok(connack.properties?.assignedClientIdentifier, 'no Assigned Client Identifier');
      c.send({ cmd: 'disconnect' });
      assert.ok(await c.waitClosed());
    }
  });
});

test('offline message queueing: QoS 1 and 2 kept for a session that outlives its connection', async (t) => {
  await withBroker({}, (b, k) => sharedCases.offlineQueueing(V, k, t, { clean: true, properties: { sessionExpiryInterval: 99999 } }));
});

test('overlapping subscriptions: one copy at the highest QoS, or one copy per subscription', async (t) => {
  await withBroker({}, (b, k) => sharedCases.overlapping(V, k, t));
});

test('keepalive: a silent client is cut off within 1.5 x its keep alive and its will published', async (t) => {
  await withBroker({}, (b, k) => sharedCases.keepalive(V, k, t));
});

test('redelivery on reconnect: unacknowledged QoS 1 and 2 PUBLISHes are sent again', async () => {
  await withBroker({}, (b, k) => sharedCases.redelivery(V, k, { properties: { sessionExpiryInterval: 99999 } }));
});

test('subscribe failure: a refused subscription gets reason code 0x80', async (t) => {
  if (roostOnly(t)) return; // the refusal is a rule of the broker under test (the suite's -n)
  await sharedCases.subscribeFailure(V, 'test/nosubscribe');
});

test('$ topics: a filter starting with a wildcard does not match a topic starting with $', async () => {
  await withBroker({}, (b, k) => sharedCases.dollarTopics(V, k));
});

test('unsubscribe: messages stop for the filter unsubscribed, not for the others', async () => {
  await withBroker({}, (b, k) => sharedCases.unsubscribe(V, k));
});

test('session expiry: 0 ends the session at once, N keeps it N s, DISCONNECT may change N', async () => {
  await withBroker({}, async (b, k) => {
    // One connection of the suite's sequence: CONNECT, Session Present checked, a subscription
    // made when it starts clean, DISCONNECT (with a Session Expiry Interval when `bye` says
    // one), then `then` ms of waiting.
    const step = async (clean, sessionExpiryInterval, present, { bye, then = 0 } = {}) => {
      const { c, connack } = await k.open({ clientId: 'myclientid', clean, properties: { sessionExpiryInterval } });
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.sessionPresent, present, `clean ${clean}, expiry ${sessionExpiryInterval}`);
      if (clean) await c.subscribeAsync(topics[0], { qos: 2 });
      await c.endAsync(false, bye === undefined ? {} : { properties: { sessionExpiryInterval: bye } });
      await sleep(then);
    };
    await step(true, 0, false);
    await step(false, 0, false); // "session should immediately expire"
    await step(true, 5, false, { then: 2000 });
    await step(false, 5, true, { then: 6000 }); // "session should still exist"
    await step(false, 5, false); // "session should not exist"
    // The DISCONNECT's Session Expiry Interval replaces the CONNECT's (3.14.2.2.2).
    await step(true, 1, false, { bye: 5, then: 3000 });
    await step(false, 1, true, { bye: 0 }); // "session should still exist"
    await step(false, 1, false); // "session should immediately expire"
  });
});

test('user properties pass through at each QoS, in order', async () => {
  await withBroker({}, async (b, k) => {
    const { c, got } = await k.open({ clientId: 'myclientid', clean: true });
    await c.subscribeAsync(topics[0], { qos: 2 });
    for (const qos of [0, 1, 2]) await c.publishAsync(topics[0], '', { qos, properties: { userProperties: userProps } });
    assert.ok(await until(() => got.length >= 3), `${got.length} of 3 arrived`);
    await sleep(300);
    assert.equal(got.length, 3);
    // The suite accepts either order; [MQTT-3.3.2-18] says the order is kept.
    for (const m of got) assert.deepEqual(userPropList(m), [['a', '2'], ['c', '3']]);
    assert.deepEqual(got.map((m) => m.packet.qos).sort(), [0, 1, 2]);
  });
});

test('payload format indicator and content type pass through at each QoS', async () => {
  await withBroker({}, async (b, k) => {
    const { c, got } = await k.open({ clientId: 'myclientid', clean: true });
    await c.subscribeAsync(topics[0], { qos: 2 });
    const properties = { payloadFormatIndicator: true, contentType: 'My name' };
    for (const qos of [0, 1, 2]) await c.publishAsync(topics[0], '', { qos, properties });
    assert.ok(await until(() => got.length >= 3), `${got.length} of 3 arrived`);
    await sleep(300);
    assert.equal(got.length, 3);
    for (const m of got) {
      assert.equal(props(m).contentType, 'My name'); // [MQTT-3.3.2-20]
      assert.equal(props(m).payloadFormatIndicator, true); // [MQTT-3.3.2-4]
    }
    assert.deepEqual(got.map((m) => m.packet.qos).sort(), [0, 1, 2]);
  });
});

test('publication expiry: expired messages are dropped, the others sent with the time left', async () => {
  await withBroker({}, async (b, k) => {
    const sub = await k.open({ clientId: 'myclientid2', clean: true, properties: { sessionExpiryInterval: 99999 } });
    await sub.c.subscribeAsync(topics[0], { qos: 2 });
    await sub.c.endAsync(false, { properties: { sessionExpiryInterval: 999999999 } });

    const pub = await k.open({ clientId: 'myclientid', clean: true });
    await pub.c.publishAsync(topics[0], 'qos 1 - expire', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.c.publishAsync(topics[0], 'qos 2 - expire', { qos: 2, properties: { messageExpiryInterval: 1 } });
    await pub.c.publishAsync(topics[0], "qos 1 - don't expire", { qos: 1, properties: { messageExpiryInterval: 6 } });
    await pub.c.publishAsync(topics[0], "qos 2 - don't expire", { qos: 2, properties: { messageExpiryInterval: 6 } });
    const published = Date.now();
    await sleep(3000);
    const back = await k.open({ clientId: 'myclientid2', clean: false });
    assert.ok(await until(() => back.got.length >= 2));
    await sleep(1000);
    // [MQTT-3.3.2-5]: an expired message is not published to the subscriber.
    assert.deepEqual(back.got.map((m) => m.payload), ["qos 1 - don't expire", "qos 2 - don't expire"]);
    // The suite asserts < 6; [MQTT-3.3.2-6] says 6 minus the time the message waited (3 s+).
    const waited = (Date.now() - published) / 1000;
    for (const m of back.got) {
      const left = props(m).messageExpiryInterval;
      assert.ok(left < 6 && left <= Math.ceil(6 - 3) && left >= 1, `expiry ${left} after ${waited} s`);
    }
  });
});

test('subscribe options: no local, retain as published, retain handling 0, 1 and 2', async () => {
  await withBroker({}, async (b, k) => {
    // No local [MQTT-3.8.3-3]: not sent back to the connection that published it.
    const [nl, bb] = await twoNoLocal(k);
    await nl.c.publishAsync(topics[0], 'noLocal test', { qos: 1 });
    assert.ok(await until(() => bb.got.length >= 1));
    await sleep(1000);
    assert.deepEqual(nl.got, []);
    assert.equal(bb.got.length, 1);
    await nl.c.endAsync();
    await bb.c.endAsync();

    // Retain as published [MQTT-3.3.1-13]: the RETAIN flag as the publisher set it.
    let a = await k.open({ clientId: 'myclientid', clean: true });
    await a.c.subscribeAsync(topics[0], { qos: 2, rap: true });
    await a.c.publishAsync(topics[0], 'retain as published false', { qos: 1, retain: false });
    await a.c.publishAsync(topics[0], 'retain as published true', { qos: 1, retain: true });
    assert.ok(await until(() => a.got.length >= 2));
    await sleep(1000);
    assert.deepEqual(a.got.map((m) => `${m.payload}|${m.packet.retain}`),
      ['retain as published false|false', 'retain as published true|true']);
    await a.c.endAsync();

    // Retain handling: the retained messages a SUBSCRIBE of +/+ brings, by their QoS.
    const retainedFor = async (rh, expected) => {
      a.got.length = 0;
      await a.c.subscribeAsync(wildtopics[5], { qos: 2, rh });
      if (expected) await until(() => a.got.length >= expected);
      await sleep(1000);
      return a.got.map((m) => m.packet.qos).sort();
    };
    // 1 [MQTT-3.3.1-10]: only when the subscription is new.
    a = await k.open({ clientId: 'myclientid', clean: true });
    await a.c.publishAsync(topics[1], 'qos 0', { qos: 0, retain: true });
    await a.c.publishAsync(topics[2], 'qos 1', { qos: 1, retain: true });
    await a.c.publishAsync(topics[3], 'qos 2', { qos: 2, retain: true });
    await sleep(300);
    assert.deepEqual(await retainedFor(1, 3), [0, 1, 2]);
    assert.deepEqual(await retainedFor(1), []);
    await a.c.endAsync();
    // 2 [MQTT-3.3.1-11]: never at subscribe.
    a = await k.open({ clientId: 'myclientid', clean: true });
    assert.deepEqual(await retainedFor(2), []);
    assert.deepEqual(await retainedFor(2), []);
    await a.c.endAsync();
    // 0 [MQTT-3.3.1-9]: at every subscribe, new or not.
    a = await k.open({ clientId: 'myclientid', clean: true });
    assert.deepEqual(await retainedFor(0, 3), [0, 1, 2]);
    assert.deepEqual(await retainedFor(0, 3), [0, 1, 2]);
  });
});

test('assigned client identifier for a zero-length client id', async () => {
  await withBroker({}, async (b, k) => {
    const c = await k.rawSession(V, { clientId: '', clean: true });
    assert.ok(c.connack.properties?.assignedClientIdentifier, 'no Assigned Client Identifier'); // [MQTT-3.2.2-16]
  });
});

test('subscription identifiers: each subscriber gets the identifiers of its matching subscriptions', async () => {
  await withBroker({}, async (b, k) => {
    const a = await k.open({ clientId: 'myclientid', clean: true });
    await a.c.subscribeAsync(topics[0], { qos: 2, properties: { subscriptionIdentifier: 456789 } });
    const bb = await k.open({ clientId: 'myclientid2', clean: true });
    await bb.c.subscribeAsync(topics[0], { qos: 2, properties: { subscriptionIdentifier: 2 } });
    await bb.c.subscribeAsync(`${topics[0]}/#`, { qos: 2, properties: { subscriptionIdentifier: 3 } });
    await bb.c.publishAsync(topics[0], 'sub identifier test', { qos: 1 });

    assert.ok(await until(() => a.got.length >= 1 && bb.got.length >= 1));
    await sleep(500);
    assert.equal(a.got.length, 1);
    assert.deepEqual([props(a.got[0]).subscriptionIdentifier].flat(), [456789]);
    const ids = bb.got.map((m) => [props(m).subscriptionIdentifier].flat().sort());
    if (isMosquitto && bb.got.length === 2) {
      // One copy per subscription is allowed, each with its own identifier [MQTT-3.3.4-5].
      assert.deepEqual(ids.flat().sort(), [2, 3]);
      return;
    }
    // The suite expects one copy with both [MQTT-3.3.4-4]; the spec also allows one copy per
    // matching subscription ([MQTT-3.3.4-5]; 3.3.4's overlapping subscriptions).
    assert.equal(bb.got.length, 1, JSON.stringify(ids));
    assert.deepEqual(ids[0], [2, 3]);
  });
});

test('request/response: response topic and correlation data reach the responder', async () => {
  await withBroker({}, async (b, k) => {
    const [a, bb] = await twoNoLocal(k);
    await a.c.publishAsync(topics[0], 'request', { qos: 1, properties: { responseTopic: topics[0], correlationData: Buffer.from('334') } });
    assert.ok(await until(() => bb.got.length >= 1));
    assert.equal(bb.got.length, 1);
    const req = props(bb.got[0]);
    assert.equal(req.responseTopic, topics[0]); // [MQTT-3.3.2-15]
    assert.equal(Buffer.from(req.correlationData).toString(), '334'); // [MQTT-3.3.2-16]
    // The responder answers on the response topic with the request's properties, as the suite does.
    await bb.c.publishAsync(req.responseTopic, 'response', { qos: 1, properties: { responseTopic: req.responseTopic, correlationData: req.correlationData } });
    assert.ok(await until(() => a.got.length >= 1));
    await sleep(500);
    assert.deepEqual(a.got.map((m) => m.payload), ['response']);
    assert.equal(Buffer.from(props(a.got[0]).correlationData).toString(), '334');
  });
});

test('client topic aliases: alias 0 refused; an alias is kept for the connection only', async () => {
  await withBroker({}, async (b, k) => {
    // A sender MUST NOT send Topic Alias 0 [MQTT-3.3.2-8]; the suite expects a DISCONNECT. The
    // spec names no code for it (0x94 Topic Alias invalid is for one above the maximum):
    // Roost says 0x94, mosquitto 0x81.
    const zero = await k.rawSession(V, { clientId: 'myclientid', clean: true });
    zero.send({ cmd: 'publish', topic: topics[0], payload: Buffer.from('topic alias 0'), qos: 1, messageId: 1, properties: { topicAlias: 0 } });
    const bye = await zero.next((p) => p.cmd === 'disconnect');
    assert.ok(bye, 'no DISCONNECT after topic alias 0'); // the suite's assertion
    assert.ok(bye.reasonCode >= 0x80, `reason 0x${bye.reasonCode.toString(16)}`);
    assert.ok(await zero.waitClosed());

    const a = await k.rawSession(V, { clientId: 'myclientid', clean: true, properties: { topicAliasMaximum: 0, sessionExpiryInterval: 99999 } });
    const max = a.connack.properties?.topicAliasMaximum ?? 0;
    if (max === 0) return; // the suite stops here for a broker that takes no aliases
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topics[0], qos: 2 }] });
    assert.ok(await a.next((p) => p.cmd === 'suback'));
    const delivered = () => a.packets.filter((p) => p.cmd === 'publish');
    a.send({ cmd: 'publish', topic: topics[0], payload: Buffer.from('topic alias 1'), qos: 1, messageId: 2, properties: { topicAlias: 1 } });
    assert.ok(await until(() => delivered().length >= 1));
    a.send({ cmd: 'publish', topic: '', payload: Buffer.from('topic alias 2'), qos: 1, messageId: 3, properties: { topicAlias: 1 } });
    assert.ok(await until(() => delivered().length >= 2), 'the message sent with the alias alone did not arrive');
    assert.deepEqual(delivered().map((p) => `${p.topic}|${p.payload}`), ['TopicA|topic alias 1', 'TopicA|topic alias 2']);
    a.send({ cmd: 'disconnect' });
    assert.ok(await a.waitClosed());

    // "should get rid of the topic aliases but not subscriptions" [MQTT-3.3.2-7].
    const again = await k.rawSession(V, { clientId: 'myclientid', clean: false });
    again.send({ cmd: 'publish', topic: topics[0], payload: Buffer.from('topic alias 3'), qos: 1, messageId: 1 });
    assert.ok(await again.next((p) => p.cmd === 'publish'), 'the subscription did not survive');
    again.send({ cmd: 'publish', topic: '', payload: Buffer.from('topic alias 4'), qos: 1, messageId: 2, properties: { topicAlias: 1 } });
    const bye2 = await again.next((p) => p.cmd === 'disconnect');
    assert.ok(bye2, 'no DISCONNECT for an alias of an earlier connection');
    // An alias with no mapping: the spec names no code; 0x82 Protocol Error or 0x94.
    assert.ok([0x82, 0x94].includes(bye2.reasonCode), `reason 0x${bye2.reasonCode.toString(16)}`);
    assert.ok(!again.packets.some((p) => p.cmd === 'publish' && `${p.payload}` === 'topic alias 4'));
  });
});

test('server topic aliases: used up to the client\'s maximum, never without one', async (t) => {
  await withBroker({}, async (b, k) => {
    // The broker's side of a PUBLISH it sends, before MQTT.js resolves the alias.
    const wire = (c) => {
      const seen = [];
      c.on('packetreceive', (p) => { if (p.cmd === 'publish') seen.push({ topic: `${p.topic}`, alias: p.properties?.topicAlias }); });
      return seen;
    };
    const run = async (connectProps) => {
      const r = await k.open({ clientId: 'myclientid', clean: true, properties: connectProps });
      const seen = wire(r.c);
      await r.c.subscribeAsync(topics[0], { qos: 2 });
      for (const qos of [0, 1, 2]) await r.c.publishAsync(topics[0], 'topic alias 1', { qos });
      assert.ok(await until(() => r.got.length >= 3));
      await sleep(300);
      // (Not the topics MQTT.js reports: 5.16 leaves a QoS 2 message that came with an alias
      // under the topic '', its own slip; the suite checks the wire, as `seen` does.)
      assert.equal(r.got.length, 3);
      await r.c.endAsync();
      return seen;
    };
    const used = await run({ topicAliasMaximum: 1 });
    // A Server MAY use topic aliases: the suite expects it to, on the first message already;
    // the spec only bounds them by the client's Topic Alias Maximum [MQTT-3.1.2-26].
    assert.ok(used.every((p) => p.alias === undefined || p.alias === 1), JSON.stringify(used));
    if (!isMosquitto) {
      assert.ok(used[0].alias > 0 && used[0].topic === topics[0], JSON.stringify(used));
      assert.deepEqual(used.slice(1), [{ topic: '', alias: used[0].alias }, { topic: '', alias: used[0].alias }]);
    } else {
      t.diagnostic('mosquitto 2.0 sends no topic aliases: the suite fails it');
    }
    // No Topic Alias Maximum (0 by default), then 0 given: no aliases [MQTT-3.1.2-27].
    for (const connectProps of [{}, { topicAliasMaximum: 0 }]) {
      const none = await run(connectProps);
      assert.ok(none.every((p) => p.alias === undefined && p.topic === topics[0]), JSON.stringify(none));
    }
  });
});

test('maximum packet size: the broker refuses larger packets and sends none larger than the client\'s', async () => {
  // The suite publishes a packet over the broker's Maximum Packet Size only when that is below
  // 65535; Roost announces 1 MiB by default, so a broker with 1 KiB stands in for that branch.
  await withBroker({ limits: ['max_packet_size = 1024'], mosquitto: ['max_packet_size 1024'] }, async (b, k) => {
    const a = await k.rawSession(V, { clientId: 'myclientid', clean: true });
    const max = a.connack.properties?.maximumPacketSize;
    assert.equal(max, 1024);
    a.send({ cmd: 'publish', topic: topics[0], payload: Buffer.alloc(max, '.'), qos: 0 });
    const bye = await a.next((p) => p.cmd === 'disconnect');
    assert.ok(bye, 'no DISCONNECT for a packet over the Maximum Packet Size');
    assert.equal(bye.reasonCode, 0x95); // "Packet too large" (3.2.2.3.6)
    assert.ok(await a.waitClosed());
  });
  await withBroker({}, async (b, k) => {
    const maximumPacketSize = 64; // what the client accepts
    const { c, got } = await k.open({ clientId: 'myclientid', clean: true, properties: { maximumPacketSize } });
    await c.subscribeAsync(topics[0], { qos: 2 });
    await c.publishAsync(topics[0], Buffer.alloc(maximumPacketSize / 2, '.'), { qos: 0 });
    assert.ok(await until(() => got.length >= 1), 'the small message did not arrive');
    // Too large to send: discarded, as if sent [MQTT-3.1.2-24], [MQTT-3.1.2-25].
    await c.publishAsync(topics[0], Buffer.alloc(maximumPacketSize, '.'), { qos: 1 });
    await sleep(1500);
    assert.equal(got.length, 1);
    // ...and the connection goes on.
    await c.publishAsync(topics[0], 'small', { qos: 1 });
    assert.ok(await until(() => got.length >= 2), 'nothing arrived after the discarded message');
  });
});

test('server keep alive: the broker answers a longer keep alive with its own', async () => {
  // The suite's broker caps keep alive at 60 s and the suite asserts exactly 60: the value is
  // the broker's choice (3.2.2.3.14), so the broker here is configured to cap at 60 too.
  await withBroker({ limits: ['max_keep_alive = 60'], mosquitto: ['max_keepalive 60'] }, async (b, k) => {
    const { connack } = await k.open({ clientId: 'myclientid', clean: true, keepalive: 120 });
    assert.equal(connack.properties?.serverKeepAlive, 60);
  });
});

test('flow control 1: no more unacknowledged QoS 1 PUBLISHes than the client\'s Receive Maximum', async () => {
  await withBroker({}, async (b, k) => {
    const receiveMaximum = 2;
    const a = await k.raw(V, { ackIncoming: false });
    assert.equal((await rawConnect(a, V, { clientId: 'myclientid', clean: true, properties: { receiveMaximum, sessionExpiryInterval: 0 } }))?.reasonCode, 0);
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topics[0], qos: 2 }] });
    assert.ok(await a.next((p) => p.cmd === 'suback'));
    for (let i = 1; i <= receiveMaximum + 1; ++i) {
      a.send({ cmd: 'publish', topic: topics[0], payload: Buffer.from(`message ${i}`), qos: 1, messageId: 100 + i });
    }
    const publishes = () => a.packets.filter((p) => p.cmd === 'publish');
    assert.ok(await until(() => publishes().length >= 2 && a.packets.filter((p) => p.cmd === 'puback').length >= 3));
    // "this should time out because we haven't acknowledged the first one" [MQTT-3.3.4-9]
    await sleep(1000);
    assert.equal(publishes().length, 2, 'more PUBLISHes in flight than the Receive Maximum');
    assert.ok(publishes().every((p) => p.qos === 1));
    a.send({ cmd: 'puback', messageId: publishes()[0].messageId });
    assert.ok(await until(() => publishes().length >= 3), 'the third PUBLISH did not follow the first PUBACK');
    assert.equal(publishes()[2].qos, 1);
    for (const p of publishes().slice(1)) a.send({ cmd: 'puback', messageId: p.messageId });
    await sleep(300);
    assert.deepEqual(publishes().map((p) => `${p.payload}`), ['message 1', 'message 2', 'message 3']);
  });
});

test('flow control 2: a client past the broker\'s Receive Maximum is disconnected with 0x93', async (t) => {
  await withBroker({}, async (b, k) => {
    // No PUBREL is sent: every QoS 2 PUBLISH stays unacknowledged on the broker's side.
    const a = await k.raw(V, { ackOwn: false });
    const connack = await rawConnect(a, V, { clientId: 'myclientid', clean: true });
    assert.equal(connack?.reasonCode, 0);
    const receiveMaximum = connack.properties?.receiveMaximum ?? 65535;
    for (let i = 1; i <= receiveMaximum + 1; ++i) {
      a.send({ cmd: 'publish', topic: topics[0], payload: Buffer.from(`message ${i}`), qos: 2, messageId: i });
    }
    const bye = await a.next((p) => p.cmd === 'disconnect', 5000);
    if (isMosquitto && !bye) return t.diagnostic('mosquitto 2.0 does not enforce its Receive Maximum: the suite fails it');
    assert.ok(bye, 'no DISCONNECT past the Receive Maximum');
    assert.equal(bye.reasonCode, 0x93); // Receive Maximum exceeded (3.2.2.3.3)
    assert.ok(await a.waitClosed());
  });
});

test('will delay: the will waits for the delay or the end of the session, whichever is first', async (t) => {
  await withBroker({}, async (b, k) => {
    const sub = await k.open({ clientId: 'myclientid2', clean: true });
    await sub.c.subscribeAsync(topics[0], { qos: 2 });
    // [will delay, session expiry, the suite's expected arrival in s (its delta is 1 s)]
    for (const [willDelayInterval, sessionExpiryInterval, expected] of [[3, 5, 4], [5, 0, 1], [5, 2, 3]]) {
      sub.got.length = 0;
      const a = await k.open({
        clientId: 'myclientid', clean: true, properties: { sessionExpiryInterval },
        will: { topic: topics[0], payload: 'test_will_delay will message', qos: 2, retain: false, properties: { willDelayInterval } },
      });
      assert.equal(a.connack.sessionPresent, false);
      await a.c.endAsync(true); // "terminate": no DISCONNECT
      const start = Date.now();
      const took = await secondsUntil(() => sub.got.length >= 1, start, 10000);
      assert.ok(took !== null, `no will (delay ${willDelayInterval}, expiry ${sessionExpiryInterval})`);
      if (isMosquitto && Math.abs(took - expected) > 1) {
        t.diagnostic(`mosquitto: will after ${took} s, the suite expects ${expected} +- 1 (2.0.11 waits for the delay after its session ended)`);
        await sleep(Math.max(0, willDelayInterval - took) * 1000 + 500);
        continue;
      }
      // The suite's window; 0.1 s more for where this test starts its clock (after its close).
      assert.ok(Math.abs(took - expected) <= 1.1, `will after ${took} s, not ${expected} +- 1`);
      // 3.1.3.2.2: not before the delay, unless the session ended first.
      assert.ok(took >= Math.min(willDelayInterval, sessionExpiryInterval) - 0.1, `will after ${took} s`);
      assert.equal(sub.got[0].topic, topics[0]);
      assert.equal(sub.got[0].payload, 'test_will_delay will message');
    }
  });
});

test('shared subscriptions: each message to one member of the group', async () => {
  await withBroker({}, async (b, k) => {
    const shared = '$share/sharename/client_test5/x';
    const a = await k.open({ clientId: 'myclientid', clean: true });
    assert.equal(a.connack.sessionPresent, false);
    await a.c.subscribeAsync({ [shared]: { qos: 2 }, [topics[0]]: { qos: 2 } });
    const bb = await k.open({ clientId: 'myclientid2', clean: true });
    assert.equal(bb.connack.sessionPresent, false);
    await bb.c.subscribeAsync({ [shared]: { qos: 2 }, [topics[0]]: { qos: 2 } });

    await bb.c.publishAsync(topics[0], 'message 0', { qos: 0 });
    assert.ok(await until(() => a.got.length >= 1 && bb.got.length >= 1));
    await sleep(1000);
    assert.equal(a.got.length, 1);
    assert.equal(bb.got.length, 1);
    a.got.length = 0;
    bb.got.length = 0;

    await bb.c.publishAsync('client_test5/x', 'message 0', { qos: 0 });
    assert.ok(await until(() => a.got.length + bb.got.length >= 1));
    await sleep(1000);
    assert.equal(a.got.length + bb.got.length, 1); // "each message should only be received once"
  });
});
