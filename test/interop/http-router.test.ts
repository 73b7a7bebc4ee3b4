/**
 * uwrouter's HTTP router in front of real uWSGI 2.0 python3 nodes, side by side with
 * uWSGI's own HTTP router where the behaviour is shared: the vars a node receives (values
 * and wire order), multi-MB bodies byte-exact, keepalive, auto-chunked, auto-gzip (also
 * through curl --compressed), Expect: 100-continue, websockets, subscription routing by
 * Host, the error answers (404/502/504) and uWSGI's silent close, and the http-to-https
 * redirect.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { Pool } from 'undici';
import WebSocket from 'ws';
import {
  freePort,
  httpGet,
  parseRawHttpResponse,
  pollUntil,
  type RawHttpResponse,
  rawRequest,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
  waitForPort,
} from './harness/index.ts';

interface EchoVars {
  vars: Record<string, string>;
  body: { length: number; sha256: string };
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
/** uWSGI prints the client port from the network-order u16 (corerouter.md §9) */
const swap16 = (p: number) => ((p & 0xff) << 8) | (p >> 8);

interface ReadResult {
  res: RawHttpResponse;
  /** the body with chunking removed */
  body: Buffer;
}

/**
 * One client TCP connection that can carry several requests in turn (keepalive): reads one
 * response at a time, framed by Content-Length, chunked encoding or the close.
 */
class RawConn {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  private wake: (() => void) | null = null;

