import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { Client, request } from 'undici';
import {
  answer,
  bodyOf,
  echo,
  headOf,
  noSessionsLeft,
  onCleanup,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
} from './fakes.ts';

test('GET: uwsgi vars as uWSGI sends them, response relayed, Connection: close without keepalive', async () => {
  const n = await uwsgiNode(answer('hello'));
  const r = await startRouter(['--http-to', n.address, '--http-var', 'FOO=bar=baz', '--http-modifier1', '7']);
  const c = await RawClient.open(r.port);
  c.write('GET /a%20b/./c/../d?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Foo: 1\r\nX-Foo: 2\r\n\r\n');
  const res = await c.read((t) => t.endsWith('hello'));
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(headOf(res), /\r\nConnection: close\r\n$/);
  const req = n.requests[0];
  assert.equal(req.modifier1, 7);
  const v = req.vars;
  assert.equal(v.get('REQUEST_METHOD'), 'GET');
  assert.equal(v.get('PATH_INFO'), '/a b/d');
  assert.equal(v.get('REQUEST_URI'), '/a%20b/./c/../d?x=1');
  assert.equal(v.get('QUERY_STRING'), 'x=1');
  assert.equal(v.get('SERVER_NAME'), hostname());
  assert.equal(v.get('SERVER_PORT'), String(r.port));
  assert.equal(v.get('UWSGI_ROUTER'), 'http');
  assert.equal(v.get('REMOTE_ADDR'), '127.0.0.1');
  assert.equal(v.get('REMOTE_PORT'), String(c.socket.localPort));
  assert.equal(v.get('HTTP_HOST'), 'Example.COM:8080');
  assert.equal(v.get('HTTP_X_FOO'), '1, 2');
  assert.equal(v.get('FOO'), 'bar=baz');
  assert.equal(req.order.at(-1), 'FOO');
  await c.read(() => c.closed);
  assert.ok(c.closed);
  await noSessionsLeft(r);
});

test('no Host: the key and SERVER_NAME are the machine hostname; server-name-as-http-host', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-use-pattern', `${n.address}`, '--http-server-name-as-http-host']);
  const out = await rawExchange(r.port, 'GET / HTTP/1.0\r\n\r\n');
  assert.equal(bodyOf(out), 'ok');
  assert.equal(n.requests[0].vars.get('SERVER_NAME'), hostname());
  await rawExchange(r.port, 'GET / HTTP/1.0\r\nHost: h.example\r\n\r\n');
  const order = n.requests[1].order;
  assert.equal(n.requests[1].vars.get('SERVER_NAME'), 'h.example');
  assert.equal(order.indexOf('SERVER_NAME') + 1, order.indexOf('HTTP_HOST'));
  await noSessionsLeft(r);
});

test('POST of several MB is streamed byte-exact both ways through an echo node', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address]);
  const body = Buffer.alloc(6 * 1024 * 1024 + 13);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 9)) & 0xff;
  const res = await request(`http://127.0.0.1:${r.port}/up`, { method: 'POST', body });
  assert.equal(res.statusCode, 200);
  const got = Buffer.from(await res.body.arrayBuffer());
  assert.equal(got.length, body.length);
  assert.ok(got.equals(body));
  assert.equal(n.requests[0].vars.get('CONTENT_LENGTH'), String(body.length));
  assert.equal(n.requests[0].body.length, body.length);
  await noSessionsLeft(r);
});

