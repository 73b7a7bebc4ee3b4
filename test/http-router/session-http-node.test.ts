import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Client, request } from 'undici';
import { bodyOf, noSessionsLeft, onCleanup, RawClient, rawExchange, startRouter, waitFor } from './fakes.ts';

interface HttpNode {
  port: number;
  connections: number;
  seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }>;
}

async function httpNode(keepAliveTimeout = 5000): Promise<HttpNode> {
  const node: HttpNode = { port: 0, connections: 0, seen: [] };
  const server = createHttpServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const body = Buffer.concat(parts);
    node.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (req.url === '/chunked') {
      res.write('one,');
      setTimeout(() => res.end('two'), 10);
      return;
    }
    res.setHeader('content-length', body.length || 4);
    res.end(body.length ? body : 'node');
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', () => node.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  const a = server.address();
  node.port = typeof a === 'object' && a ? a.port : 0;
  return node;
}

test('HTTP node: X-Forwarded-* set, forged ones dropped, hop-by-hop removed', async () => {
  const n = await httpNode();
  const r = await startRouter(['--http-to', `http://127.0.0.1:${n.port}`]);
  const out = await rawExchange(
    r.port,
    'GET /p?q HTTP/1.1\r\nHost: site.example\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nKeep-Alive: 5\r\n\r\n',
  );
  assert.equal(bodyOf(out), 'node');
  const h = n.seen[0].headers;
  assert.equal(n.seen[0].url, '/p?q');
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'site.example');
  assert.equal(h['keep-alive'], undefined);
  assert.equal(h.host, 'site.example');
  await noSessionsLeft(r);
});

test('HTTP node behind a trusted proxy: its X-Forwarded-For is kept and extended', async () => {
  const n = await httpNode();
  const r = await startRouter([
    '--http-to',
    `http://127.0.0.1:${n.port}`,
    '--http-trusted-proxy',
    '127.0.0.0/8',
  ]);
  await rawExchange(
    r.port,
    'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\n\r\n',
  );
  assert.equal(n.seen[0].headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
  assert.equal(n.seen[0].headers['x-forwarded-proto'], 'https');
  await noSessionsLeft(r);
});

test('HTTP node connections are pooled across requests and client connections', async () => {
  const n = await httpNode();
  const r = await startRouter(['--http-to', `http://127.0.0.1:${n.port}`, '--http-keepalive']);
  for (let i = 0; i < 4; i++) {
    const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(bodyOf(out), 'node');
  }
  const client = new Client(`http://127.0.0.1:${r.port}`);
  onCleanup(() => client.destroy());
  for (let i = 0; i < 4; i++) {
    const res = await client.request({ path: '/', method: 'POST', body: `b${i}` });
    assert.equal(await res.body.text(), `b${i}`);
  }
  await client.close();
  assert.equal(n.connections, 1);
  const stats = r.router.statsDocument().http_router as Record<string, number>;
  assert.equal(stats.node_pool_reuses, 7);
  assert.equal(stats.node_pool_idle, 1);
  await noSessionsLeft(r);
});

test('HTTP node: chunked responses relayed and the connection reused; chunked uploads streamed', async () => {
  const n = await httpNode();
  // --http-chunked-input streams chunked bodies still chunked (without it they are stored)
  const r = await startRouter([
    '--http-to',
    `http://127.0.0.1:${n.port}`,
    '--http-keepalive',
    '--http-chunked-input',
  ]);
  const client = new Client(`http://127.0.0.1:${r.port}`);
  onCleanup(() => client.destroy());
  const res = await client.request({ path: '/chunked', method: 'GET' });
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(await res.body.text(), 'one,two');
  const big = Buffer.alloc(3 * 1024 * 1024, 'z');
  const up = await client.request({
    path: '/up',
    method: 'PUT',
    body: Readable.from([big.subarray(0, 1000), big.subarray(1000)]),
  });
  const echoed = Buffer.from(await up.body.arrayBuffer());
  assert.ok(echoed.equals(big));
  assert.equal(n.seen[1].headers['transfer-encoding'], 'chunked');
  await client.close();
  assert.equal(n.connections, 1);
  await noSessionsLeft(r);
});

test('a pooled connection the node already dropped is retried once on a fresh one', async () => {
  // answers the first request of each connection with keep-alive, then drops the
  // connection silently when a second request arrives (the keep-alive race)
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => {});
    let served = 0;
    s.on('data', (d: Buffer) => {
      served++;
      // answers with the request's last 3 bytes (its body)
      if (served === 1) s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${d.subarray(-3).toString()}`);
      else s.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = await startRouter(['--http-to', `http://127.0.0.1:${port}`]);
  for (let i = 0; i < 3; i++) {
    // the body came with the head: the retry on a fresh connection sends it again
    const out = await rawExchange(r.port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nb${i}!`);
    assert.equal(bodyOf(out), `b${i}!`, `request ${i}`);
  }
  assert.equal(connections, 3);
  assert.equal(r.router.counters.get('UWR_ERR_BACKEND_CLOSED'), undefined);
  await noSessionsLeft(r);
});

test('HTTP node: an idle pooled connection closed by the node is not used', async () => {
  const n = await httpNode(100);
  const r = await startRouter(['--http-to', `http://127.0.0.1:${n.port}`]);
  const res1 = await request(`http://127.0.0.1:${r.port}/`);
  assert.equal(await res1.body.text(), 'node');
  assert.equal((r.router.statsDocument().http_router as Record<string, number>).node_pool_idle, 1);
  // the node's keep-alive timeout (plus Node's grace buffer) closes it: the pool lets go
  await waitFor(
    () => (r.router.statsDocument().http_router as Record<string, number>).node_pool_idle === 0,
    3000,
  );
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(bodyOf(await c.read(() => c.closed)), 'node');
  assert.equal(n.connections, 2);
  await noSessionsLeft(r);
});

test('Expect with the body already sent: no 100 (RFC 9110 §10.1.1), also when a stale pooled connection is retried', async () => {
  // answers the first request of each connection (keep-alive), drops the connection at the second
  const sockets = new Set<Socket>();
  const seen: string[] = [];
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    let served = 0;
    s.on('data', (d: Buffer) => {
      seen.push(d.toString('latin1'));
      if (++served === 1) s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${d.subarray(-3).toString()}`);
      else s.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  const r = await startRouter(['--http-to', `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`]);
  assert.equal(
    bodyOf(await rawExchange(r.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none')),
    'one',
  );
  // the pooled connection is stale now: the request is retried on a fresh one
  const out = await rawExchange(
    r.port,
    'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\ntwo',
  );
  // the body came with the head: no 100 is due (RFC 9110 §10.1.1), not even after the retry
  assert.equal((out.match(/100 Continue/g) ?? []).length, 0, out);
  assert.equal(bodyOf(out.slice(out.indexOf('HTTP/1.1 200'))), 'two');
  assert.ok(
    seen.every((s) => !/^expect:/im.test(s)),
    'Expect never reaches the node',
  );
  await noSessionsLeft(r);
});
