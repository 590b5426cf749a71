// on_message through MQTT.js (MQTT 5): user properties rewritten along with the topic and payload,
// a message dropped with a reason code the publisher sees, and one dropped silently.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { sleep, startBroker, tempDir } from './lua_harness.mjs';

let broker;

before(async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'message.lua'), `
function on_message(client, msg)
  if msg.topic == "quota/x" then return false, 0x97 end
  if msg.topic == "silent/x" then return false end
  if msg.topic:find("^in/") then
    local props = {}
    for _, p in ipairs(msg.user_properties) do
      if p[1] ~= "secret" then props[#props + 1] = p end
    end
    props[#props + 1] = { "via", "lua" }
    props[#props + 1] = { "from", client.id }
    return { topic = "out/" .. msg.topic:sub(4), payload = roost.json_encode({ v = msg.payload }), user_properties = props }
  end
end
`);
  broker = await startBroker({ dir, script: path.join(dir, 'message.lua') });
});

after(async () => {
  if (broker) assert.equal(await broker.stop(), 0);
});

test('a rewritten topic, payload and user properties', async () => {
  const { client: sub } = await broker.connect({ clientId: 'rw-sub' });
  const got = [];
  sub.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), props: packet.properties?.userProperties }));
  await sub.subscribeAsync('#', { qos: 1 });
  const { client: pub } = await broker.connect({ clientId: 'rw-pub' });
  await pub.publishAsync('in/temp', '21', { qos: 1, properties: { userProperties: { keep: 'yes', secret: 'no' } } });
  for (let i = 0; i < 100 && got.length < 1; i++) await sleep(20);
  assert.equal(got.length, 1);
  assert.equal(got[0].topic, 'out/temp');
  assert.equal(got[0].payload, '{"v":"21"}');
  assert.deepEqual({ ...got[0].props }, { keep: 'yes', via: 'lua', from: 'rw-pub' });
});

test('a dropped message: PUBACK 0x97 when the script gives a code, Success when it does not; nobody gets it', async () => {
  const { client: sub } = await broker.connect({ clientId: 'drop-sub' });
  const got = [];
  sub.on('message', (topic) => got.push(topic));
  await sub.subscribeAsync(['quota/#', 'silent/#'], { qos: 1 });
  const { client: pub } = await broker.connect({ clientId: 'drop-pub' });
  await assert.rejects(pub.publishAsync('quota/x', '1', { qos: 1 }), (err) => err.code === 0x97);
  await pub.publishAsync('silent/x', '1', { qos: 1 });
  await sleep(200);
  assert.deepEqual(got, []);
});
