/**
 * Bad clients and dying nodes against uwrouter's HTTP router (real uWSGI nodes behind it):
 * oversized heads → 431 (16 KiB), vars a default node drops → 502 naming buffer-size,
 * request-smuggling shapes → 400, a slowloris crowd that must not starve a normal client, a
 * client gone mid-upload, a node killed before and during its response. After each, the
 * router is still up and its stats (`--http-stats`) show `active_sessions` back at 0.
 * Latency and memory bounds live in the load lane (test/load/http-bad-input.load.test.ts).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  httpGet,
  parseRawHttpResponse,
  pollUntil,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
} from './harness/index.ts';

interface Stats {
  active_sessions: number;
}

/** Wait until the router's stats say no session is open. */
async function noSessions(statsPort: number, timeoutMs = 10000): Promise<void> {
  await pollUntil(
    'active_sessions back to 0',
    async () => {
      const n = (await readStatsJson<Stats>(statsPort)).active_sessions;
      if (n !== 0) throw new Error(`active_sessions ${n}`);
      return true;
    },
    { timeoutMs: timeoutMs, retryErrors: true, intervalMs: 50 },
  );
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Send `data`, collect until the peer closes (or `timeoutMs`); report whether it closed. */
async function sendAndCollect(
  port: number,
  data: string | Buffer,
  timeoutMs = 5000,
): Promise<{ data: Buffer; closed: boolean; ms: number }> {
  const t0 = Date.now();
  const s = await openSocket(port);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', () => undefined);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    s.write(data);
  });
  s.destroy();
  return { data: Buffer.concat(chunks), closed, ms: Date.now() - t0 };
}

