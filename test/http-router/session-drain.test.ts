/**
 * A draining HTTP router (reload, graceful stop: CoreRouter.drain): it stops accepting, a
 * request in flight is answered, keepalive connections end after their current request (the
 * answer says `Connection: close`), an idle keepalive connection gets a short while for a
 * request already on its way and is closed after it.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { answer, bodyOf, headOf, noSessionsLeft, RawClient, startRouter, uwsgiNode } from './fakes.ts';

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

test('draining: no new connection; the next request on a keepalive connection is answered with Connection: close', async () => {
  const n = await uwsgiNode(answer('ka'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.doesNotMatch(headOf(await c.readResponse()), /Connection: close/);
  r.router.drain();
  assert.equal(r.router.draining, true);
  assert.equal(await refused(r.port), true, 'the listener is closed');
  c.write('GET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
  const second = await c.read(() => c.closed);
  assert.match(headOf(second), /Connection: close\r\n/);
  assert.equal(bodyOf(second), 'ka');
  await noSessionsLeft(r);
  await r.router.idle();
});

test('draining: a request in flight is answered (keepalive or not), then the connection closes', async () => {
  const n = await uwsgiNode((req) => setTimeout(() => answer('slow')(req), 400));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
  await sleep(100);
  r.router.drain();
  const res = await c.read(() => c.closed);
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(headOf(res), /Connection: close\r\n/);
  assert.equal(bodyOf(res), 'slow');
  await r.router.idle();
});

test('draining: an idle keepalive connection is closed after about a second, not at once', async () => {
  const n = await uwsgiNode(answer('ka'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive=30']);
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.readResponse();
  const t0 = Date.now();
  r.router.drain();
  await sleep(300);
  assert.equal(c.closed, false, 'a request may be on its way: not closed at once');
  await c.read(() => c.closed, 3000);
  const ms = Date.now() - t0;
  assert.ok(ms >= 900 && ms < 2500, `closed after ${ms} ms (keepalive idle is 30 s)`);
  await r.router.idle();
});

test('draining: a connection accepted before the drain whose request comes later is still served', async () => {
  const n = await uwsgiNode(answer('late'));
  const r = await startRouter(['--http-to', n.address]);
  const c = await RawClient.open(r.port);
  r.router.drain();
  await sleep(200);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const res = await c.read(() => c.closed);
  assert.equal(bodyOf(res), 'late');
  await r.router.idle();
});
