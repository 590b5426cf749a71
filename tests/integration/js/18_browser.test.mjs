// A real browser: Debian's chromium (/usr/bin/chromium, never a download), driven by
// playwright-core, loads examples/web/ from the broker's ws listener (http_dir), connects over
// ws://, and shows a message that mosquitto_pub sent over TCP and the $SYS statistics; then the
// same from the wss listener over https:// and wss://, the test's certificate trusted by its
// public key (--ignore-certificate-errors-spki-list, nothing else relaxed). The screenshots go
// to <build>/tests/screenshots/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { isMosquitto } from './harness.mjs';
import { startWsBroker, webDir } from './ws_harness.mjs';

const run = promisify(execFile);
const chromiumPath = '/usr/bin/chromium';
const skip = isMosquitto ? 'the page is served by the ws plugin (Roost only)' : false;

function screenshotPath(name) {
  // ROOST_BINARY is <build>/core/roost.
  const build = process.env.ROOST_BINARY ? path.resolve(path.dirname(process.env.ROOST_BINARY), '..') : '.';
  const dir = path.join(build, 'tests', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}_w${process.env.ROOST_TEST_WORKERS ?? '1'}.png`);
}

let broker;
let browser;
before(async () => {
  if (skip) return;
  assert.ok(fs.existsSync(path.join(webDir, 'node_modules/mqtt/dist/mqtt.min.js')),
    'MQTT.js for the page is missing: run `npm ci` in examples/web');
  assert.ok(fs.existsSync(chromiumPath), 'chromium is missing: apt-get install chromium (.ci/install-deps)');
  broker = await startWsBroker({ tls: true });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${broker.certs.spki}`],
  });
});
after(async () => {
  if (browser) await browser.close();
  if (broker) assert.equal(await broker.stop(), 0, 'broker exit code');
});

async function pageShowsMessages(pageUrl, shot, scheme) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(pageUrl);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /^text\/html/);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'connected', null, { timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('subscriptions').textContent.includes('demo/#'), null, { timeout: 5000 });

  const text = `hello from mosquitto_pub ${process.pid} over ${scheme}`;
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'demo/browser', '-m', text, '-q', '1'],
    { timeout: 10000 });
  await page.waitForFunction((t) => document.getElementById('messages').textContent.includes(t), text, { timeout: 5000 });
  // $SYS statistics arrive (sys_interval = 1) and update.
  await page.waitForFunction(() => document.querySelectorAll('#sys tr').length > 3, null, { timeout: 5000 });

  // The page publishes too: a mosquitto_sub over TCP sees it.
  const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'demo/from-page', '-C', '1', '-W', '10'],
    { timeout: 15000 });
  await new Promise((r) => setTimeout(r, 300));
  await page.fill('#topic', 'demo/from-page');
  await page.fill('#payload', 'typed in the browser');
  await page.click('#publish');
  const { stdout } = await sub;
  assert.equal(stdout.trim(), 'typed in the browser');

  assert.equal(await page.inputValue('#url'), `${scheme}://${new URL(pageUrl).host}/mqtt`);
  await page.screenshot({ path: screenshotPath(shot), fullPage: true });
  assert.deepEqual(errors, [], 'no script errors in the page');
  assert.match(broker.log(), /WebSocket upgrade on \/mqtt \(subprotocol mqtt\)/);
  await page.close();
}

test('the page served over HTTP connects over ws:// and shows a message from mosquitto_pub', { skip }, async () => {
  await pageShowsMessages(broker.httpUrl, 'ws_page', 'ws');
});

test('the page served over HTTPS connects over wss:// (the test CA\'s certificate trusted)', { skip }, async () => {
  await pageShowsMessages(broker.httpsUrl, 'wss_page', 'wss');
});
