/**
 * HTTP nodes and the client connection's keep-alive: the client connection is the router's
 * (its request + the router's settings), the node connection's reuse is the node's; a stale
 * pooled node connection retried on a fresh one keeps the client bytes read meanwhile.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bodyOf, headOf, noSessionsLeft, onCleanup, RawClient, startRouter } from './fakes.ts';

type Answer = (conn: number, nth: number, path: string, s: Socket) => void;

/** A raw HTTP node: calls `answer` for each request (bodies framed by Content-Length). */
async function scriptedNode(answer: Answer): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    const conn = ++connections;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    let nth = 0;
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? '0');
        if (buf.length < end + 4 + length) break;
        buf = buf.slice(end + 4 + length);
        answer(conn, ++nth, head.split(' ')[1], s);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, connections: () => connections };
}

function ok(s: Socket, body: string, extra = '', version = 'HTTP/1.1'): void {
  s.write(`${version} 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`);
}

/** Reads `n` Content-Length responses from `c`; returns their bodies. */
async function bodies(c: RawClient, n: number): Promise<string[]> {
  const out: string[] = [];
  let text = '';
  while (out.length < n) {
    if (c.closed) throw new Error(`closed after ${JSON.stringify(out)}; left: ${JSON.stringify(text)}`);
    text += await c
      .read((t) => t.length > 0, 3000)
      .catch((err: Error) => {
        throw new Error(`${err.message} after ${JSON.stringify(out)}; left: ${JSON.stringify(text)}`);
      });
    for (;;) {
      const sep = text.indexOf('\r\n\r\n');
      if (sep < 0) break;
      const len = Number(/content-length: *(\d+)/i.exec(text.slice(0, sep))?.[1] ?? 'NaN');
      if (text.length < sep + 4 + len) break;
      out.push(text.slice(sep + 4, sep + 4 + len));
      text = text.slice(sep + 4 + len);
    }
  }
  return out;
}

test('a stale pooled node connection retried on a fresh one keeps the client bytes read meanwhile', async () => {
  // connection 1 answers its first request, then drops the second 150 ms after it came
  // (the keep-alive race); every other connection answers every request with its path
  const node = await scriptedNode((conn, nth, path, s) => {
    if (conn === 1 && nth > 1) setTimeout(() => s.destroy(), 150);
    else ok(s, path);
  });
  const r = await startRouter(['--http-to', `http://127.0.0.1:${node.port}`, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET /a HTTP/1.1\r\nHost: k\r\n\r\n');
  assert.deepEqual(await bodies(c, 1), ['/a']);
  // /b goes to the pooled (stale) connection; its chunked body is stored first, and /c,
  // pipelined in the same segment, is read with it; /d comes in a later segment while /b
  // waits: both must survive the retry, once each
  c.write(
    'POST /b HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      'GET /c HTTP/1.1\r\nHost: k\r\n\r\n',
  );
  await sleep(50);
  c.write('GET /d HTTP/1.1\r\nHost: k\r\n\r\n');
  assert.deepEqual(await bodies(c, 3), ['/b', '/c', '/d']);
  assert.equal(node.connections(), 2, 'one fresh connection after the stale one');
  c.socket.end();
  await noSessionsLeft(r);
});

test('a retried request pipelined with the next one in one segment: the next one is served once', async () => {
  const node = await scriptedNode((conn, nth, path, s) => {
    if (conn === 1 && nth > 1) s.destroy();
    else ok(s, path);
  });
  const r = await startRouter(['--http-to', `http://127.0.0.1:${node.port}`, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET /a HTTP/1.1\r\nHost: k\r\n\r\n');
  assert.deepEqual(await bodies(c, 1), ['/a']);
  c.write('GET /b HTTP/1.1\r\nHost: k\r\n\r\nGET /c HTTP/1.1\r\nHost: k\r\n\r\n');
  assert.deepEqual(await bodies(c, 2), ['/b', '/c']);
  // a duplicated /c would answer before /e
  c.write('GET /e HTTP/1.1\r\nHost: k\r\n\r\n');
  assert.deepEqual(await bodies(c, 1), ['/e']);
  c.socket.end();
  await noSessionsLeft(r);
});

test("an HTTP node's Connection: close or HTTP/1.0 answer closes the node connection, not the client's", async () => {
  // the node closes every connection after one answer, saying so one way or the other
  const node = await scriptedNode((_conn, _nth, path, s) => {
    if (path === '/close') ok(s, path, 'Connection: close\r\n');
    else if (path === '/v10') ok(s, path, '', 'HTTP/1.0');
    else ok(s, path, 'Connection: keep-alive\r\n', 'HTTP/1.0');
    s.end();
  });
  const r = await startRouter(['--http-to', `http://127.0.0.1:${node.port}`, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  for (const path of ['/close', '/v10', '/v10ka', '/close']) {
    c.write(`GET ${path} HTTP/1.1\r\nHost: k\r\n\r\n`);
    const res = await c.readResponse();
    // the router keeps the client connection and speaks HTTP/1.1 on it (RFC 9110 §6.2:
    // an intermediary sends its own version; an HTTP/1.0 status line would make an
    // HTTP/1.1 client close, RFC 9112 §9.3)
    assert.equal(headOf(res), `HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n`, path);
    assert.equal(bodyOf(res), path);
    assert.equal(c.closed, false, `client connection open after ${path}`);
  }
  assert.equal(node.connections(), 4, 'a node connection per request: none was reused');
  // the client's own choice still closes
  c.write('GET /close HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n');
  assert.match(headOf(await c.read(() => c.closed)), /\r\nConnection: close\r\n$/);
  await noSessionsLeft(r);
});
