// 14 subscription options (MQTT 5 3.8.3.1): no local, retain as published, retain handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep } from './harness.mjs';

test('no local: a client does not receive its own messages', async () => {
  const b = await startBroker();
  try {
    const me = await b.client();
    const got = collect(me);
    await me.subscribeAsync('nl/t', { qos: 1, nl: true });
    await me.publishAsync('nl/t', 'mine', { qos: 1 });
    const other = await b.client();
    await other.publishAsync('nl/t', 'theirs', { qos: 1 });
    assert.ok(await until(() => got.length >= 1));
    await sleep(300);
    assert.deepEqual(got.map((m) => m.payload), ['theirs']);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('retain as published: the retain flag is kept on live delivery only with rap', async () => {
  const b = await startBroker();
  try {
    const withRap = await b.client();
    const without = await b.client();
    const gotRap = collect(withRap);
    const gotPlain = collect(without);
    await withRap.subscribeAsync('rap/t', { qos: 1, rap: true });
    await without.subscribeAsync('rap/t', { qos: 1, rap: false });
    const pub = await b.client();
    await pub.publishAsync('rap/t', 'r', { qos: 1, retain: true });
    assert.ok(await until(() => gotRap.length >= 1 && gotPlain.length >= 1));
    assert.equal(gotRap[0].packet.retain, true);
    assert.equal(gotPlain[0].packet.retain, false);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('retain handling 0: retained messages sent at every subscribe', async () => {
  const b = await startBroker();
  try {
    const pub = await b.client();
    await pub.publishAsync('rh/0', 'kept', { qos: 1, retain: true });
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('rh/0', { qos: 1, rh: 0 });
    assert.ok(await until(() => got.length >= 1));
    await s.subscribeAsync('rh/0', { qos: 1, rh: 0 });
    assert.ok(await until(() => got.length >= 2));
    assert.ok(got.every((m) => m.packet.retain));
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('retain handling 1: retained messages only when the subscription is new', async () => {
  const b = await startBroker();
  try {
    const pub = await b.client();
    await pub.publishAsync('rh/1', 'kept', { qos: 1, retain: true });
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('rh/1', { qos: 1, rh: 1 });
    assert.ok(await until(() => got.length >= 1));
    await s.subscribeAsync('rh/1', { qos: 1, rh: 1 }); // exists already: nothing
    await sleep(500);
    assert.equal(got.length, 1);
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('retain handling 2: retained messages never sent at subscribe', async () => {
  const b = await startBroker();
  try {
    const pub = await b.client();
    await pub.publishAsync('rh/2', 'kept', { qos: 1, retain: true });
    const s = await b.client();
    const got = collect(s);
    await s.subscribeAsync('rh/2', { qos: 1, rh: 2 });
    await sleep(500);
    assert.equal(got.length, 0);
    // Live messages still arrive.
    await pub.publishAsync('rh/2', 'live', { qos: 1 });
    assert.ok(await until(() => got.length >= 1));
    assert.equal(got[0].payload, 'live');
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
