import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import { createHttpRouter } from '../../src/http-router/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { deadPort } from '../corerouter/fake-node.ts';
import {
  answer,
  bodyOf,
  echo,
  headOf,
  noSessionsLeft,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

function statusOf(out: string): number {
  return Number(out.slice(9, 12));
}

test('malformed heads get 400 + Connection: close, a log line and a counter; the node sees nothing', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', n.address]);
  const bad = [
    'GET / HTTP/1.1\nHost: a\n\n', // bare LF
    'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', // obs-fold
    'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', // second Host
    'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', // double space
    'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n',
  ];
  for (const b of bad) {
    const out = await rawExchange(r.port, b);
    assert.equal(statusOf(out), 400, JSON.stringify(b));
    assert.match(headOf(out), /Connection: close\r\n/);
    assert.equal(bodyOf(out), 'bad request\n');
  }
  assert.equal(n.connections, 0);
  assert.equal(r.router.counters.get('UWR_ERR_BAD_REQUEST'), bad.length);
  assert.ok(
    r.lines.some((l) => l.includes('bad request head (bare-lf)') && l.includes('client_addr: 127.0.0.1')),
  );
  await noSessionsLeft(r);
});

test('smuggling shapes are refused: CL+TE, differing CLs, TE not ending in chunked with chunked input', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address, '--http-chunked-input']);
  const attempts = [
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd',
  ];
  for (const a of attempts) assert.equal(statusOf(await rawExchange(r.port, a)), 400, JSON.stringify(a));
  // a bad chunked body (size line not hex) after a good head: 400 too, before any answer
  const out = await rawExchange(
    r.port,
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  );
  assert.equal(statusOf(out), 400);
  assert.equal(n.requests.length, 0);
  await noSessionsLeft(r);
});