test('keepalive: two requests on one client connection, each to a new node connection', async () => {
  const n = await uwsgiNode(answer('ka'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
  const first = await c.readResponse();
  assert.doesNotMatch(first, /Connection: close/);
  assert.equal(bodyOf(first), 'ka');
  c.write('GET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
  const second = await c.readResponse();
  assert.equal(bodyOf(second), 'ka');
  assert.equal(c.closed, false);
  assert.deepEqual(
    n.requests.map((q) => q.vars.get('PATH_INFO')),
    ['/1', '/2'],
  );
  assert.equal(n.connections, 2);
  const stats = r.router.statsDocument().http_router as Record<string, number>;
  assert.equal(stats.keepalive_requests, 1);
  // Connection: close from the client ends it after the answer, with the header echoed
  c.write('GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const third = await c.read(() => c.closed);
  assert.match(third, /Connection: close\r\n/);
  await noSessionsLeft(r);
});

test('keepalive through undici: the client reuses its connection', async () => {
  const n = await uwsgiNode(answer('u'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const client = new Client(`http://127.0.0.1:${r.port}`);
  onCleanup(() => client.destroy());
  let sockets = 0;
  r.router.listeners[0].server.on('connection', () => sockets++);
  for (let i = 0; i < 5; i++) {
    const res = await client.request({ path: `/${i}`, method: 'GET' });
    assert.equal(await res.body.text(), 'u');
  }
  assert.equal(sockets, 1);
  await client.close();
  await noSessionsLeft(r);
});

test('HTTP/1.0 and keepalive: the router closes, with Connection: close', async () => {
  const n = await uwsgiNode(answer('x'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const out = await rawExchange(r.port, 'GET / HTTP/1.0\r\n\r\n');
  assert.match(headOf(out), /Connection: close/);
  assert.equal(bodyOf(out), 'x');
  await noSessionsLeft(r);
});

test('auto-chunked: a response without length is chunk-encoded (uppercase hex) and kept alive', async () => {
  const n = await uwsgiNode((req) => {
    req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
    req.socket.write('a'.repeat(31));
    setTimeout(() => req.socket.end('bc'), 20);
  });
  const r = await startRouter(['--http-to', n.address, '--http-keepalive', '--http-auto-chunked']);
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const res = await c.read((t) => t.endsWith('0\r\n\r\n'));
  assert.match(headOf(res), /Transfer-Encoding: chunked\r\n/);
  assert.doesNotMatch(headOf(res), /Connection: close/);
  assert.equal(bodyOf(res), `1F\r\n${'a'.repeat(31)}\r\n2\r\nbc\r\n0\r\n\r\n`);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.read((t) => t.endsWith('0\r\n\r\n'));
  assert.equal(c.closed, false);
  c.socket.destroy();
  await noSessionsLeft(r);
});

test('keepalive without auto-chunked: a response without length gets Connection: close', async () => {
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\n\r\nuntil-close'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(out, 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close');
  await noSessionsLeft(r);
});

test('auto-gzip: gzip-hinted responses are compressed for clients that accept gzip', async () => {
  const text = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(2000));
  const n = await uwsgiNode((req) => {
    req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nuWSGI-Encoding: gzip\r\n\r\n');
    req.socket.write(text.subarray(0, 40000));
    setTimeout(() => req.socket.end(text.subarray(40000)), 20);
  });
  const r = await startRouter(['--http-to', n.address, '--http-auto-gzip', '--http-keepalive']);
  const client = new Client(`http://127.0.0.1:${r.port}`);
  onCleanup(() => client.destroy());
  const res = await client.request({ path: '/', method: 'GET', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  const raw = Buffer.from(await res.body.arrayBuffer());
  assert.ok(raw.length < text.length / 10);
  assert.ok(gunzipSync(raw).equals(text));
  // without Accept-Encoding: gzip the body passes untouched
  const plain = await client.request({ path: '/', method: 'GET' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(Buffer.from(await plain.body.arrayBuffer()).equals(text));
  await client.close();
  await noSessionsLeft(r);
});

test('Expect: 100-continue with http-manage-expect=N: 100 then the answer; over N: 413, node untouched', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address, '--http-manage-expect', '1000']);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  assert.equal(await c.read((t) => t.includes('\r\n\r\n')), 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write('hello');
  const res = await c.read((t) => t.endsWith('hello'));
  assert.match(res, /^HTTP\/1\.1 200 OK/);
  assert.equal(n.requests[0].vars.get('HTTP_EXPECT'), '100-continue');
  const big = await rawExchange(
    r.port,
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n',
  );
  assert.equal(big, 'HTTP/1.1 413 Request Entity Too Large\r\n\r\n');
  assert.equal(n.connections, 1);
  await noSessionsLeft(r);
});

test('http-max-body: a larger Content-Length is refused with 413 before any node is asked', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address, '--http-max-body', '100']);
  const out = await rawExchange(
    r.port,
    `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n${'x'.repeat(101)}`,
  );
  assert.match(out, /^HTTP\/1\.1 413 /);
  assert.match(headOf(out), /Connection: close/);
  assert.equal(n.connections, 0);
  assert.equal(r.router.counters.get('UWR_ERR_BODY_TOO_LARGE'), 1);
  await noSessionsLeft(r);
});

test('HEAD: no body relayed even if the node sends one; keepalive continues', async () => {
  const n = await uwsgiNode(answer('body-bytes'));
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n');
  const head = await c.read((t) => t.endsWith('\r\n\r\n'));
  assert.equal(head, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(bodyOf(await c.readResponse()), 'body-bytes');
  c.socket.destroy();
  await noSessionsLeft(r);
});

test('two requests in one segment: answered in order, the second only after the first', async () => {
  const n = await uwsgiNode((req) => {
    const p = req.vars.get('PATH_INFO') ?? '';
    setTimeout(() => answer(p)(req), p === '/slow' ? 100 : 0);
  });
  const r = await startRouter(['--http-to', n.address, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write(
    'POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /fast HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const out = await c.read((t) => t.endsWith('/fast'));
  assert.ok(out.indexOf('/slow') < out.indexOf('/fast'));
  assert.equal(n.requests[0].body.toString(), 'abc');
  c.socket.destroy();
  await noSessionsLeft(r);
});

test('http-chunked-input: the still-chunked body reaches the node; no keepalive', async () => {
  const n = await uwsgiNode((req) => answer(req.body)(req), { chunked: true });
  const r = await startRouter(['--http-to', n.address, '--http-chunked-input', '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  await sleep(30);
  c.write('6\r\n world\r\n0\r\n\r\n');
  const out = await c.read(() => c.closed);
  assert.equal(bodyOf(out), '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  assert.match(headOf(out), /Connection: close/);
  assert.equal(n.requests[0].vars.get('HTTP_TRANSFER_ENCODING'), 'chunked');
  await noSessionsLeft(r);
});

test('stats: request counters and the http socket list', async () => {
  const n = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', n.address]);
  await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const doc = r.router.statsDocument();
  assert.deepEqual(doc.http, [`127.0.0.1:${r.port}`]);
  const http = doc.http_router as Record<string, number>;
  assert.equal(http.requests, 1);
  assert.equal(http.websockets, 0);
  await noSessionsLeft(r);
});
