// The live page: MQTT.js (window.mqtt, from node_modules) over WebSocket to the broker that
// served this page. It connects on load to ws(s)://<this host>/mqtt, subscribes to the filter
// and to $SYS/broker/#, and shows what arrives.
'use strict';

const $ = (id) => document.getElementById(id);
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
$('url').value = new URLSearchParams(location.search).get('url') || `${scheme}://${location.host}/mqtt`;

let client = null;
let received = 0;
const sysRows = new Map();

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls}`;
}

function showMessage(topic, payload, packet) {
  received += 1;
  $('count').textContent = String(received);
  const li = document.createElement('li');
  const time = new Date().toLocaleTimeString();
  const flags = `QoS ${packet.qos}${packet.retain ? ', retained' : ''}`;
  li.innerHTML = '<time></time> <code class="topic"></code> <span class="flags"></span><pre class="payload"></pre>';
  li.querySelector('time').textContent = time;
  li.querySelector('.topic').textContent = topic;
  li.querySelector('.flags').textContent = flags;
  li.querySelector('.payload').textContent = payload;
  $('messages').prepend(li);
  while ($('messages').children.length > 200) $('messages').lastChild.remove();
}

function showSys(topic, payload) {
  const name = topic.replace('$SYS/broker/', '');
  let row = sysRows.get(name);
  if (!row) {
    row = document.createElement('tr');
    row.innerHTML = '<th></th><td></td>';
    row.firstChild.textContent = name;
    sysRows.set(name, row);
    const rows = [...sysRows.entries()].sort(([a], [b]) => a.localeCompare(b));
    const body = $('sys').tBodies[0];
    body.replaceChildren(...rows.map(([, r]) => r));
  }
  row.lastChild.textContent = payload;
  row.classList.remove('changed');
  void row.offsetWidth; // restart the highlight
  row.classList.add('changed');
}

function subscribe(filter, qos) {
  client.subscribe(filter, { qos }, (err, granted) => {
    if (err) return setStatus(`subscribe failed: ${err.message}`, 'error');
    if (filter.startsWith('$SYS')) return;
    const li = document.createElement('li');
    li.textContent = `${filter} (QoS ${granted[0].qos})`;
    $('subscriptions').append(li);
  });
}

function connect() {
  if (client) client.end(true);
  $('subscriptions').replaceChildren();
  setStatus('connecting', 'pending');
  client = mqtt.connect($('url').value, {
    protocolVersion: Number($('version').value),
    clientId: `web-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 2000,
    connectTimeout: 5000,
  });
  client.on('connect', () => {
    setStatus('connected', 'on');
    subscribe($('filter').value, Number($('sub-qos').value));
    subscribe('$SYS/broker/#', 0);
  });
  client.on('reconnect', () => setStatus('reconnecting', 'pending'));
  client.on('close', () => { if ($('status').textContent === 'connected') setStatus('disconnected', 'off'); });
  client.on('error', (err) => setStatus(`error: ${err.message}`, 'error'));
  client.on('message', (topic, message, packet) => {
    const payload = new TextDecoder().decode(message);
    if (topic.startsWith('$SYS/')) showSys(topic, payload);
    else showMessage(topic, payload, packet);
  });
}

$('connect-form').addEventListener('submit', (e) => { e.preventDefault(); connect(); });
$('subscribe-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (client?.connected) subscribe($('filter').value, Number($('sub-qos').value));
});
$('publish-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!client?.connected) return setStatus('not connected', 'error');
  client.publish($('topic').value, $('payload').value,
    { qos: Number($('pub-qos').value), retain: $('retain').checked },
    (err) => { if (err) setStatus(`publish failed: ${err.message}`, 'error'); });
});

connect();
