/**
 * The HTTP router's request log: one line per request, however it ends, with what the
 * client and the node saw (status, bytes both ways, key, node, code, timings).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { RequestLog } from '../../src/request-log.ts';
import { captureLogger } from '../log-capture.ts';
import {
  noSessionsLeft,
  onCleanup,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

type Line = Record<string, unknown>;

function jsonLog(): { log: RequestLog; lines: Line[] } {
  const lines: Line[] = [];
  const log = new RequestLog({
    format: 'json',
    stream: {
      write: (l: string) => {
        lines.push(JSON.parse(l) as Line);
        return true;
      },
    },
    log: captureLogger().log,
  });
  return { log, lines };
}

const WS_HEAD =
  'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

test('answered requests: status, bytes each way, key, node and timings, one line each', async () => {
  const n = await uwsgiNode((req) => {
    const body = `got ${req.body.length}`;
    req.socket.end(`HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  const { log, lines } = jsonLog();
  const r = await startRouter(['--http-to', n.address, '--http-keepalive'], true, log);
  const c = await RawClient.open(r.port);
  const port = c.socket.localPort;
  c.write('GET /first?x=1 HTTP/1.1\r\nHost: Site.Example\r\nX-A: 1\r\n\r\n');
  const first = await c.readResponse();
  c.write('POST /up HTTP/1.1\r\nHost: site.example\r\nContent-Length: 5\r\n\r\nhello');
  const second = await c.readResponse();
  c.socket.end();
  await noSessionsLeft(r);
  assert.equal(lines.length, 2);
  const [a, b] = lines;
  assert.deepEqual(
    [a.router, a.method, a.uri, a.protocol, a.status, a.key, a.node, a.code, a.client_addr, a.client_port],
    ['http', 'GET', '/first?x=1', 'HTTP/1.1', 201, 'site.example', n.address, null, '127.0.0.1', port],
  );
  assert.equal(a.response_bytes, Buffer.byteLength(first, 'latin1'));
  assert.equal(a.request_body_bytes, 0);
  assert.deepEqual([b.method, b.status, b.request_body_bytes], ['POST', 201, 5]);
  assert.equal(b.response_bytes, Buffer.byteLength(second, 'latin1'));
  for (const l of lines) {
    const [connect, ttfb, total] = [l.connect_ms, l.ttfb_ms, l.total_ms] as number[];
    assert.ok(connect >= 0 && ttfb >= connect && total >= ttfb, JSON.stringify(l));
  }
});

test('requests the router answers or that end early: status, code, one line each', async () => {
  const cut = await uwsgiNode((req) => {
    if (req.vars.get('REQUEST_URI') === '/cut') {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      setTimeout(() => req.socket.destroy(), 30);
    }
    // '/slow': never answers
  });
  const { log, lines } = jsonLog();
  const r = await startRouter(['--http-to', cut.address], true, log);
  await rawExchange(r.port, 'GET / HTTP/1.1\nHost: a\n\n');
  await rawExchange(r.port, 'GET /cut HTTP/1.1\r\nHost: a\r\n\r\n');
  const c = await RawClient.open(r.port);
  c.write('POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
  await waitFor(() => cut.connections === 2);
  c.socket.destroy();
  await noSessionsLeft(r);
  const unknown = await startRouter([], true, log);
  await rawExchange(unknown.port, 'GET /nowhere HTTP/1.1\r\nHost: nowhere.example\r\n\r\n');
  await noSessionsLeft(unknown);
  const view = lines.map((l) => [l.method, l.uri, l.status, l.code, l.node === null ? null : 'node']);
  assert.deepEqual(view, [
    ['-', '-', 400, 'UWR_ERR_BAD_REQUEST', null],
    ['GET', '/cut', 200, 'UWR_ERR_BACKEND_CLOSED', 'node'],
    ['POST', '/slow', 0, 'UWR_ERR_CLIENT_CLOSED', 'node'],
    ['GET', '/nowhere', 404, 'UWR_ERR_NO_KEY', null],
  ]);
  assert.equal(lines[2].request_body_bytes, 3);
  // written after the client's socket closed: its peer was kept
  assert.deepEqual(
    lines.map((l) => l.client_addr),
    ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1'],
  );
});

test('a redirect, a websocket tunnel and a request retried on a fresh node connection: one line each', async () => {
  const n = await uwsgiNode(
    (req) => {
      req.socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      );
      req.socket.resume();
      req.socket.on('data', (d: Buffer) => req.socket.write(d));
    },
    { early: true },
  );
  const { log, lines } = jsonLog();
  const redirect = await startRouter(['--http-to-https', '127.0.0.1:0'], false, log);
  await rawExchange(redirect.port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
  const r = await startRouter(['--http-to', n.address, '--http-websockets'], true, log);
  const c = await RawClient.open(r.port);
  c.write(WS_HEAD);
  await c.read((t) => t.includes('101 Switching'));
  c.write('ping');
  await c.read((t) => t.includes('ping'));
  assert.equal(lines.length, 1, `the tunnel is logged when it ends: ${JSON.stringify(lines)}`);
  c.socket.end();
  await noSessionsLeft(r);
  // a stale pooled HTTP-node connection: the request is retried on a fresh one, logged once
  const stale = createServer((s) => {
    let served = 0;
    s.on('error', () => {});
    s.on('data', () => {
      if (++served === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.destroy();
    });
  });
  stale.listen(0, '127.0.0.1');
  await once(stale, 'listening');
  onCleanup(() => {
    stale.close();
  });
  const a = stale.address();
  const h = await startRouter(
    ['--http-to', `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`],
    true,
    log,
  );
  await rawExchange(h.port, 'GET /one HTTP/1.1\r\nHost: a\r\n\r\n');
  await rawExchange(h.port, 'GET /two HTTP/1.1\r\nHost: a\r\n\r\n');
  await noSessionsLeft(h);
  const view = lines.map((l) => [l.uri, l.status, l.code]);
  assert.deepEqual(view, [
    ['/x', 301, null],
    ['/ws', 101, null],
    ['/one', 200, null],
    ['/two', 200, null],
  ]);
  assert.ok((lines[1].response_bytes as number) > 4, 'the tunnel bytes count');
});
