/**
 * uwrouter in front of an HTTP node (beyond uWSGI, whose HTTP router only speaks uwsgi to
 * nodes): a plain Node.js `http` server with a `ws` server on it, reached with
 * `--http-to http://127.0.0.1:P`. Proves GET/POST byte-exact, keepalive on both sides (one
 * client connection → requests answered in turn; the node sees one reused connection),
 * X-Forwarded-For/Proto/Host as the node sees them (a client-sent X-Forwarded-For dropped
 * unless the peer is a --http-trusted-proxy), and a websocket tunnelled end to end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import {
  dechunk,
  freePort,
  httpGet,
  parseRawHttpResponse,
  rawRequest,
  type ServerHandle,
  startUwrouter,
} from './harness/index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** which node-side connection carried it (1, 2, …) */
  connection: number;
  body: { length: number; sha256: string };
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The HTTP node: answers JSON describing the request; `/echo` streams the body back. */
function startHttpNode(
  keepAliveTimeoutMs = 30000,
): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const ids = new WeakMap<object, number>();
  const server = createServer((req, res) => {
    const status = /^\/status\/(\d{3})$/.exec(req.url ?? '');
    if (status) {
      res.writeHead(Number(status[1]), { etag: '"v1"' });
      res.end();
      return;
    }
    if (req.url === '/chunked') {
      // no Content-Length: Node sends Transfer-Encoding: chunked, one chunk per write
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const next = () => {
        if (i === 50) return res.end();
        res.write(`${String(i++).padStart(2, '0')}${'c'.repeat(998)}`);
        setImmediate(next);
      };
      next();
      return;
    }
    if (req.url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
    });
    req.on('end', () => {
      const seen: Seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        connection: ids.get(req.socket) ?? -1,
        body: { length, sha256: hash.digest('hex') },
      };
      const out = Buffer.from(JSON.stringify(seen));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
    });
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (s) => {
    connections++;
    ids.set(s, connections);
  });
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { req: IncomingMessage }) => info.req.url !== '/deny',
  });
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.headers['x-forwarded-for'] ?? '?'}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === 'object' && addr ? addr.port : 0,
        connections: () => connections,
      });
    });
  });
}

interface Exchanged {
  status: number;
  headers: Record<string, string>;
  /** de-chunked */
  body: Buffer;
}

/** Where a chunked body starting at `pos` ends (after `0\r\n\r\n`), or undefined. */
function chunkedEnd(buf: Buffer, pos: number): number | undefined {
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    pos = eol + 2;
    if (size === 0) return buf.length >= pos + 2 ? pos + 2 : undefined;
    if (buf.length < pos + size + 2) return undefined;
    pos += size + 2;
  }
}

/**
 * Send one request on an open socket and read exactly one response: no body for HEAD, 204
 * and 304; else framed by Content-Length or chunked encoding.
 */
