/**
 * What a node's answer may do to the client connection: only a valid HTTP/1.x response
 * is relayed (502 + a log line otherwise, for uwsgi and HTTP nodes), interim heads are
 * filtered, a 101 switches only a websocket upgrade the router holds, and a refused
 * upgrade leaves the client's following bytes to be parsed as the next request.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import {
  bodyOf,
  headOf,
  noSessionsLeft,
  onCleanup,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
} from './fakes.ts';

/** A node that answers `reply` to the first read and closes, or (`close` false) to every read; keeps every byte. */
async function scriptedNode(
  reply: (connection: number) => string | Buffer,
  close = true,
): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    const n = received.length;
    received.push(Buffer.alloc(0));
    sockets.add(s);
    s.on('error', () => {});
    let answered = false;
    s.on('data', (d: Buffer) => {
      received[n] = Buffer.concat([received[n], d]);
      // closing nodes answer once; keep-alive ones answer every request (one per read here)
      if (answered && close) return;
      answered = true;
      if (close) s.end(reply(n));
      else s.write(reply(n));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, received };
}

const MARK = 'SECRET-NODE-BYTES';
const INVALID: Array<[string, string]> = [
  [`HTTP/1.1 2OO OK\r\n\r\n${MARK}`, 'bad-status-line'],
  [`${MARK} 200 OK\r\n\r\n`, 'bad-status-line'],
  [`HTTP/1.1 200 OK\r\nX: a\r\n ${MARK}\r\n\r\n`, 'obs-fold'],
  [`HTTP/1.1 200 OK\r\nX-${MARK} : a\r\n\r\n`, 'bad-header-line'],
  [
    `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n${MARK}`,
    'content-length-and-transfer-encoding',
  ],
  [`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n${MARK}`, 'conflicting-content-length'],
  [`HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n${MARK}`, 'bad-content-length'],
  [`HTTP/1.1 200 OK\nX: ${MARK}\n\n`, 'bare-lf'],
  [`HTTP/1.1 200 OK\r\nX: ${MARK}\r\n`, 'closed before the end of its response head'],
  [`HTTP/1.1 200 OK\r\nX: ${'x'.repeat(70000)}${MARK}\r\n\r\n`, 'head-too-large'],
];

for (const kind of ['uwsgi', 'http'] as const) {
  test(`${kind} node: an answer that is not valid HTTP/1.x is a 502 with a log line, never its bytes`, async () => {
    let i = 0;
    const node = await scriptedNode(() => INVALID[i][0]);
    const r = await startRouter([
      '--http-to',
      kind === 'http' ? `http://127.0.0.1:${node.port}` : `127.0.0.1:${node.port}`,
    ]);
    for (; i < INVALID.length; i++) {
      const [reply, why] = INVALID[i];
      const out = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(out, /^HTTP\/1\.1 502 Bad Gateway\r\n/, JSON.stringify(reply.slice(0, 60)));
      assert.equal(bodyOf(out), 'the node for this host did not send a valid answer\n');
      assert.ok(!out.includes(MARK), out);
      assert.ok(
        r.lines.some((l) => l.includes(why) && l.includes(': 502')),
        `log line naming ${why}: ${r.lines.at(-1)}`,
      );
    }
    assert.equal(r.router.counters.get('UWR_ERR_BAD_RESPONSE'), INVALID.length);
    await noSessionsLeft(r);
  });
}

