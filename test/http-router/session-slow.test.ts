import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import {
  answer,
  bodyOf,
  noSessionsLeft,
  onCleanup,
  rawExchange,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

test('slowloris: 200 trickling connections cost little; normal clients are served fast; the head deadline is absolute', async () => {
  const n = await uwsgiNode(answer('fast'));
  const r = await startRouter(['--http-to', n.address, '--http-headers-timeout', '2', '--http-keepalive']);
  const slow: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 200; i++) {
    const s = connect(r.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closed++);
    slow.push(s);
  }
  onCleanup(() => {
    for (const s of slow) s.destroy();
  });
  await Promise.all(slow.map((s) => once(s, 'connect')));
  const t0 = Date.now();
  for (const s of slow) s.write('GET / HTTP/1.1\r\n');
  // a header byte from each every 250 ms: an inactivity timer would never fire
  const trickle = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write('X');
  }, 250);
  onCleanup(() => clearInterval(trickle));
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = Date.now();
    const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    times.push(Date.now() - t);
    assert.equal(bodyOf(out), 'fast');
  }
  times.sort((a, b) => a - b);
  assert.ok(times[times.length - 1] < 500, `slowest normal request ${times.at(-1)} ms`);
  assert.equal(closed, 0);
  await waitFor(() => closed === 200, 4000);
  clearInterval(trickle);
  const took = Date.now() - t0;
  assert.ok(took >= 1800 && took < 3500, `slow heads closed after ${took} ms`);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), 200);
  await noSessionsLeft(r);
});