function exchange(
  socket: Socket,
  request: string | Buffer,
  opts: { head?: boolean } = {},
): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(
      () => done(new Error(`no full response: ${JSON.stringify(buf.toString())}`)),
      10000,
    );
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const res = parseRawHttpResponse(buf);
      if (!res) return;
      const out = { status: res.status, headers: res.headers };
      if (opts.head || res.status === 204 || res.status === 304) {
        if (res.body.length > 0) return done(new Error(`a body after a bodiless response: ${res.body}`));
        return done(undefined, { ...out, body: Buffer.alloc(0) });
      }
      if (res.headers['content-length'] !== undefined) {
        const n = Number(res.headers['content-length']);
        if (res.body.length >= n) done(undefined, { ...out, body: res.body.subarray(0, n) });
        return;
      }
      if (/chunked/i.test(res.headers['transfer-encoding'] ?? '')) {
        if (chunkedEnd(res.body, 0) !== undefined) done(undefined, { ...out, body: dechunk(res.body)! });
        return;
      }
      done(new Error(`no framing: ${res.statusLine}`));
    };
    const onClose = () => done(new Error(`closed early: ${JSON.stringify(buf.toString())}`));
    const done = (err?: Error, v?: Exchanged) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(v!);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(request);
  });
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('uwrouter --http-to http://… (an HTTP node: Node.js http + ws)', () => {
  let node: Awaited<ReturnType<typeof startHttpNode>>;
  let router: ServerHandle;
  let trusting: ServerHandle;
  let down: ServerHandle; // → an HTTP node that is not there
  let brief: Awaited<ReturnType<typeof startHttpNode>>; // closes idle connections after 150 ms
  let toBrief: ServerHandle;
  let v6: ServerHandle; // listens on [::1]

  before(async () => {
    node = await startHttpNode();
    const [p1, p2, p3, nowhere] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const common = [
      '--http-to',
      `http://127.0.0.1:${node.port}`,
      '--http-keepalive',
      '--http-websockets',
      '--http-chunked-input',
    ];
    [router, trusting] = await Promise.all([
      startUwrouter(['--http', `127.0.0.1:${p1}`, ...common]),
      startUwrouter(['--http', `127.0.0.1:${p2}`, ...common, '--http-trusted-proxy', '127.0.0.1']),
    ]);
    down = await startUwrouter(['--http', `127.0.0.1:${p3}`, '--http-to', `http://127.0.0.1:${nowhere}`]);
    v6 = await startUwrouter([
      '--http',
      `[::1]:${await freePort('::1')}`,
      '--http-to',
      `http://127.0.0.1:${node.port}`,
    ]);
    brief = await startHttpNode(150);
    toBrief = await startUwrouter([
      '--http',
      `127.0.0.1:${await freePort()}`,
      '--http-to',
      `http://127.0.0.1:${brief.port}`,
    ]);
  });

  after(async () => {
    await Promise.all([router?.stop(), trusting?.stop(), down?.stop(), toBrief?.stop(), v6?.stop()]);
    brief?.server.closeAllConnections();
    brief?.server.close();
    node?.server.closeAllConnections();
    node?.server.close();
  });

  test('GET and a 2 MB POST arrive unchanged; the echo comes back byte-exact', async () => {
    const get = await httpGet(`http://127.0.0.1:${router.port}/path/x?q=1%202`, {
      headers: { host: 'site.example', 'x-custom': 'v' },
    });
    assert.equal(get.status, 200, get.text);
    const seen = JSON.parse(get.text) as Seen;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/path/x?q=1%202');
    assert.equal(seen.headers.host, 'site.example');
    assert.equal(seen.headers['x-custom'], 'v');

    const big = randomBytes(2 * 1024 * 1024 + 5);
    const post = await httpGet(`http://127.0.0.1:${router.port}/upload`, { method: 'POST', body: big });
    assert.equal(post.status, 200);
    const seenPost = JSON.parse(post.text) as Seen;
    assert.equal(seenPost.headers['content-length'], String(big.length));
    assert.deepEqual(seenPost.body, { length: big.length, sha256: sha256(big) });

    const echo = await httpGet(`http://127.0.0.1:${router.port}/echo`, {
      method: 'POST',
      body: big,
      timeoutMs: 20000,
    });
    assert.equal(echo.status, 200);
    assert.ok(echo.body.equals(big), `echo of ${echo.body.length} bytes equals`);
  });

  test('keepalive both sides: 5 requests on one client connection reuse one node connection', async () => {
    const before = node.connections();
    const socket = await openSocket(router.port!);
    try {
      const nodeConns = new Set<number>();
      for (let i = 0; i < 5; i++) {
        const body = i % 2 ? `body-${i}` : '';
        const r = await exchange(
          socket,
          `${body ? 'POST' : 'GET'} /ka/${i} HTTP/1.1\r\nHost: ka.example\r\n` +
            (body ? `Content-Length: ${body.length}\r\n` : '') +
            `\r\n${body}`,
        );
        assert.equal(r.status, 200);
        assert.notEqual(r.headers.connection, 'close');
        const seen = JSON.parse(r.body.toString()) as Seen;
        assert.equal(seen.url, `/ka/${i}`);
        assert.equal(seen.body.length, body.length);
        // hop-by-hop: the router speaks its own connection management to the node
        assert.notEqual(seen.headers.connection, 'close');
        nodeConns.add(seen.connection);
      }
      assert.ok(!socket.destroyed, 'the client connection is still open');
      assert.equal(nodeConns.size, 1, `node-side connections used: ${[...nodeConns]}`);
      assert.ok(node.connections() - before <= 1, `new node connections: ${node.connections() - before}`);
    } finally {
      socket.destroy();
    }
  });

  test('bodiless answers (HEAD, 204, 304) and a chunked one keep the keepalive connection in step', async () => {
    const socket = await openSocket(router.port!);
    try {
      const head = await exchange(socket, 'HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n', { head: true });
      assert.equal(head.status, 200);
      assert.ok(Number(head.headers['content-length']) > 0, 'HEAD keeps the Content-Length of the GET');
      assert.equal((await exchange(socket, 'GET /status/204 HTTP/1.1\r\nHost: h\r\n\r\n')).status, 204);
      const notModified = await exchange(
        socket,
        'GET /status/304 HTTP/1.1\r\nHost: h\r\nIf-None-Match: "v1"\r\n\r\n',
      );
      assert.equal(notModified.status, 304);
      const chunked = await exchange(socket, 'GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n');
      assert.equal(chunked.status, 200);
      assert.equal(chunked.body.length, 50 * 1000);
      assert.equal(chunked.body.subarray(49000, 49002).toString(), '49');
      // and the connection still carries a normal request after all of them
      const last = await exchange(socket, 'GET /last HTTP/1.1\r\nHost: h\r\n\r\n');
      assert.equal((JSON.parse(last.body.toString()) as Seen).url, '/last');
    } finally {
      socket.destroy();
    }
  });

  test('a node that closes idle pooled connections (150 ms): requests around that moment still succeed', async () => {
    const failures: string[] = [];
    for (let pause = 100; pause <= 220; pause += 8) {
      const r = await httpGet(`http://127.0.0.1:${toBrief.port}/p/${pause}`, { timeoutMs: 5000 }).catch(
        (err: Error) => ({ status: -1, text: err.message }),
      );
      if (r.status !== 200) failures.push(`after ${pause} ms: ${r.status} ${r.text.slice(0, 60)}`);
      await sleep(pause);
    }
    assert.deepEqual(failures, []);
  });

  test('an HTTP node that is not listening: 502 with Connection: close', async () => {
    const res = await httpGet(`http://127.0.0.1:${down.port}/`);
    assert.equal(res.status, 502);
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.text, 'could not connect to any node for this host\n');
  });

  test('--http-chunked-input: a chunked upload reaches the HTTP node decoded and byte-exact', async () => {
    const pieces = [randomBytes(10), randomBytes(100000), randomBytes(3)];
    const whole = Buffer.concat(pieces);
    const socket = await openSocket(router.port!);
    try {
      const body = Buffer.concat([
        ...pieces.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]),
        Buffer.from('0\r\n\r\n'),
      ]);
      const r = await exchange(
        socket,
        Buffer.concat([
          Buffer.from('POST /chunked-up HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n'),
          body,
        ]),
      );
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body.toString()) as Seen;
      assert.equal(seen.headers['transfer-encoding'], 'chunked');
      assert.deepEqual(seen.body, { length: whole.length, sha256: sha256(whole) });
    } finally {
      socket.destroy();
    }
  });

  test('X-Forwarded-For/Proto/Host are set; a client-sent X-Forwarded-For is dropped', async () => {
    const r = await httpGet(`http://127.0.0.1:${router.port}/`, {
      headers: { host: 'fw.example:8080', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    });
    const seen = JSON.parse(r.text) as Seen;
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'fw.example:8080');
    assert.equal(seen.headers.host, 'fw.example:8080');
  });

  test('an IPv6 listener ([::1]): the node sees X-Forwarded-For ::1', async () => {
    const r = await httpGet(`http://[::1]:${v6.port}/v6`, { headers: { host: 'six.example' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.text) as Seen;
    assert.equal(seen.url, '/v6');
    assert.equal(seen.headers['x-forwarded-for'], '::1');
    assert.equal(seen.headers['x-forwarded-host'], 'six.example');
  });

  test('an HTTP/1.0 request without Host reaches the HTTP node (an empty Host is supplied)', async () => {
    for (const req of ['GET /old HTTP/1.0\r\n\r\n', 'GET /empty HTTP/1.0\r\nHost: \r\n\r\n']) {
      const res = parseRawHttpResponse(await rawRequest(router.port!, req, { timeoutMs: 5000 }));
      assert.equal(res?.status, 200, `${req.split('\r\n')[0]}: ${res?.statusLine}`);
      const seen = JSON.parse(res!.body.toString()) as Seen;
      assert.equal(seen.headers.host, '');
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    }
  });

  test('--http-trusted-proxy 127.0.0.1: the client’s X-Forwarded-For is kept and extended', async () => {
    const r = await httpGet(`http://127.0.0.1:${trusting.port}/`, {
      headers: { host: 'fw.example', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    const seen = JSON.parse(r.text) as Seen;
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  });

  test('a websocket is tunnelled: text and binary frames keep their type, the close code arrives', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/ws`);
    const received: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data, binary) => received.push({ data: Buffer.from(data as Buffer), binary }));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const sent = [
      { data: Buffer.from('text one'), binary: false },
      { data: randomBytes(100000), binary: true },
      { data: Buffer.from('ß'.repeat(30000)), binary: false },
      { data: Buffer.from([0]), binary: true },
    ];
    for (const m of sent) ws.send(m.data, { binary: m.binary });
    const deadline = Date.now() + 10000;
    while (received.length < sent.length + 1 && Date.now() < deadline) await sleep(20);
    assert.equal(
      received[0]?.data.toString(),
      'hello 127.0.0.1',
      'the node saw X-Forwarded-For on the upgrade',
    );
    assert.deepEqual(
      received.slice(1).map((m) => [sha256(m.data), m.binary]),
      sent.map((m) => [sha256(m.data), m.binary]),
    );
    const closed = new Promise<[number, string]>((r) =>
      ws.once('close', (code: number, reason: Buffer) => r([code, reason.toString()])),
    );
    ws.close(4001, 'done here');
    const got = await Promise.race([closed, sleep(5000).then(() => [-1, ''] as [number, string])]);
    assert.deepEqual(got, [4001, 'done here']);
  });
  test('a websocket upgrade the node refuses (401) reaches the client as that answer', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/deny`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', (err) => reject(err));
    });
    assert.equal(status, 401);
    ws.terminate();
    // the router still tunnels the next upgrade
    const ok = new WebSocket(`ws://127.0.0.1:${router.port}/ws`);
    const first = await new Promise<string>((resolve, reject) => {
      ok.once('message', (d) => resolve(String(d)));
      ok.once('error', reject);
    });
    assert.equal(first, 'hello 127.0.0.1');
    ok.terminate();
  });
});
