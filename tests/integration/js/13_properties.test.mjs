// 13 PUBLISH properties: subscription identifiers (MQTT 5 3.8.2.1.2), request/response
// (4.10), user properties passed through in order (3.3.2.3.7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep, roostOnly } from './harness.mjs';

const ids = (p) => [].concat(p.properties?.subscriptionIdentifier ?? []).sort((a, b) => a - b);

test('a delivered message carries the subscription identifier', async () => {
  const b = await startBroker();
  try {
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('sid/one', { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await s.subscribeAsync('sid/none', { qos: 1 });
    const pub = await b.client();
    await pub.publishAsync('sid/one', 'a', { qos: 1 });
    await pub.publishAsync('sid/none', 'b', { qos: 1 });
    assert.ok(await until(() => got.length >= 2));
    assert.deepEqual(ids(got[0].packet), [42]);
    assert.deepEqual(ids(got[1].packet), []);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('overlapping subscriptions: one copy with both identifiers at the highest granted QoS', async (t) => {
  if (roostOnly(t)) return; // mosquitto 2.0 sends one copy per subscription (also allowed by 3.3.4)
  const b = await startBroker();
  try {
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('ovl/a', { qos: 0, properties: { subscriptionIdentifier: 5 } });
    await s.subscribeAsync('ovl/#', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    const pub = await b.client();
    await pub.publishAsync('ovl/a', 'x', { qos: 2 });
    assert.ok(await until(() => got.length >= 1));
    await sleep(500);
    assert.equal(got.length, 1, 'exactly one copy');
    assert.deepEqual(ids(got[0].packet), [5, 7]);
    assert.equal(got[0].packet.qos, 1);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('request/response: response topic and correlation data pass through', async () => {
  const b = await startBroker();
  try {
    const responder = await b.client();
    await responder.subscribeAsync('svc/request', { qos: 1 });
    responder.on('message', (topic, payload, packet) => {
      responder.publish(packet.properties.responseTopic, `re:${payload}`, {
        qos: 1, properties: { correlationData: packet.properties.correlationData },
      });
    });
    const requester = await b.client();
    const got = collect(requester);
    await requester.subscribeAsync('svc/reply/me', { qos: 1 });
    const corr = Buffer.from([0, 1, 2, 255, 254]);
    await requester.publishAsync('svc/request', 'ping', {
      qos: 1, properties: { responseTopic: 'svc/reply/me', correlationData: corr },
    });
    assert.ok(await until(() => got.length >= 1));
    assert.equal(got[0].topic, 'svc/reply/me');
    assert.equal(got[0].payload, 're:ping');
    assert.deepEqual(Buffer.from(got[0].packet.properties.correlationData), corr);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('user properties, content type and payload format pass through in order', async () => {
  const b = await startBroker();
  try {
    const s = await b.client();
    const got = collect(s);
    const order = [];
    s.on('packetreceive', (p) => { if (p.cmd === 'publish') order.push(p.properties?.userProperties); });
    await s.subscribeAsync('up/t', { qos: 1 });
    const pub = await b.client();
    const userProperties = { zeta: '1', alpha: ['2', '3'], mid: 'x y' };
    await pub.publishAsync('up/t', 'p', {
      qos: 1, properties: { userProperties, contentType: 'text/plain', payloadFormatIndicator: true },
    });
    assert.ok(await until(() => got.length >= 1));
    const props = got[0].packet.properties;
    assert.deepEqual({ ...props.userProperties }, userProperties);
    assert.deepEqual(Object.keys(props.userProperties), ['zeta', 'alpha', 'mid']);
    assert.equal(props.contentType, 'text/plain');
    assert.equal(props.payloadFormatIndicator, true);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