describe('uwrouter --http against bad input and dying nodes', () => {
  const started: ServerHandle[] = [];
  let vars: ServerHandle;
  let slow: ServerHandle;
  let stream: ServerHandle;
  let main: ServerHandle; // → echo_vars
  let mainStats: number;
  let rSlow: ServerHandle; // → slow.py (killed in a test)
  let slowStats: number;
  let rStream: ServerHandle; // keepalive → echo_body.py (killed in a test)
  let streamStats: number;
  let strict: ServerHandle; // --http-headers-timeout 2 --http-max-body 100000 --http-chunked-input
  let chunkedIn: ServerHandle; // chunked_in.py (reads Content-Length and chunked bodies)
  let rStored: ServerHandle; // --http-max-body 100000 → chunked_in.py (chunked bodies stored)

  before(async () => {
    [vars, slow, stream, chunkedIn] = await Promise.all([
      startUwsgiNode({ app: 'echo_vars.py', processes: 2 }),
      startUwsgiNode({ app: 'slow.py' }),
      startUwsgiNode({ app: 'echo_body.py' }),
      startUwsgiNode({ app: 'chunked_in.py' }),
    ]);
    started.push(vars, slow, stream, chunkedIn);
    const ports = await Promise.all(Array.from({ length: 8 }, () => freePort()));
    [mainStats, slowStats, streamStats] = [ports[1]!, ports[3]!, ports[5]!];
    const at = (i: number) => `127.0.0.1:${ports[i]}`;
    [main, rSlow, rStream, strict, rStored] = await Promise.all([
      startUwrouter(['--http', at(0), '--http-to', vars.address, '--http-stats', at(1)]),
      startUwrouter(['--http', at(2), '--http-to', slow.address, '--http-stats', at(3)]),
      startUwrouter([
        '--http',
        at(4),
        '--http-to',
        stream.address,
        '--http-keepalive',
        '--http-stats',
        at(5),
      ]),
      startUwrouter([
        '--http',
        at(6),
        '--http-to',
        chunkedIn.address,
        '--http-headers-timeout',
        '2',
        '--http-max-body',
        '100000',
        '--http-chunked-input',
      ]),
      startUwrouter(['--http', at(7), '--http-to', chunkedIn.address, '--http-max-body', '100000']),
    ]);
    started.push(main, rSlow, rStream, strict, rStored);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  test('a head over the limit (16 KiB) gets 431 and a close; a 3 KB one is served', async () => {
    for (const head of [
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join('')}\r\n`,
    ]) {
      const r = await sendAndCollect(main.port!, head);
      const res = parseRawHttpResponse(r.data);
      assert.equal(res?.status, 431, r.data.toString().slice(0, 200));
      assert.equal(res!.headers.connection, 'close');
      assert.ok(r.closed, 'closed');
    }
    const ok = await httpGet(`http://127.0.0.1:${main.port}/`, { headers: { 'x-fine': 'b'.repeat(3000) } });
    assert.equal(ok.status, 200);
  });

  test('a 6 KB cookie under the head limit: the default node drops it, the 502 names its buffer-size', async () => {
    const r = await sendAndCollect(
      main.port!,
      `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(6000)}\r\n\r\n`,
    );
    const res = parseRawHttpResponse(r.data);
    assert.equal(res?.status, 502, r.data.toString().slice(0, 200));
    assert.match(res!.body.toString(), /exceed 4096 bytes of uwsgi vars.*--buffer-size is the likely cause/);
    assert.ok(r.closed, 'closed');
    // the real cause, in the node's own words (spec: uwsgi-protocol.md §5)
    await pollUntil(
      'the node logged it',
      () => (/invalid request block size: \d+ \(max 4096\)/.test(vars.logs()) ? true : undefined),
      {
        timeoutMs: 5000,
        intervalMs: 50,
      },
    );
    assert.match(main.logs(), /uwsgi vars are \d+ bytes, over uWSGI's default buffer-size of 4096/);
  });

  for (const [name, request] of [
    [
      'Content-Length and Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    ],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['an obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n  two\r\n\r\n'],
  ] as const) {
    test(`smuggling shape rejected with 400: ${name}`, async () => {
      const r = await sendAndCollect(main.port!, request, 5000);
      const res = parseRawHttpResponse(r.data);
      assert.equal(res?.status, 400, JSON.stringify(r.data.toString()));
      assert.equal(res!.headers.connection, 'close');
      assert.ok(r.closed, `closed (after ${r.ms} ms)`);
      // exactly one response: nothing smuggled behind it
      assert.equal(r.data.toString().match(/HTTP\/1\.1 /g)?.length, 1);
    });
  }

  test('slowloris: while 300 clients trickle their heads, a normal client is served and they stay connected', async () => {
    await noSessions(mainStats);
    const crowd: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = await openSocket(main.port!);
      s.on('error', () => undefined);
      s.write(`GET /slow/${i} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
      crowd.push(s);
    }
    const trickle = setInterval(() => {
      for (const s of crowd) if (!s.destroyed) s.write('a');
    }, 1000);
    try {
      await pollUntil(
        '300 sessions open',
        async () => ((await readStatsJson<Stats>(mainStats)).active_sessions >= 300 ? true : undefined),
        { retryErrors: true, intervalMs: 50 },
      );
      for (let i = 0; i < 10; i++) {
        const r = await httpGet(`http://127.0.0.1:${main.port}/normal/${i}`, { timeoutMs: 5000 });
        assert.equal(r.status, 200);
      }
      const stats = await readStatsJson<Stats>(mainStats);
      assert.ok(
        stats.active_sessions >= 300 && stats.active_sessions <= 305,
        `active_sessions ${stats.active_sessions}`,
      );
      assert.equal(
        crowd.filter((s) => s.destroyed).length,
        0,
        'trickling clients are still connected (the head timeout is longer than the test)',
      );
    } finally {
      clearInterval(trickle);
      for (const s of crowd) s.destroy();
    }
    await noSessions(mainStats);
    assert.ok(main.isRunning());
  });

  test('--http-headers-timeout 2 closes a client still trickling its head after ~2 s', async () => {
    const s = await openSocket(strict.port!);
    s.on('error', () => undefined);
    s.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const t0 = Date.now();
    const trickle = setInterval(() => s.writable && s.write('a'), 250);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 6000);
      s.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    clearInterval(trickle);
    s.destroy();
    const ms = Date.now() - t0;
    assert.ok(closed, 'the router closed the trickling client');
    assert.ok(ms >= 1500 && ms < 4500, `closed after ${ms} ms`);
  });

  test('--http-max-body 100000: a larger Content-Length gets 413 before any body is read; smaller passes', async () => {
    const t0 = Date.now();
    // only the head is sent: the answer must not wait for the 200000 announced bytes
    const r = await sendAndCollect(
      strict.port!,
      'POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n',
      5000,
    );
    const res = parseRawHttpResponse(r.data);
    assert.equal(res?.status, 413, r.data.toString());
    assert.equal(res!.headers.connection, 'close');
    assert.equal(res!.body.toString(), 'request body too large\n');
    assert.ok(r.closed && Date.now() - t0 < 3000, `closed after ${r.ms} ms`);
    const ok = await httpGet(`http://127.0.0.1:${strict.port}/fits`, {
      method: 'POST',
      body: Buffer.alloc(100000),
    });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.text) as { length: number }).length, 100000);
  });

  test('--http-max-body with --http-chunked-input: a chunked upload past the limit gets 413, the node never completes it', async () => {
    // chunked_in.py de-chunks with uwsgi.chunked_read and reports how much it got: it can
    // only answer after the last chunk, which the router never forwards
    const s = await openSocket(strict.port!);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write('POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = Buffer.concat([Buffer.from('8000\r\n'), Buffer.alloc(0x8000, 0x63), Buffer.from('\r\n')]);
    for (let i = 0; i < 8 && !s.destroyed; i++) {
      s.write(piece); // 8 × 32 KiB = 256 KiB > 100000
      await sleep(20);
    }
    if (!s.destroyed) s.write('0\r\n\r\n');
    await Promise.race([closed, sleep(5000)]);
    const raw = Buffer.concat(chunks);
    const res = parseRawHttpResponse(raw);
    s.destroy();
    // the 4th 32 KiB chunk would pass 100000: refused at its size line, before any answer
    assert.equal(res?.status, 413, raw.toString().slice(0, 120));
    assert.equal(res!.headers.connection, 'close');
    assert.equal(res!.body.toString(), 'request body too large\n');
  });

  test('--http-max-body without --http-chunked-input: a stored chunked body gets 413 past it, a smaller one arrives whole', async () => {
    const piece = Buffer.concat([Buffer.from('8000\r\n'), Buffer.alloc(0x8000, 0x63), Buffer.from('\r\n')]);
    const head = 'POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const over = await sendAndCollect(
      rStored.port!,
      Buffer.concat([Buffer.from(head), piece, piece, piece, piece, Buffer.from('0\r\n\r\n')]),
    );
    assert.equal(parseRawHttpResponse(over.data)?.status, 413, over.data.toString().slice(0, 120));
    const fits = await sendAndCollect(
      rStored.port!,
      Buffer.concat([Buffer.from(head), piece, piece, piece, Buffer.from('0\r\n\r\n')]),
    );
    const res = parseRawHttpResponse(fits.data);
    assert.equal(res?.status, 200, fits.data.toString().slice(0, 120));
    // de-chunked by the router: the node reads it with CONTENT_LENGTH, not chunked_read
    assert.deepEqual(
      (({ mode, length }) => ({ mode, length }))(
        JSON.parse(res!.body.toString()) as { mode: string; length: number },
      ),
      { mode: 'length', length: 3 * 0x8000 },
    );
  });

  test('a client gone mid-upload: the session ends, the router serves on', async () => {
    const s = await openSocket(main.port!);
    s.on('error', () => undefined);
    s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    s.write(Buffer.alloc(1024 * 1024, 1));
    await pollUntil(
      'the upload session is open',
      async () => ((await readStatsJson<Stats>(mainStats)).active_sessions >= 1 ? true : undefined),
      { retryErrors: true, intervalMs: 50 },
    );
    await sleep(200);
    s.destroy();
    await noSessions(mainStats);
    const r = await httpGet(`http://127.0.0.1:${main.port}/after`);
    assert.equal(r.status, 200);
    assert.ok(main.isRunning());
  });

  test('a node killed before answering: 502, and the session is gone', async () => {
    const s = await openSocket(rSlow.port!);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write('GET /?s=20 HTTP/1.1\r\nHost: x\r\n\r\n');
    await pollUntil(
      'the slow session is open',
      async () => ((await readStatsJson<Stats>(slowStats)).active_sessions >= 1 ? true : undefined),
      { retryErrors: true, intervalMs: 50 },
    );
    await sleep(300); // connected and the request sent to the node
    await slow.kill();
    await Promise.race([closed, sleep(5000)]);
    const res = parseRawHttpResponse(Buffer.concat(chunks));
    assert.ok(s.destroyed || s.readableEnded, 'the client connection ended');
    assert.equal(res?.status, 502, Buffer.concat(chunks).toString());
    assert.equal(res!.headers.connection, 'close');
    s.destroy();
    await noSessions(slowStats);
    assert.ok(rSlow.isRunning());
  });

  test('a node killed mid-response (Content-Length not reached): the client is closed, not kept alive', async () => {
    // echo_body answers with the request's Content-Length and streams the body back; the
    // client stops reading, so the node blocks mid-response, then dies. The router must not
    // treat the node's close as the end of a keepalive response: the length is not reached.
    const total = 32 * 1024 * 1024;
    const s = await openSocket(rStream.port!);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      s.pause(); // backpressure: the node blocks mid-response
    });
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    s.write(Buffer.alloc(total, 0x61));
    await pollUntil('the first response bytes', () => (buf.length > 0 ? true : undefined), {
      retryErrors: true,
      intervalMs: 50,
    });
    await sleep(300);
    await stream.kill();
    s.on('data', () => s.resume());
    s.resume();
    await Promise.race([closed, sleep(8000)]);
    const res = parseRawHttpResponse(buf);
    assert.equal(res?.status, 200);
    assert.equal(res!.headers['content-length'], String(total));
    assert.ok(res!.body.length < total, `got ${res!.body.length} of ${total} body bytes`);
    assert.ok(s.destroyed || s.readableEnded, 'the client connection was closed (the response is cut)');
    s.destroy();
    await noSessions(streamStats);
    assert.ok(rStream.isRunning());
  });

  test('after all of it, every router is up and answers', async () => {
    const r = await httpGet(`http://127.0.0.1:${main.port}/`);
    assert.equal(r.status, 200);
    for (const router of [main, rSlow, rStream, strict, rStored])
      assert.ok(router.isRunning(), `${router.name} is running`);
  });
});
