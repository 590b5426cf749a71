// 11 shared subscriptions (MQTT 5 4.8.2): each message to $share/g/t goes to one member only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, collect, until, sleep } from './harness.mjs';

test('two subscribers of $share/g/t split the messages, each delivered once', async () => {
  const b = await startBroker();
  try {
    const a = await b.client();
    const c = await b.client();
    const gotA = collect(a);
    const gotC = collect(c);
    await a.subscribeAsync('$share/g/shared/t', { qos: 1 });
    await c.subscribeAsync('$share/g/shared/t', { qos: 1 });
    const plain = await b.client();
    const gotPlain = collect(plain);
    await plain.subscribeAsync('shared/t', { qos: 1 });
    const pub = await b.client();
    const n = 20;
    for (let i = 0; i < n; ++i) await pub.publishAsync('shared/t', `${i}`, { qos: 1 });
    assert.ok(await until(() => gotA.length + gotC.length >= n && gotPlain.length >= n));
    await sleep(300);
    const all = [...gotA, ...gotC].map((m) => Number(m.payload)).sort((x, y) => x - y);
    assert.deepEqual(all, [...Array(n).keys()]); // each message once across the group
    assert.ok(gotA.length > 0 && gotC.length > 0, `split ${gotA.length}/${gotC.length}`);
    assert.equal(gotPlain.length, n); // a normal subscription still gets everything
  } finally {
    assert.equal(await b.stop(), 0);
  }
});

test('two groups each get every message', async () => {
  const b = await startBroker();
  try {
    const g1 = await b.client();
    const g2 = await b.client();
    const got1 = collect(g1);
    const got2 = collect(g2);
    await g1.subscribeAsync('$share/one/groups/t', { qos: 0 });
    await g2.subscribeAsync('$share/two/groups/+', { qos: 0 });
    const pub = await b.client();
    for (let i = 0; i < 5; ++i) await pub.publishAsync('groups/t', `${i}`, { qos: 1 });
    assert.ok(await until(() => got1.length >= 5 && got2.length >= 5));
    assert.equal(got1[0].topic, 'groups/t');
  } finally {
    assert.equal(await b.stop(), 0);
  }
});
