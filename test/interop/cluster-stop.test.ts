/**
 * Stopping the uwrouter command (issue 10 part 3): SIGTERM, SIGINT and SIGQUIT stop
 * gracefully — no new connection is accepted, what uwrouter announced with --subscribe-to is
 * unsubscribed at once, requests in flight finish (up to --reload-mercy), then it exits 0; a
 * second stop signal exits at once.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
} from './harness/index.ts';

const slowNode = await startUwsgiNode({ app: 'slow.py', processes: 4 });
after(() => slowNode.stop());

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** A fake upstream subscription server: the commands it receives for `key`, with times. */
async function upstream(): Promise<{ port: number; got: Array<{ cmd: string; at: number }>; close(): void }> {
  const got: Array<{ cmd: string; at: number }> = [];
  const s: UdpSocket = createSocket('udp4');
  s.on('message', (m) => {
    const p = decodeSubscription(m);
    if (p) got.push({ cmd: p.cmd, at: Date.now() });
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return { port: s.address().port, got, close: () => s.close() };
}

async function router(extra: string[]): Promise<{ r: ServerHandle; port: number }> {
  const port = await freePort();
  const r = await startUwrouter([
    '--http',
    `127.0.0.1:${port}`,
    '--http-to',
    slowNode.address,
    '--http-processes',
    '2',
    ...extra,
  ]);
  return { r, port };
}

test('SIGTERM with a slow request in flight: refused at once, unsubscribed at once, the request ends 200, then exit 0', {
  timeout: 60_000,
}, async () => {
  const up = await upstream();
  after(() => up.close());
  const { r, port } = await router(['--subscribe-to', `127.0.0.1:${up.port}:router.example`]);
  await pollUntil('announced', () => (up.got.some((g) => g.cmd === 'subscribe') ? true : undefined));
  const t0 = Date.now();
  const slow = httpGet(`http://127.0.0.1:${port}/?s=2`, { timeoutMs: 15_000 });
  await sleep(400);
  const signalled = Date.now();
  process.kill(r.pid, 'SIGTERM');
  await pollUntil('new connections refused', async () => ((await refused(port)) ? true : undefined), {
    timeoutMs: 2000,
  });
  const unsub = await pollUntil('the unsubscribe packet', () => up.got.find((g) => g.cmd === 'unsubscribe'), {
    timeoutMs: 2000,
  });
  const res = await slow;
  const answered = Date.now();
  assert.equal(res.status, 200);
  assert.equal(res.text, 'slept 2');
  assert.ok(unsub.at < answered, 'unsubscribed before the request in flight finished');
  assert.ok(unsub.at - signalled < 1000, `unsubscribed ${unsub.at - signalled} ms after SIGTERM`);
  const exit = await r.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, r.logs());
  assert.ok(Date.now() - t0 >= 2000, 'it waited for the request');
  assert.match(r.logs(), /SIGTERM received, shutting down/);
  assert.equal(await refused(port), true);
});

test('a second stop signal exits at once, cutting what is in flight', { timeout: 60_000 }, async () => {
  const { r, port } = await router([]);
  const slow = httpGet(`http://127.0.0.1:${port}/?s=20`, { timeoutMs: 30_000 }).then(
    (res) => `answered ${res.status}`,
    () => 'cut',
  );
  await sleep(400);
  process.kill(r.pid, 'SIGINT');
  await sleep(300);
  const t = Date.now();
  process.kill(r.pid, 'SIGTERM');
  const exit = await r.exited;
  assert.ok(Date.now() - t < 3000, `exited ${Date.now() - t} ms after the second signal`);
  assert.equal(exit.code, 1, r.logs());
  assert.equal(await slow, 'cut');
  assert.match(r.logs(), /SIGTERM again, exiting now/);
});

test('--reload-mercy bounds the wait: a request longer than it is cut, and the router exits', {
  timeout: 60_000,
}, async () => {
  const { r, port } = await router(['--reload-mercy', '1']);
  const slow = httpGet(`http://127.0.0.1:${port}/?s=20`, { timeoutMs: 30_000 }).then(
    (res) => `answered ${res.status}`,
    () => 'cut',
  );
  await sleep(400);
  const t = Date.now();
  process.kill(r.pid, 'SIGQUIT');
  const exit = await r.exited;
  const ms = Date.now() - t;
  assert.equal(exit.code, 0, r.logs());
  assert.ok(ms >= 900 && ms < 5000, `exited after ${ms} ms (mercy 1 s)`);
  assert.equal(await slow, 'cut');
  assert.match(r.logs(), /reload-mercy \(1 s\) is over: closing 1 connection\(s\) still open/);
});