test('an oversized head gets 431 (http-max-head), and so does a vars block over 64 KiB', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', n.address, '--http-max-head', '2048']);
  const out = await rawExchange(r.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`);
  assert.equal(statusOf(out), 431);
  assert.equal(r.router.counters.get('UWR_ERR_HEADERS_TOO_LARGE'), 1);
  const r2 = await startRouter(['--http-to', n.address, '--http-max-head', '200000']);
  const many = Array.from({ length: 20 }, (_, i) => `X-H${i}: ${'v'.repeat(4000)}\r\n`).join('');
  const out2 = await rawExchange(r2.port, `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`);
  assert.equal(statusOf(out2), 431);
  assert.equal(n.requests.length, 0);
  await noSessionsLeft(r);
  await noSessionsLeft(r2);
});

test('no node source at all: 404 for every key', async () => {
  const r = await startRouter([]);
  const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n');
  assert.equal(statusOf(out), 404);
  assert.equal(bodyOf(out), 'no such host is configured here\n');
  assert.equal(r.router.counters.get('UWR_ERR_NO_KEY'), 1);
  await noSessionsLeft(r);
});

test('dead node: 502 after the connect fails, then 503 while it is in gracetime', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRouter(['--http-to', dead, '--http-max-retries', '0']);
  const first = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(first), 502);
  assert.match(headOf(first), /Connection: close/);
  assert.ok(
    r.lines.some((l) => l.includes(`unable to connect() to node "${dead}" (0 retries): Connection refused`)),
  );
  const second = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(second), 503);
  assert.equal(r.router.counters.get('UWR_ERR_CONNECT'), 1);
  assert.equal(r.router.counters.get('UWR_ERR_NO_NODE'), 1);
  await noSessionsLeft(r);
});

test('a node silent past http-timeout: 504; with http-silent-errors: closed without a reply', async () => {
  const n = await uwsgiNode(() => {});
  const r = await startRouter(['--http-to', n.address, '--http-timeout', '1']);
  const t0 = Date.now();
  const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(out), 504);
  assert.ok(Date.now() - t0 >= 900);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), 1);
  const rs = await startRouter(['--http-to', n.address, '--http-timeout', '1', '--http-silent-errors']);
  assert.equal(await rawExchange(rs.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'), '');
  assert.equal(rs.router.counters.get('UWR_ERR_TIMEOUT'), 1);
  await noSessionsLeft(r);
  await noSessionsLeft(rs);
});

test('a node that closes without answering: 502', async () => {
  const n = await uwsgiNode((req) => req.socket.end());
  const r = await startRouter(['--http-to', n.address]);
  const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(out), 502);
  assert.equal(r.router.counters.get('UWR_ERR_BACKEND_CLOSED'), 1);
  await noSessionsLeft(r);
});

test('a node gone mid-response: the client sees the cut (no error page appended), counted', async () => {
  const n = await uwsgiNode((req) => {
    req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
    setTimeout(() => req.socket.destroy(), 30);
  });
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(out, 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
  assert.equal(r.router.counters.get('UWR_ERR_BACKEND_CLOSED'), 1);
  await noSessionsLeft(r);
});

test('a client gone mid-upload: the node connection is closed, the session ends', async () => {
  let nodeClosed = false;
  const n = await uwsgiNode((req) => req.socket.resume(), { early: true });
  const r = await startRouter(['--http-to', n.address]);
  const s = connect(r.port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n');
  s.write(Buffer.alloc(1024 * 1024));
  await waitFor(() => n.requests.length === 1);
  n.requests[0].socket.on('close', () => {
    nodeClosed = true;
  });
  await sleep(50);
  s.destroy();
  await waitFor(() => nodeClosed);
  await noSessionsLeft(r);
});

test('a slow node is not buffered without bound: a 100 MB upload pauses the client', async () => {
  // the node reads nothing: the router must stop reading the client once the node is full
  const n = await uwsgiNode((req) => req.socket.pause(), { early: true });
  const r = await startRouter(['--http-to', n.address, '--http-timeout', '1']);
  const s = connect(r.port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n');
  const block = Buffer.alloc(256 * 1024);
  let sent = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 1000 && sent < 100_000_000) {
    if (!s.write(block)) await Promise.race([once(s, 'drain'), sleep(200)]);
    sent += block.length;
  }
  // kernel buffers on both sides plus one chunk in flight, far from the 100 MB
  assert.ok(s.writableLength > 0 || sent < 100_000_000);
  assert.ok(sent < 60_000_000, `sent ${sent}`);
  s.destroy();
  // a paused client socket does not see the FIN: the stalled node write times out instead
  await waitFor(() => r.router.activeSessions === 0, 4000);
  assert.ok(r.lines.some((l) => l.includes('request body stalled past http-timeout')));
});

test('http-to-https: 301 to https://HOST[:PORT]URI, no node involved', async () => {
  const { config } = loadConfig(['--http-to-https', '127.0.0.1:0,8443', '--http', '127.0.0.1:0'], {});
  const router = createHttpRouter(config, silentLogger(), { version: 't' });
  await router.start();
  try {
    const redirect = router.listeners.find(
      (l) => l.configured === '127.0.0.1:0' && router.listeners.indexOf(l) === 1,
    );
    assert.ok(redirect);
    const a = redirect.server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    const out = await rawExchange(port, 'GET /path?q=1 HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 301 Moved Permanently\r\n/);
    assert.match(out, /\r\nLocation: https:\/\/www\.example\.com:8443\/path\?q=1\r\n/);
    assert.match(out, /\r\nConnection: close\r\n/);
  } finally {
    await router.close();
  }
});

test('a head timeout closes the connection and counts it; a partial head does not hold the router', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', n.address, '--http-headers-timeout', '1']);
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost');
  const t0 = Date.now();
  assert.equal(await c.read(() => c.closed, 3000), '');
  assert.ok(Date.now() - t0 >= 800);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), 1);
  await noSessionsLeft(r);
});

test('keepalive idle timeout (http-keepalive=N) closes an idle connection quietly', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', n.address, '--http-keepalive', '2']);
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.readResponse();
  const t0 = Date.now();
  await c.read(() => c.closed, 4000);
  const idle = Date.now() - t0;
  assert.ok(idle >= 1800 && idle < 3500, `idle ${idle}`);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), undefined);
  await noSessionsLeft(r);
});

test('a node answering before the body is in: the client gets that answer, then the close', async () => {
  const n = await uwsgiNode(
    (req) => req.socket.end('HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nnope'),
    { early: true },
  );
  const r = await startRouter(['--http-to', n.address, '--http-keepalive', '--http-timeout', '2']);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n');
  c.write(Buffer.alloc(64 * 1024));
  const out = await c.read((t) => t.endsWith('nope'));
  assert.match(out, /^HTTP\/1\.1 413 Too Large\r\n/);
  // more body bytes after the answer do not reset it; the router closes
  c.write(Buffer.alloc(64 * 1024));
  await c.read(() => c.closed, 4000);
  await noSessionsLeft(r);
});