test('a 101 to a request that asked for no upgrade: 502, the next client bytes never reach the node', async () => {
  for (const websockets of [false, true]) {
    const node = await scriptedNode(
      () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      false,
    );
    const r = await startRouter([
      '--http-to',
      `http://127.0.0.1:${node.port}`,
      ...(websockets ? ['--http-websockets'] : []),
    ]);
    const c = await RawClient.open(r.port);
    c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const out = await c.read(() => c.closed);
    assert.match(out, /^HTTP\/1\.1 502 /);
    c.socket.write(`GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(node.received.length, 1);
    assert.ok(!node.received[0].toString().includes('/smuggled'));
    assert.ok(r.lines.some((l) => l.includes('a 101 to a request that asked for no upgrade')));
    await noSessionsLeft(r);
  }
});

test('interim heads: 100 and 103 relayed to HTTP/1.1 clients, 102 dropped, none to HTTP/1.0; too many: 502', async () => {
  const interim =
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
  const node = await scriptedNode(() => `${interim}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
  const r = await startRouter(['--http-to', `http://127.0.0.1:${node.port}`]);
  const v11 = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.deepEqual(
    v11.split('\r\n').filter((l) => l.startsWith('HTTP/')),
    ['HTTP/1.1 100 Continue', 'HTTP/1.1 103 Early Hints', 'HTTP/1.1 200 OK'],
  );
  assert.ok(v11.endsWith('\r\n\r\nok'));
  const v10 = await rawExchange(r.port, 'GET / HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.deepEqual(
    v10.split('\r\n').filter((l) => l.startsWith('HTTP/')),
    ['HTTP/1.1 200 OK'],
  );
  const flood = await scriptedNode(() => 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(17));
  const r2 = await startRouter(['--http-to', `http://127.0.0.1:${flood.port}`]);
  const out = await rawExchange(r2.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((out.match(/100 Continue/g) ?? []).length, 16);
  assert.match(out, /HTTP\/1\.1 502 Bad Gateway\r\n/);
  await noSessionsLeft(r);
  await noSessionsLeft(r2);
});

test('HTTP node with keepalive: the client never sees the node Connection/Keep-Alive lines', async () => {
  const node = await scriptedNode(
    () =>
      'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok',
    false,
  );
  const r = await startRouter(['--http-to', `http://127.0.0.1:${node.port}`, '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const first = await c.readResponse();
  assert.equal(headOf(first), 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n');
  c.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const second = await c.read(() => c.closed);
  assert.equal(headOf(second), 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n');
  await noSessionsLeft(r);
});

const WS_HEAD =
  'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

test('uwsgi node refuses a websocket upgrade: the bytes after it are the next request, not tunnel bytes', async () => {
  const n = await uwsgiNode((req) => {
    const body = `saw ${req.vars.get('REQUEST_URI')}`;
    req.socket.end(
      `HTTP/1.1 ${req.vars.get('HTTP_UPGRADE') ? '403 Forbidden' : '200 OK'}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  const r = await startRouter(['--http-to', n.address, '--http-websockets', '--http-keepalive']);
  const c = await RawClient.open(r.port);
  c.write(`${WS_HEAD}GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  const out = await c.read(() => c.closed);
  assert.deepEqual(out.match(/HTTP\/1\.1 \d{3}|saw \/[a-z]+/g), [
    'HTTP/1.1 403',
    'saw /ws',
    'HTTP/1.1 200',
    'saw /next',
  ]);
  // two uwsgi packets on two connections; the first carried nothing after its packet
  assert.equal(n.requests.length, 2);
  assert.equal(n.requests[0].body.length, 0);
  assert.equal(n.requests[1].vars.get('REQUEST_URI'), '/next');
  assert.equal(n.requests[1].vars.get('REMOTE_ADDR'), '127.0.0.1');
  assert.equal((r.router.statsDocument().http_router as Record<string, number>).websockets, 0);
  await noSessionsLeft(r);
});

test('HTTP node refuses a websocket upgrade: its connection gets the head only; the next request is routed', async () => {
  const node = await scriptedNode(
    (conn) =>
      conn === 0
        ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'
        : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    false,
  );
  const r = await startRouter([
    '--http-to',
    `http://127.0.0.1:${node.port}`,
    '--http-websockets',
    '--http-keepalive',
  ]);
  const c = await RawClient.open(r.port);
  c.write(`${WS_HEAD}GET /next HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n`);
  const out = await c.read(() => c.closed);
  assert.deepEqual(out.match(/HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 403', 'HTTP/1.1 200']);
  assert.ok(out.endsWith('\r\n\r\nok'));
  // the refused connection carried exactly one head and nothing after it
  const first = node.received[0].toString('latin1');
  assert.ok(first.startsWith('GET /ws HTTP/1.1\r\n') && first.endsWith('\r\n\r\n'), first);
  assert.equal(first.indexOf('\r\n\r\n'), first.length - 4);
  // the next request came through the router's own parser, on another node connection
  const second = node.received[1].toString('latin1');
  assert.match(second, /^GET \/next HTTP\/1\.1\r\n/);
  assert.match(second, /\r\nX-Forwarded-For: 127\.0\.0\.1\r\n/);
  assert.match(second, /\r\nVia: 1\.1 uwrouter-[0-9a-f]{8}\r\n/);
  await noSessionsLeft(r);
});

test('uwsgi node accepts: bytes the client sent early are held until the 101, then tunnelled', async () => {
  let beforeSwitch = '';
  const n = await uwsgiNode(
    (req) => {
      // what reached the node with (or before) its packet: nothing past the request
      beforeSwitch = req.body.toString();
      req.socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      );
      req.socket.on('data', (d: Buffer) => req.socket.write(`echo:${d.toString()}`));
      req.socket.resume();
    },
    { early: true },
  );
  const r = await startRouter(['--http-to', n.address, '--http-websockets']);
  const c = await RawClient.open(r.port);
  c.write(`${WS_HEAD}early-bytes`);
  const out = await c.read((t) => t.includes('echo:early-bytes'));
  assert.match(out, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.equal(beforeSwitch, '');
  c.write('later');
  assert.equal(await c.read((t) => t.includes('echo:later')), 'echo:later');
  c.socket.destroy();
  await noSessionsLeft(r);
});

test('HTTP/1.0 websocket request and Expect on an upgrade', async () => {
  // a node that switches whenever it sees an Upgrade header
  const n = await uwsgiNode((req) =>
    req.socket.end(
      req.vars.get('HTTP_UPGRADE') !== undefined
        ? 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\ntunnel'
        : 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nplain',
    ),
  );
  const r = await startRouter(['--http-to', n.address, '--http-websockets', '--http-manage-expect']);
  // HTTP/1.0: Upgrade is ignored (RFC 9110 §7.8), so the router holds no upgrade and a 101
  // is not a valid answer to it
  const v10 = await rawExchange(r.port, WS_HEAD.replace('HTTP/1.1', 'HTTP/1.0'));
  assert.match(v10, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  assert.ok(!v10.includes('tunnel'));
  // Expect on an upgrade: an ordinary request until the 101, so 100 first
  const c = await RawClient.open(r.port);
  c.write(WS_HEAD.replace('\r\n\r\n', '\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n'));
  const out = await c.read((t) => t.includes('101 Switching'));
  assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 101 Switching Protocols\r\n/);
  c.socket.destroy();
  await noSessionsLeft(r);
});

test('Via: a request that names this router, or carries more than 10 hops, is 508', async () => {
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r = await startRouter(['--http-to', n.address]);
  const ten = Array.from({ length: 10 }, (_, i) => `1.1 proxy${i}`).join(', ');
  assert.equal(bodyOf(await rawExchange(r.port, `GET / HTTP/1.1\r\nHost: a\r\nVia: ${ten}\r\n\r\n`)), 'ok');
  const eleven = await rawExchange(
    r.port,
    `GET / HTTP/1.1\r\nHost: a\r\nVia: ${ten}\r\nVia: 1.0 one-more\r\n\r\n`,
  );
  assert.match(eleven, /^HTTP\/1\.1 508 Loop Detected\r\n/);
  assert.equal(n.requests.length, 1);
  assert.equal(r.router.counters.get('UWR_ERR_LOOP_DETECTED'), 1);
  await noSessionsLeft(r);
});
