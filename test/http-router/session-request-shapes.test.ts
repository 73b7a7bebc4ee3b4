/**
 * Request shapes the router answers itself (505, 400 for the HTTP/2 preface, 501 CONNECT,
 * 417 Expect, 400 TE in HTTP/1.0), routing keys (Host folded, trailing dot, absolute-form
 * authority) and what a node that closes without answering tells the client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyOf, headOf, noSessionsLeft, rawExchange, startRouter, uwsgiNode } from './fakes.ts';

function statusOf(out: string): number {
  return Number(out.slice(9, 12));
}

test('refused shapes: 505, HTTP/2 preface 400, CONNECT 501, Expect 417, TE in HTTP/1.0 400; the node sees none', async () => {
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r = await startRouter(['--http-to', n.address]);
  const cases: Array<[string, number, RegExp]> = [
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, /only HTTP\/1\.0 and HTTP\/1\.1/],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, /bad request/],
    ['CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', 501, /not supported/],
    ['POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx', 417, /100-continue/],
    ['POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /bad request/],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxyz', 400, /bad request/],
    ['GET foo/bar HTTP/1.1\r\nHost: a\r\n\r\n', 400, /bad request/],
  ];
  for (const [request, status, body] of cases) {
    const out = await rawExchange(r.port, request);
    assert.equal(statusOf(out), status, JSON.stringify(request));
    assert.match(bodyOf(out), body);
    assert.match(headOf(out), /\r\nConnection: close\r\n/);
  }
  assert.equal(n.connections, 0);
  assert.equal(r.router.counters.get('UWR_ERR_NOT_SUPPORTED'), 3);
  assert.ok(r.lines.some((l) => l.includes('bad request head (http2-preface)')));
  // OPTIONS * and a later HTTP/1.x are served
  const star = await rawExchange(r.port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(star), 200);
  assert.equal(n.requests[0].vars.get('REQUEST_URI'), '*');
  const later = await rawExchange(r.port, 'GET /v HTTP/1.5\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(later), 200);
  assert.equal(n.requests[1].vars.get('SERVER_PROTOCOL'), 'HTTP/1.1');
  await noSessionsLeft(r);
});

test('keys: Host A-Z folded and a trailing dot ignored; an absolute-form authority replaces Host', async () => {
  const r = await startRouter([]);
  await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: WWW.Example.COM.\r\n\r\n');
  await rawExchange(r.port, 'GET http://Abs.Example:8080/x HTTP/1.1\r\nHost: other.example\r\n\r\n');
  assert.ok(r.lines.some((l) => l.includes('key: www.example.com ') && l.includes('unknown key')));
  assert.ok(r.lines.some((l) => l.includes('key: abs.example:8080 ') && l.includes('unknown key')));
  assert.ok(!r.lines.some((l) => l.includes('other.example')));

  // the node sees the origin-form URI and the authority as HTTP_HOST (RFC 9112 §3.2.2)
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r2 = await startRouter(['--http-to', n.address]);
  const out = await rawExchange(r2.port, 'GET http://Abs.Example/p%41th?q=1 HTTP/1.1\r\nHost: other\r\n\r\n');
  assert.equal(statusOf(out), 200);
  const v = n.requests[0].vars;
  assert.deepEqual(
    [v.get('REQUEST_URI'), v.get('PATH_INFO'), v.get('QUERY_STRING'), v.get('HTTP_HOST')],
    ['/p%41th?q=1', '/pAth', 'q=1', 'Abs.Example'],
  );
  await noSessionsLeft(r);
  await noSessionsLeft(r2);
});

test('a node that closes without answering: 502 saying so, and naming buffer-size when the vars exceed 4 KiB', async () => {
  const n = await uwsgiNode((req) => req.socket.destroy());
  const r = await startRouter(['--http-to', n.address]);
  const small = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(small), 502);
  assert.equal(bodyOf(small), 'the node closed the connection without answering\n');
  const big = await rawExchange(r.port, `GET / HTTP/1.1\r\nHost: a\r\nCookie: ${'c'.repeat(5000)}\r\n\r\n`);
  assert.equal(statusOf(big), 502);
  assert.match(bodyOf(big), /exceed 4096 bytes of uwsgi vars.*--buffer-size is the likely cause/);
  assert.ok(
    r.lines.some((l) =>
      /uwsgi vars are \d+ bytes, over uWSGI's default buffer-size of 4096: the node's --buffer-size/.test(l),
    ),
  );
  await noSessionsLeft(r);
});