  /** our port, kept after the socket is destroyed */
  readonly localPort: number;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.localPort = socket.localPort!;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Wait until `pick` returns something (re-checked on every arrival) or the deadline. */
  private async until<T>(pick: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pick();
      if (v !== undefined) return v;
      if (this.closed) throw new Error(`${what}: connection closed; got ${JSON.stringify(this.text())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out; got ${JSON.stringify(this.text())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
  }

  text(): string {
    return this.buf.toString('latin1').slice(0, 400);
  }

  /** Everything left once the peer closes (resolves on close or after `timeoutMs`). */
  async rest(timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean }> {
    try {
      await this.until(() => (this.closed ? true : undefined), timeoutMs, 'rest');
    } catch {
      // closed without match or timed out: report below
    }
    const data = this.buf;
    this.buf = Buffer.alloc(0);
    return { data, closed: this.closed };
  }

  /** The next response (a 1xx counts as one). */
  async readResponse(timeoutMs = 10000, opts: { head?: boolean } = {}): Promise<ReadResult> {
    const headEnd = await this.until(
      () => {
        const i = this.buf.indexOf('\r\n\r\n');
        return i < 0 ? undefined : i + 4;
      },
      timeoutMs,
      'response head',
    );
    const res = parseRawHttpResponse(this.buf.subarray(0, headEnd))!;
    const take = (n: number): Buffer => {
      const b = Buffer.from(this.buf.subarray(headEnd, headEnd + n));
      this.buf = this.buf.subarray(headEnd + n);
      return b;
    };
    if ((res.status >= 100 && res.status < 200) || res.status === 204 || res.status === 304 || opts.head) {
      take(0);
      return { res, body: Buffer.alloc(0) };
    }
    const cl = res.headers['content-length'];
    if (cl !== undefined) {
      const n = Number(cl);
      await this.until(() => (this.buf.length - headEnd >= n ? true : undefined), timeoutMs, 'body');
      const body = take(n);
      return { res: { ...res, body }, body };
    }
    if (/chunked/i.test(res.headers['transfer-encoding'] ?? '')) {
      const end = await this.until(() => chunkedEnd(this.buf, headEnd), timeoutMs, 'chunked body');
      const raw = take(end - headEnd);
      return { res: { ...res, body: raw }, body: dechunkStrict(raw) };
    }
    await this.until(() => (this.closed ? true : undefined), timeoutMs, 'close-delimited body').catch(
      () => undefined,
    );
    const body = take(this.buf.length - headEnd);
    return { res: { ...res, body }, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Where a chunked body that starts at `pos` ends (after `0\r\n\r\n`), or undefined. */
function chunkedEnd(buf: Buffer, pos: number): number | undefined {
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error(`bad chunk size line at ${pos}`);
    pos = eol + 2;
    if (size === 0) return buf.length >= pos + 2 ? pos + 2 : undefined;
    if (buf.length < pos + size + 2) return undefined;
    pos += size + 2;
  }
}

function dechunkStrict(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    const size = Number.parseInt(raw.subarray(pos, eol).toString('latin1'), 16);
    pos = eol + 2;
    if (size === 0) return Buffer.concat(out);
    out.push(raw.subarray(pos, pos + size));
    assert.equal(raw.subarray(pos + size, pos + size + 2).toString(), '\r\n', 'chunk ends with CRLF');
    pos += size + 2;
  }
}

/**
 * A TCP hop in front of a uwsgi node that records each request's uwsgi header and the var
 * keys in wire order, then relays every byte both ways (the node answers as usual).
 */
interface CapturedPacket {
  modifier1: number;
  modifier2: number;
  keys: string[];
  vars: Map<string, string>;
}

async function startCaptureHop(target: { host: string; port: number }): Promise<{
  server: Server;
  port: number;
  packets: CapturedPacket[];
}> {
  const packets: CapturedPacket[] = [];
  const server = createServer((client) => {
    const up = connect(target);
    let head: Buffer | null = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      up.write(d);
      if (head === null) return;
      head = Buffer.concat([head, d]);
      if (head.length < 4) return;
      const size = head.readUInt16LE(1);
      if (head.length < 4 + size) return;
      const keys: string[] = [];
      const vars = new Map<string, string>();
      let p = 4;
      while (p < 4 + size) {
        const kl = head.readUInt16LE(p);
        const k = head.subarray(p + 2, p + 2 + kl).toString('latin1');
        p += 2 + kl;
        const vl = head.readUInt16LE(p);
        vars.set(k, head.subarray(p + 2, p + 2 + vl).toString('latin1'));
        p += 2 + vl;
        keys.push(k);
      }
      packets.push({ modifier1: head[0]!, modifier2: head[3]!, keys, vars });
      head = null;
    });
    up.pipe(client);
    client.on('end', () => up.end());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('error', () => undefined);
    up.on('error', () => client.destroy());
  });
  // port 0: a freePort() here could hand out a port already promised to a router below
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, packets };
}

function curl(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '-S', '--max-time', '10', ...args],
      { encoding: 'buffer', timeout: 15000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)),
    );
  });
}

const GZIP_TEXT = Array.from(
  { length: 200 },
  (_, i) => `line ${String(i).padStart(3, '0')}: the quick brown fox jumps over the lazy dog\n`,
).join('');

describe('uwrouter --http in front of real uWSGI nodes', () => {
  const started: ServerHandle[] = [];
  let hop: Awaited<ReturnType<typeof startCaptureHop>>;
  let vars: ServerHandle; // echo_vars
  let slow: ServerHandle;
  let victim: ServerHandle;
  let nolength: ServerHandle;
  let chunkedIn: ServerHandle;
  let rVars: ServerHandle; // uwrouter → hop → echo_vars
  let uVars: ServerHandle; // uWSGI → hop → echo_vars
  let rSub: ServerHandle; // uwrouter, subscription-routed, every feature on
  let uChunk: ServerHandle; // uWSGI keepalive + auto-chunked → nolength
  let uChunkedIn: ServerHandle; // uWSGI --http-chunked-input → chunked_in
  let rTimeout: ServerHandle;
  let rSilent: ServerHandle;
  let uSilent: ServerHandle;
  let rDead: ServerHandle;
  let rExpect10: ServerHandle;
  let rRedirect: ServerHandle;
  let redirectPort: number;
  let uRedirectPort: number;

  before(async () => {
    const subPort = await freePort();
    const [rSubPort, ...ports] = await Promise.all(Array.from({ length: 14 }, () => freePort()));
    // the subscription router first, so the nodes' first announce is heard
    rSub = await startUwrouter([
      '--http',
      `127.0.0.1:${rSubPort}`,
      '--http-subscription-server',
      `127.0.0.1:${subPort}`,
      '--http-keepalive=2',
      '--http-auto-chunked',
      '--http-auto-gzip',
      '--http-manage-expect',
      '--http-websockets',
      '--http-chunked-input',
    ]);
    const sub = (key: string) => ['--subscribe-to', `127.0.0.1:${subPort}:${key}`];
    let body: ServerHandle;
    let gzip: ServerHandle;
    let ws: ServerHandle;
    let a: ServerHandle;
    let b: ServerHandle;
    [vars, body, nolength, gzip, ws, slow, victim, a, b, chunkedIn] = await Promise.all([
      startUwsgiNode({ app: 'echo_vars.py', args: sub('vars.test') }),
      startUwsgiNode({ app: 'echo_body.py', processes: 2, args: sub('body.test') }),
      startUwsgiNode({ app: 'nolength.py', args: sub('nolength.test') }),
      startUwsgiNode({ app: 'gzip_hint.py', args: sub('gzip.test') }),
      startUwsgiNode({ app: 'ws_echo.py', processes: 2, args: sub('ws.test') }),
      startUwsgiNode({ app: 'slow.py', processes: 2 }),
      startUwsgiNode({ app: 'hello.py' }),
      startUwsgiNode({ app: 'whoami.py', name: 'node-a', args: sub('a.example') }),
      startUwsgiNode({ app: 'whoami.py', name: 'node-b', args: sub('b.example') }),
      startUwsgiNode({ app: 'chunked_in.py', args: sub('chunked.test') }),
    ]);
    started.push(rSub, vars, body, nolength, gzip, ws, slow, victim, a, b, chunkedIn);
    hop = await startCaptureHop({ host: '127.0.0.1', port: vars.port! });
    const hopAddr = `127.0.0.1:${hop.port}`;
    const at = (i: number) => `127.0.0.1:${ports[i]}`;
    redirectPort = ports[9]!;
    uRedirectPort = ports[10]!;
    [rVars, uVars, uChunk, rTimeout, rSilent, uSilent, rDead, rExpect10, rRedirect] = await Promise.all([
      startUwrouter(['--http', at(0), '--http-to', hopAddr]),
      startUwsgiRouter('http', ['--http', at(1), '--http-to', hopAddr]),
      startUwsgiRouter('http', [
        '--http',
        at(2),
        '--http-to',
        nolength.address,
        '--http-keepalive',
        '--http-auto-chunked',
      ]),
      startUwrouter(['--http', at(3), '--http-to', slow.address, '--http-timeout', '1']),
      startUwrouter([
        '--http',
        at(4),
        '--http-to',
        slow.address,
        '--http-timeout',
        '1',
        '--http-silent-errors',
      ]),
      startUwsgiRouter('http', ['--http', at(5), '--http-to', slow.address, '--http-timeout', '1']),
      startUwrouter(['--http', at(6), '--http-to', victim.address]),
      startUwrouter(['--http', at(7), '--http-to', vars.address, '--http-manage-expect=10']),
      startUwrouter(['--http', at(8), '--http-to', vars.address, '--http-to-https', `${at(9)},8443`]),
    ]);
    started.push(rVars, uVars, uChunk, rTimeout, rSilent, uSilent, rDead, rExpect10, rRedirect);
    uChunkedIn = await startUwsgiRouter('http', [
      '--http',
      at(11),
      '--http-to',
      chunkedIn.address,
      '--http-chunked-input',
    ]);
    started.push(uChunkedIn);
    await waitForPort(redirectPort);
    // uWSGI's redirect-only listener, as reference (readiness: its own port)
    started.push(
      await startUwsgiRouter('http', ['--http-to-https', `${at(10)},8443`], { port: uRedirectPort }),
    );
    // every subscribed key routable
    await Promise.all(
      [
        'vars.test',
        'body.test',
        'nolength.test',
        'gzip.test',
        'ws.test',
        'a.example',
        'b.example',
        'chunked.test',
      ].map((key) =>
        pollUntil(
          `${key} routable`,
          async () => {
            const r = await httpGet(`http://127.0.0.1:${rSub.port}/`, {
              headers: { host: key },
              timeoutMs: 3000,
            });
            return r.status === 200 || r.status === 101 ? true : undefined;
          },
          { retryErrors: true, intervalMs: 100 },
        ),
      ),
    );
  });

  after(async () => {
    hop?.server.close();
    await Promise.all(started.map((s) => s.stop()));
  });

  test('a node receives the same vars, in the same order, as from uWSGI’s HTTP router', async () => {
    const request = (probe: string) =>
      'POST /a%20b/./c/../d?x=1&y=%20 HTTP/1.1\r\n' +
      'Host: Example.COM:8080\r\n' +
      'User-Agent: probe/1\r\n' +
      `X-Probe: ${probe}\r\n` +
      'Cookie: a=1\r\n' +
      'Accept: */*\r\n' +
      'Cookie: b=2\r\n' +
      'Content-Type: text/plain\r\n' +
      'X_Under: u\r\n' +
      'Content-Length: 5\r\n\r\nhello';
    const seen: Record<string, { got: EchoVars; localPort: number; packet: CapturedPacket }> = {};
    for (const [name, router] of [
      ['uwsgi', uVars],
      ['uwrouter', rVars],
    ] as const) {
      const conn = await RawConn.open(router.port!);
      conn.write(request(name));
      const { res, body } = await conn.readResponse();
      conn.close();
      assert.equal(res.status, 200, `${name}: ${body.toString()}`);
      const got = JSON.parse(body.toString()) as EchoVars;
      const packet = hop.packets.find((p) => p.vars.get('HTTP_X_PROBE') === name);
      assert.ok(packet, `${name}: the hop saw the packet`);
      seen[name] = { got, localPort: conn.localPort, packet };
    }
    const u = seen.uwsgi!;
    const w = seen.uwrouter!;
    // explained differences: REMOTE_PORT (uWSGI byte-swaps it, uwrouter sends the real port),
    // SERVER_PORT (each router's own listening port), HTTP_X_PROBE (the tag above)
    assert.equal(u.got.vars.REMOTE_PORT, String(swap16(u.localPort)));
    assert.equal(w.got.vars.REMOTE_PORT, String(w.localPort));
    assert.equal(u.got.vars.SERVER_PORT, String(uVars.port));
    assert.equal(w.got.vars.SERVER_PORT, String(rVars.port));
    // SERVER_NAME is the machine's hostname for both (no http-server-name-as-http-host)
    assert.equal(u.got.vars.SERVER_NAME, hostname());
    assert.equal(w.got.vars.SERVER_NAME, hostname());
    const strip = (v: Record<string, string>) => {
      const { REMOTE_PORT: _p, SERVER_PORT: _s, HTTP_X_PROBE: _x, ...rest } = v;
      return rest;
    };
    assert.deepEqual(strip(w.got.vars), strip(u.got.vars));
    assert.equal(w.got.vars.PATH_INFO, '/a b/d');
    assert.equal(w.got.vars.HTTP_COOKIE, 'a=1, b=2');
    assert.deepEqual(w.got.body, u.got.body);
    assert.equal(w.got.body.sha256, sha256('hello'));
    // wire order and header modifiers
    assert.deepEqual(w.packet.keys, u.packet.keys);
    assert.deepEqual([w.packet.modifier1, w.packet.modifier2], [u.packet.modifier1, u.packet.modifier2]);
  });

  test('an absolute-form request line: the path is the URI, the authority the host (RFC 9112 §3.2.2; uWSGI differs)', async () => {
    const request = (probe: string) =>
      `GET http://abs.example:8080/p%41th/x?q=1 HTTP/1.1\r\nHost: other.example\r\nX-Probe: abs-${probe}\r\n\r\n`;
    const got: Record<string, string>[] = [];
    const keys: string[][] = [];
    for (const [name, router] of [
      ['uwsgi', uVars],
      ['uwrouter', rVars],
    ] as const) {
      const res = parseRawHttpResponse(await rawRequest(router.port!, request(name)));
      assert.equal(res?.status, 200, `${name}: ${res?.statusLine}`);
      got.push((JSON.parse(res!.body.toString()) as EchoVars).vars);
      keys.push(hop.packets.find((p) => p.vars.get('HTTP_X_PROBE') === `abs-${name}`)!.keys);
    }
    const pick = (v: Record<string, string>) => [v.REQUEST_URI, v.PATH_INFO, v.QUERY_STRING, v.HTTP_HOST];
    // uWSGI decodes the whole target as a relative path and keeps the Host header
    assert.deepEqual(pick(got[0]!), [
      'http://abs.example:8080/p%41th/x?q=1',
      'http://abs.example:8080/pAth/x',
      'q=1',
      'other.example',
    ]);
    // uwrouter: the origin-form path (as nginx's REQUEST_URI) and the authority as Host
    assert.deepEqual(pick(got[1]!), ['/p%41th/x?q=1', '/pAth/x', 'q=1', 'abs.example:8080']);
    assert.deepEqual(keys[1], keys[0]);
  });

  test('routing keys: the absolute-form authority, and Host matched case-insensitively without a trailing dot', async () => {
    for (const [request, name] of [
      ['GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n', 'node-a'],
      ['GET http://B.Example./ HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', 'node-b'],
      ['GET / HTTP/1.1\r\nHost: A.EXAMPLE.\r\nConnection: close\r\n\r\n', 'node-a'],
      ['GET / HTTP/1.1\r\nHost: b.Example\r\nConnection: close\r\n\r\n', 'node-b'],
    ] as const) {
      const res = parseRawHttpResponse(await rawRequest(rSub.port!, request, { timeoutMs: 5000 }));
      assert.equal(res?.status, 200, `${JSON.stringify(request)}: ${res?.statusLine}`);
      assert.equal(res!.body.toString(), name, JSON.stringify(request));
    }
  });

  test('request shapes a uwsgi node cannot serve are answered by the router: 505, 400 (HTTP/2 preface), 501, 417', async () => {
    for (const [request, status] of [
      ['GET / HTTP/2.0\r\nHost: vars.test\r\n\r\n', 505],
      ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
      ['CONNECT vars.test:443 HTTP/1.1\r\nHost: vars.test:443\r\n\r\n', 501],
      ['POST / HTTP/1.1\r\nHost: vars.test\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nhi', 417],
      ['POST / HTTP/1.0\r\nHost: vars.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n', 400],
    ] as const) {
      const conn = await RawConn.open(rSub.port!);
      conn.write(request);
      const { res } = await conn.readResponse(5000);
      assert.equal(res.status, status, JSON.stringify(request));
      assert.equal(res.headers.connection, 'close');
      assert.ok((await conn.rest()).closed, `closed after ${status}`);
      conn.close();
    }
  });

  test('a GET without Host: same vars as uWSGI (SERVER_NAME is the hostname, no HTTP_HOST)', async () => {
    const out: Record<string, string>[] = [];
    for (const router of [uVars, rVars]) {
      const raw = await rawRequest(router.port!, 'GET /plain HTTP/1.0\r\nX-A: 1\r\n\r\n');
      const res = parseRawHttpResponse(raw);
      assert.equal(res?.status, 200, raw.toString());
      out.push((JSON.parse(res!.body.toString()) as EchoVars).vars);
    }
    const [u, w] = out as [Record<string, string>, Record<string, string>];
    assert.deepEqual(Object.keys(w).sort(), Object.keys(u).sort());
    assert.equal(w.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.equal(w.HTTP_HOST, undefined);
    assert.equal(w.QUERY_STRING, '');
  });

  test('several MB of request body arrive byte-exact (sha256 at the node), split writes too', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const res = await httpGet(`http://127.0.0.1:${rVars.port}/upload`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
      timeoutMs: 30000,
    });
    assert.equal(res.status, 200, res.text.slice(0, 200));
    const got = JSON.parse(res.text) as EchoVars;
    assert.deepEqual(got.body, { length: big.length, sha256: sha256(big) });
    assert.equal(got.vars.CONTENT_LENGTH, String(big.length));

    // raw socket: the head split mid-line, the body in uneven pieces
    const body = randomBytes(1024 * 1024 + 3);
    const head = `PUT /raw HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
    const parts = [
      head.slice(0, 7),
      head.slice(7),
      body.subarray(0, 1),
      body.subarray(1, 70001),
      body.subarray(70001),
    ];
    const raw = parseRawHttpResponse(await rawRequest(rVars.port!, parts, { pauseMs: 20, timeoutMs: 20000 }));
    assert.equal(raw?.status, 200);
    const got2 = JSON.parse(raw!.body.toString()) as EchoVars;
    assert.deepEqual(got2.body, { length: body.length, sha256: sha256(body) });
  });

  test('a 6 MB body is echoed back byte-exact (echo_body, subscription-routed by Host)', async () => {
    const big = randomBytes(6 * 1024 * 1024);
    const res = await httpGet(`http://127.0.0.1:${rSub.port}/echo`, {
      method: 'POST',
      body: big,
      headers: { host: 'body.test' },
      timeoutMs: 30000,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, big.length);
    assert.ok(res.body.equals(big), 'echoed bytes equal');
  });

  test('--http-keepalive: several requests on one TCP connection are all answered', async () => {
    const conn = await RawConn.open(rSub.port!);
    try {
      const ports: string[] = [];
      for (let i = 0; i < 3; i++) {
        const body = i === 2 ? 'x'.repeat(5000) : '';
        conn.write(
          `${body ? 'POST' : 'GET'} /ka/${i} HTTP/1.1\r\nHost: vars.test\r\n` +
            (body ? `Content-Length: ${body.length}\r\n` : '') +
            `\r\n${body}`,
        );
        const { res, body: got } = await conn.readResponse();
        assert.equal(res.status, 200, `request ${i}: ${got.toString()}`);
        assert.notEqual(res.headers.connection?.toLowerCase(), 'close', `request ${i} keeps the connection`);
        const v = JSON.parse(got.toString()) as EchoVars;
        assert.equal(v.vars.PATH_INFO, `/ka/${i}`);
        assert.equal(v.body.length, body.length);
        ports.push(v.vars.REMOTE_PORT!);
      }
      assert.equal(conn.closed, false);
      // one client connection: the node saw the same client port every time
      assert.deepEqual(ports, [String(conn.localPort), String(conn.localPort), String(conn.localPort)]);
    } finally {
      conn.close();
    }
  });

  test('--http-keepalive=2: a connection idle between requests is closed after about 2 s', async () => {
    const conn = await RawConn.open(rSub.port!);
    try {
      conn.write('GET /1 HTTP/1.1\r\nHost: vars.test\r\n\r\n');
      assert.equal((await conn.readResponse()).res.status, 200);
      await sleep(1000); // below the idle timeout: still usable
      conn.write('GET /2 HTTP/1.1\r\nHost: vars.test\r\n\r\n');
      assert.equal((await conn.readResponse()).res.status, 200);
      const t0 = Date.now();
      const { data, closed } = await conn.rest(6000);
      const idle = Date.now() - t0;
      assert.ok(closed, 'the idle connection was closed');
      assert.equal(data.length, 0, 'closed without sending anything');
      assert.ok(idle >= 1500 && idle < 4500, `closed after ${idle} ms idle`);
    } finally {
      conn.close();
    }
  });

  test('--http-keepalive: a HEAD answer (Content-Length, no body) keeps the connection in step', async () => {
    const conn = await RawConn.open(rSub.port!);
    try {
      conn.write('HEAD /h HTTP/1.1\r\nHost: vars.test\r\n\r\n');
      const head = await conn.readResponse(5000, { head: true });
      assert.equal(head.res.status, 200);
      assert.ok(Number(head.res.headers['content-length']) > 0);
      conn.write('GET /after-head HTTP/1.1\r\nHost: vars.test\r\n\r\n');
      const next = await conn.readResponse(5000);
      assert.equal(next.res.status, 200, next.body.toString());
      assert.equal((JSON.parse(next.body.toString()) as EchoVars).vars.PATH_INFO, '/after-head');
    } finally {
      conn.close();
    }
  });

  test('--http-auto-chunked: a response without length is chunk-encoded and keepalive holds', async () => {
    const expected = '0123456789'.repeat(10 * 25);
    const decoded: string[] = [];
    for (const [router, host] of [
      [uChunk, 'x'],
      [rSub, 'nolength.test'],
    ] as const) {
      const conn = await RawConn.open(router.port!);
      try {
        for (let i = 0; i < 2; i++) {
          conn.write(`GET /?n=25 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
          const { res, body } = await conn.readResponse();
          assert.equal(res.status, 200);
          assert.equal(res.headers['transfer-encoding'], 'chunked');
          assert.equal(res.headers['content-length'], undefined);
          decoded.push(body.toString());
        }
        assert.equal(conn.closed, false, 'the connection stays open after a chunked response');
      } finally {
        conn.close();
      }
    }
    assert.deepEqual(decoded, [expected, expected, expected, expected]);
  });

  test('--http-auto-gzip: Accept-Encoding gzip + uWSGI-Encoding → gunzip equals the plain body', async () => {
    const conn = await RawConn.open(rSub.port!);
    try {
      conn.write('GET / HTTP/1.1\r\nHost: gzip.test\r\nAccept-Encoding: gzip, deflate\r\n\r\n');
      const zipped = await conn.readResponse();
      assert.equal(zipped.res.status, 200);
      assert.equal(zipped.res.headers['content-encoding'], 'gzip');
      assert.equal(zipped.res.headers['transfer-encoding'], 'chunked');
      assert.deepEqual([...zipped.body.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
      assert.equal(gunzipSync(zipped.body).toString(), GZIP_TEXT);
      assert.ok(zipped.body.length < GZIP_TEXT.length / 3, `compressed: ${zipped.body.length} bytes`);
      // same connection, no Accept-Encoding: untouched (auto-chunked only)
      conn.write('GET / HTTP/1.1\r\nHost: gzip.test\r\n\r\n');
      const plain = await conn.readResponse();
      assert.equal(plain.res.headers['content-encoding'], undefined);
      assert.equal(plain.body.toString(), GZIP_TEXT);
    } finally {
      conn.close();
    }
    const viaCurl = await curl(['--compressed', '-H', 'Host: gzip.test', `http://127.0.0.1:${rSub.port}/`]);
    assert.equal(viaCurl.toString(), GZIP_TEXT);
  });

  test('Expect: 100-continue with --http-manage-expect: 100 first, then the answer', async () => {
    const body = randomBytes(100000);
    const conn = await RawConn.open(rSub.port!);
    try {
      conn.write(
        `POST /expect HTTP/1.1\r\nHost: vars.test\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      const cont = await conn.readResponse(5000);
      assert.equal(cont.res.status, 100);
      conn.write(body);
      const final = await conn.readResponse();
      assert.equal(final.res.status, 200);
      const v = JSON.parse(final.body.toString()) as EchoVars;
      assert.deepEqual(v.body, { length: body.length, sha256: sha256(body) });
      assert.equal(v.vars.HTTP_EXPECT, '100-continue');
    } finally {
      conn.close();
    }
  });

  test('Expect: 100-continue without --http-manage-expect: 100 once the node is connected, so curl does not stall', async () => {
    const body = randomBytes(100000);
    const conn = await RawConn.open(rVars.port!);
    try {
      conn.write(
        `POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      // a uwsgi node never sends 100: without the router's, the client would wait for nothing
      const cont = await conn.readResponse(5000);
      assert.equal(cont.res.status, 100);
      conn.write(body);
      const final = await conn.readResponse();
      assert.equal(final.res.status, 200);
      const v = JSON.parse(final.body.toString()) as EchoVars;
      assert.deepEqual(v.body, { length: body.length, sha256: sha256(body) });
    } finally {
      conn.close();
    }
    // curl sends Expect: 100-continue on its own for large bodies (over 1 MiB since 7.8x, 1 KiB
    // before) and here waits up to 30 s for the 100 (--max-time 10 ends it before that)
    const big = randomBytes(2 * 1024 * 1024);
    const file = join(mkdtempSync(join(tmpdir(), 'uwr-curl-')), 'body.bin');
    writeFileSync(file, big);
    const out = await curl([
      '--expect100-timeout',
      '30',
      '-H',
      'Content-Type: application/octet-stream',
      '--data-binary',
      `@${file}`,
      `http://127.0.0.1:${rVars.port}/curl`,
    ]);
    rmSync(dirname(file), { recursive: true, force: true });
    const v = JSON.parse(out.toString()) as EchoVars;
    assert.equal(v.vars.HTTP_EXPECT, '100-continue');
    assert.deepEqual(v.body, { length: big.length, sha256: sha256(big) });
  });

  test('--http-manage-expect=10: a larger announced body gets 413, a small one 100', async () => {
    const conn = await RawConn.open(rExpect10.port!);
    conn.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n');
    const r = await conn.readResponse(5000);
    assert.equal(r.res.status, 413);
    const rest = await conn.rest();
    assert.ok(rest.closed, 'closed after the 413');
    conn.close();

    const small = await RawConn.open(rExpect10.port!);
    try {
      small.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
      assert.equal((await small.readResponse(5000)).res.status, 100);
      small.write('0123456789');
      const final = await small.readResponse();
      assert.equal(final.res.status, 200);
      assert.equal((JSON.parse(final.body.toString()) as EchoVars).body.length, 10);
    } finally {
      small.close();
    }
  });

  test('--http-chunked-input: a chunked upload reaches uwsgi.chunked_read intact, as via uWSGI', async () => {
    const pieces = [randomBytes(1), randomBytes(70000), randomBytes(4096), randomBytes(33333)];
    const whole = Buffer.concat(pieces);
    const chunked = Buffer.concat([
      ...pieces.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]),
      Buffer.from('0\r\n\r\n'),
    ]);
    const answers: unknown[] = [];
    for (const [router, host] of [
      [uChunkedIn, 'x'],
      [rSub, 'chunked.test'],
    ] as const) {
      const conn = await RawConn.open(router.port!);
      try {
        conn.write(`POST /up HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n`);
        conn.write(chunked.subarray(0, 5000));
        await sleep(20);
        conn.write(chunked.subarray(5000));
        const { res, body } = await conn.readResponse();
        assert.equal(res.status, 200, body.toString());
        const got = JSON.parse(body.toString()) as { mode: string; length: number; sha256: string };
        answers.push({ mode: got.mode, length: got.length, sha256: got.sha256 });
      } finally {
        conn.close();
      }
    }
    const expected = { mode: 'chunked', length: whole.length, sha256: sha256(whole) };
    assert.deepEqual(answers, [expected, expected]);
  });

  test('keepalive under concurrency: 300 requests over 10 connections each get their own answer', async () => {
    const pool = new Pool(`http://127.0.0.1:${rSub.port}`, { connections: 10, pipelining: 1 });
    const connections = new Set<string>();
    try {
      const results = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const body = i % 3 === 0 ? `payload-${i}`.repeat(i % 7) : undefined;
          const res = await pool.request({
            path: `/req/${i}?i=${i}`,
            method: body ? 'POST' : 'GET',
            headers: { host: 'vars.test' },
            body,
          });
          const v = (await res.body.json()) as EchoVars;
          connections.add(v.vars.REMOTE_PORT!);
          return [res.statusCode, v.vars.PATH_INFO, v.vars.QUERY_STRING, v.body.length, body?.length ?? 0];
        }),
      );
      for (const [i, [status, path, query, got, sent]] of results.entries()) {
        assert.deepEqual([status, path, query, got], [200, `/req/${i}`, `i=${i}`, sent], `request ${i}`);
      }
      assert.ok(connections.size <= 10, `client connections seen by the node: ${connections.size}`);
    } finally {
      await pool.close();
    }
  });

  test('keepalive ends where the client asks: Connection: close and HTTP/1.0 are closed after the answer', async () => {
    for (const req of [
      'GET /bye HTTP/1.1\r\nHost: vars.test\r\nConnection: close\r\n\r\n',
      'GET /old HTTP/1.0\r\nHost: vars.test\r\n\r\n',
    ]) {
      const conn = await RawConn.open(rSub.port!);
      conn.write(req);
      const { res } = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.ok((await conn.rest(3000)).closed, `closed after: ${req.split('\r\n')[0]}`);
      conn.close();
    }
  });

  test('two pipelined requests in one write (keepalive): both answered, in order', async () => {
    const conn = await RawConn.open(rSub.port!);
    try {
      conn.write(
        'POST /first HTTP/1.1\r\nHost: vars.test\r\nContent-Length: 3\r\n\r\nabc' +
          'GET /second HTTP/1.1\r\nHost: vars.test\r\n\r\n',
      );
      const first = await conn.readResponse(5000);
      assert.equal(first.res.status, 200);
      const v = JSON.parse(first.body.toString()) as EchoVars;
      assert.equal(v.vars.PATH_INFO, '/first');
      assert.deepEqual(v.body, { length: 3, sha256: sha256('abc') });
      // the bytes after the body are the next request (uWSGI drops them and closes)
      const second = await conn.readResponse(5000);
      assert.equal(second.res.status, 200);
      assert.equal((JSON.parse(second.body.toString()) as EchoVars).vars.PATH_INFO, '/second');
      assert.equal(conn.closed, false, 'still kept alive');
    } finally {
      conn.close();
    }
  });

  test('a chunked request body without --http-chunked-input reaches the node de-chunked, with CONTENT_LENGTH', async () => {
    const conn = await RawConn.open(rVars.port!);
    const payload = 'GET /smuggled HTTP/1.1\r\nHost: x\r\nX-A: 1234\r\n\r\n';
    conn.write(
      'POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`,
    );
    const { res, body } = await conn.readResponse(5000);
    assert.equal(res.status, 200, res.statusLine);
    const v = JSON.parse(body.toString()) as EchoVars;
    assert.equal(v.vars.PATH_INFO, '/te');
    // uWSGI's router drops the body (the app reads nothing); nginx and uwrouter de-chunk it
    assert.equal(v.vars.CONTENT_LENGTH, String(payload.length));
    assert.equal(v.vars.HTTP_TRANSFER_ENCODING, undefined);
    assert.deepEqual(v.body, { length: payload.length, sha256: sha256(payload) });
    const rest = await conn.rest(3000);
    assert.ok(rest.closed, 'closed after the answer');
    assert.doesNotMatch(rest.data.toString(), /smuggled/);
    conn.close();
  });

  test('--http-websockets: a ws client talks to uwsgi.websocket_* through the router', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${rSub.port}/chat`, { headers: { host: 'ws.test' } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const received: Buffer[] = [];
    ws.on('message', (data) => received.push(Buffer.from(data as Buffer)));
    const sent = [
      Buffer.from('hello'),
      Buffer.from([0, 1, 2, 0x7e, 0x7f]),
      Buffer.from('ü'.repeat(40000)),
      Buffer.from(randomBytes(52500).toString('base64')),
      Buffer.from('last'),
    ];
    for (const [i, m] of sent.entries()) ws.send(m, { binary: i % 2 === 1 });
    await pollUntil('all echoes', async () => (received.length >= sent.length ? true : undefined), {
      timeoutMs: 10000,
      retryErrors: true,
      intervalMs: 100,
    });
    // uwsgi.websocket_send always answers with text frames (so binary payloads here are
    // valid UTF-8, or the client would refuse the echo): compare bytes
    assert.deepEqual(
      received.map((b) => sha256(b)),
      sent.map((b) => sha256(b)),
    );
    const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
    ws.close(1000, 'bye');
    const code = await Promise.race([closed, sleep(5000).then(() => -1)]);
    assert.notEqual(code, -1, 'the close completes');
  });

  test('subscription-routed hosts: Host decides the node; an unknown Host gets 404', async () => {
    for (const [host, name] of [
      ['a.example', 'node-a'],
      ['b.example', 'node-b'],
      ['a.example', 'node-a'],
    ]) {
      const res = await httpGet(`http://127.0.0.1:${rSub.port}/`, { headers: { host: host! } });
      assert.equal(res.status, 200);
      assert.equal(res.text, name);
    }
    const conn = await RawConn.open(rSub.port!);
    conn.write('GET / HTTP/1.1\r\nHost: c.example\r\n\r\n');
    const { res, body } = await conn.readResponse(5000);
    assert.equal(res.status, 404);
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(body.toString(), 'no such host is configured here\n');
    assert.ok((await conn.rest()).closed, 'closed after the 404');
    conn.close();
  });

  test('a node that is dead (SIGKILLed) before the request: 502 with Connection: close', async () => {
    await victim.kill();
    const conn = await RawConn.open(rDead.port!);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { res, body } = await conn.readResponse(8000);
    assert.equal(res.status, 502);
    assert.equal(res.headers.connection, 'close');
    assert.equal(body.toString(), 'could not connect to any node for this host\n');
    assert.ok((await conn.rest()).closed);
    conn.close();
    // the failed static node is now in its gracetime: no live node for the key → 503
    const again = parseRawHttpResponse(await rawRequest(rDead.port!, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(again?.status, 503, again?.statusLine);
    assert.equal(again!.body.toString(), 'no node is available for this host\n');
    // a crashed node is usually back (or re-subscribed) within seconds
    assert.equal(again!.headers['retry-after'], '5');
    assert.ok(rDead.isRunning(), 'the router stays up');
  });

  test('a node slower than --http-timeout 1: 504 after about a second', async () => {
    const t0 = Date.now();
    const conn = await RawConn.open(rTimeout.port!);
    conn.write('GET /?s=4 HTTP/1.1\r\nHost: x\r\n\r\n');
    const { res, body } = await conn.readResponse(8000);
    const elapsed = Date.now() - t0;
    assert.equal(res.status, 504);
    assert.equal(res.headers.connection, 'close');
    assert.equal(body.toString(), 'the node did not answer in time\n');
    assert.ok(elapsed >= 900 && elapsed < 3500, `answered after ${elapsed} ms`);
    assert.ok((await conn.rest()).closed);
    conn.close();
  });

  test('--http-silent-errors: the timeout ends in an empty close, like uWSGI', async () => {
    for (const [name, router] of [
      ['uWSGI', uSilent],
      ['uwrouter', rSilent],
    ] as const) {
      const t0 = Date.now();
      const conn = await RawConn.open(router.port!);
      conn.write('GET /?s=4 HTTP/1.1\r\nHost: x\r\n\r\n');
      const { data, closed } = await conn.rest(8000);
      const elapsed = Date.now() - t0;
      conn.close();
      assert.ok(closed, `${name} closed`);
      assert.equal(data.length, 0, `${name} sent nothing: ${data.toString()}`);
      assert.ok(elapsed < 3500, `${name} closed after ${elapsed} ms`);
    }
  });

  test('--http-to-https: 301 to https://HOST:PORT/URI, same Location as uWSGI', async () => {
    const req = 'GET /x/y?z=1&w=%20 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n';
    const locations: string[] = [];
    for (const port of [uRedirectPort, redirectPort]) {
      const res = parseRawHttpResponse(await rawRequest(port, req, { timeoutMs: 5000 }));
      assert.equal(res?.status, 301);
      locations.push(res!.headers.location!);
    }
    assert.deepEqual(locations, [
      'https://example.com:8443/x/y?z=1&w=%20',
      'https://example.com:8443/x/y?z=1&w=%20',
    ]);
    const ours = parseRawHttpResponse(await rawRequest(redirectPort, req, { timeoutMs: 5000 }));
    assert.equal(ours!.headers.connection, 'close');
    // the plain listener of the same router still proxies
    const plain = await httpGet(`http://127.0.0.1:${rRedirect.port}/`);
    assert.equal(plain.status, 200);
  });
});
