// 10 topic aliases (MQTT 5 3.3.2.3.4): client-to-broker aliases, and broker-to-client aliases
// when the client announces a Topic Alias Maximum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, roostOnly } from './harness.mjs';

test('a client publishes with a topic alias; the subscriber sees the full topic', async () => {
  const b = await startBroker();
  try {
    const sub = await b.client();
    const got = collect(sub);
    await sub.subscribeAsync('alias/#', { qos: 1 });
    // The alias is given per publish: an empty topic means "the topic alias 1 stands for".
    const pub = await b.client();
    await pub.publishAsync('alias/a', 'one', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('', 'two', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('alias/b', 'three', { qos: 1, properties: { topicAlias: 1 } }); // re-map 1
    await pub.publishAsync('', 'four', { qos: 1, properties: { topicAlias: 1 } });
    assert.ok(await until(() => got.length >= 4));
    assert.deepEqual(got.map((m) => `${m.topic}|${m.payload}`),
      ['alias/a|one', 'alias/a|two', 'alias/b|three', 'alias/b|four']);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('the CONNACK announces the Topic Alias Maximum the broker accepts', async () => {
  const b = await startBroker({ limits: ['topic_alias_maximum = 8'], mosquitto: ['max_topic_alias 8'] });
  try {
    const { connack } = await b.connect();
    assert.equal(connack.properties?.topicAliasMaximum, 8);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('broker-to-client aliases when the client announces topicAliasMaximum', async (t) => {
  if (roostOnly(t)) return; // mosquitto 2.0 never sends topic aliases
  const b = await startBroker();
  try {
    const sub = await b.client({ properties: { topicAliasMaximum: 4 } });
    const raw = [];
    sub.on('packetreceive', (p) => { if (p.cmd === 'publish') raw.push({ topic: p.topic, alias: p.properties?.topicAlias }); });
    const got = collect(sub);
    await sub.subscribeAsync('down/#', { qos: 1 });
    const pub = await b.client();
    for (let i = 0; i < 3; ++i) await pub.publishAsync('down/alias/topic/that/is/long', `m${i}`, { qos: 1 });
    assert.ok(await until(() => got.length >= 3));
    // Every message still arrives with its topic (MQTT.js resolves the alias)...
    assert.deepEqual(got.map((m) => m.topic), Array(3).fill('down/alias/topic/that/is/long'));
    // ...and on the wire the broker used an alias, leaving the topic empty after the first.
    assert.ok(raw.every((p) => p.alias >= 1 && p.alias <= 4), JSON.stringify(raw));
    assert.ok(raw.slice(1).some((p) => p.topic === ''), JSON.stringify(raw));
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('no broker-to-client aliases when the client does not announce a maximum', async () => {
  const b = await startBroker();
  try {
    const sub = await b.client();
    const raw = [];
    sub.on('packetreceive', (p) => { if (p.cmd === 'publish') raw.push(p.properties?.topicAlias); });
    await sub.subscribeAsync('noalias/#', { qos: 0 });
    const pub = await b.client();
    for (let i = 0; i < 3; ++i) await pub.publishAsync('noalias/t', `m${i}`, { qos: 1 });
    assert.ok(await until(() => raw.length >= 3));
    assert.ok(raw.every((a) => a === undefined));
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
