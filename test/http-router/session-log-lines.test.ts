/**
 * The HTTP router's per-connection log lines: JSON fields (code, key, node, client_addr,
 * client_port) and levels — client mistakes at info, node and routing failures at warn, the
 * router's own failures at error — and the per-code rate limit with its summary line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONNECTION_LINES_PER_SECOND } from '../../src/connection-log.ts';
import { deadPort } from '../corerouter/fake-node.ts';
import { LEVEL, type LogRecord } from '../log-capture.ts';
import {
  noSessionsLeft,
  onCleanup,
  RawClient,
  type StartedRouter,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

/** The one record whose message includes `text`. */
function recordOf(r: StartedRouter, text: string): LogRecord {
  const found = r.records.filter((x) => x.msg.includes(text));
  assert.equal(found.length, 1, `one line with "${text}" in ${JSON.stringify(r.lines)}`);
  return found[0];
}

/** Sends `text` from a fresh connection; resolves with its local port once the router closed it. */
async function exchange(port: number, text: string | null, wait = 3000): Promise<number> {
  const c = await RawClient.open(port);
  const local = c.socket.localPort ?? 0;
  if (text !== null) c.write(text);
  await c.read(() => c.closed, wait);
  return local;
}

test('client mistakes are info, with the client fields (and the key once known)', async () => {
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r = await startRouter(['--http-to', n.address, '--http-headers-timeout', '1']);
  const bad = await exchange(r.port, 'GET / HTTP/1.1\nHost: a\n\n');
  const rec = recordOf(r, 'bad request head (bare-lf)');
  assert.deepEqual(
    [rec.level, rec.code, rec.client_addr, rec.client_port, rec.key, rec.node],
    [LEVEL.info, 'UWR_ERR_BAD_REQUEST', '127.0.0.1', bad, undefined, undefined],
  );
  const slow = await exchange(r.port, 'GET / HTTP/1.1\r\nHost');
  const t = recordOf(r, 'timeout reading the request head');
  assert.deepEqual([t.level, t.code, t.client_port], [LEVEL.info, 'UWR_ERR_TIMEOUT', slow]);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: up.example\r\nContent-Length: 10\r\n\r\nabc');
  await waitFor(() => n.connections === 1);
  c.socket.end();
  await waitFor(() => r.lines.some((l) => l.includes('client closed mid-request')));
  const gone = recordOf(r, 'client closed mid-request');
  assert.deepEqual([gone.level, gone.code, gone.key], [LEVEL.info, 'UWR_ERR_CLIENT_CLOSED', 'up.example']);
  await noSessionsLeft(r);
});

test('404 is info; 502 (connect), 503, 504, a broken or invalid answer and loops are warn, with key and node', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const fail = await startRouter(['--http-to', dead, '--http-max-retries', '0']);
  const port = await exchange(fail.port, 'GET / HTTP/1.1\r\nHost: Site.Example\r\n\r\n');
  const conn = recordOf(fail, 'unable to connect()');
  assert.deepEqual(
    [conn.level, conn.code, conn.key, conn.node, conn.client_addr, conn.client_port],
    [LEVEL.warn, 'UWR_ERR_CONNECT', 'site.example', dead, '127.0.0.1', port],
  );
  const gaveUp = recordOf(fail, ': 502');
  assert.deepEqual([gaveUp.level, gaveUp.code, gaveUp.key], [LEVEL.warn, 'UWR_ERR_CONNECT', 'site.example']);
  await exchange(fail.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(recordOf(fail, ': 503').level, LEVEL.warn);

  const unknown = await startRouter([]);
  await exchange(unknown.port, 'GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n');
  const nf = recordOf(unknown, ': 404');
  assert.deepEqual([nf.level, nf.code, nf.key], [LEVEL.info, 'UWR_ERR_NO_KEY', 'nowhere.example']);

  const silent = await uwsgiNode(() => {});
  const slow = await startRouter(['--http-to', silent.address, '--http-timeout', '1']);
  await exchange(slow.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const gw = recordOf(slow, ': 504');
  assert.deepEqual(
    [gw.level, gw.code, gw.key, gw.node],
    [LEVEL.warn, 'UWR_ERR_TIMEOUT', 'a', silent.address],
  );

  const cut = await uwsgiNode((req) => {
    req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
    setTimeout(() => req.socket.destroy(), 30);
  });
  const broken = await startRouter(['--http-to', cut.address]);
  await exchange(broken.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const mid = recordOf(broken, 'the node closed in the middle of the response body');
  assert.deepEqual([mid.level, mid.code, mid.node], [LEVEL.warn, 'UWR_ERR_BACKEND_CLOSED', cut.address]);

  const garbage = await uwsgiNode((req) => req.socket.end('HTTP/9 nonsense\r\n\r\n'));
  const invalid = await startRouter(['--http-to', garbage.address]);
  await exchange(invalid.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const bad = recordOf(invalid, ': 502');
  assert.deepEqual([bad.level, bad.code, bad.node], [LEVEL.warn, 'UWR_ERR_BAD_RESPONSE', garbage.address]);

  const hops = Array.from({ length: 11 }, (_, i) => `1.1 p${i}`).join(', ');
  await exchange(invalid.port, `GET / HTTP/1.1\r\nHost: a\r\nVia: ${hops}\r\n\r\n`);
  const loop = recordOf(invalid, ': 508');
  assert.deepEqual([loop.level, loop.code], [LEVEL.warn, 'UWR_ERR_LOOP_DETECTED']);
  for (const r of [fail, unknown, slow, broken, invalid]) await noSessionsLeft(r);
});

test('a body the router cannot store is error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-logs-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const n = await uwsgiNode((req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const r = await startRouter([
    '--http-to',
    n.address,
    '--http-body-temp-dir',
    dir,
    '--http-body-buffer-size',
    '1024',
  ]);
  // the directory checked at start-up is gone when the body needs a file
  rmSync(dir, { recursive: true });
  const body = 'x'.repeat(4096);
  await exchange(
    r.port,
    `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${(4096).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
  );
  const rec = recordOf(r, ': 500');
  assert.deepEqual([rec.level, rec.code], [LEVEL.error, 'UWR_ERR_BODY_STORE']);
  await noSessionsLeft(r);
});

test('2,000 clients timing out together: ~20 lines and a summary of the rest; every one counted', async () => {
  const r = await startRouter(['--http-headers-timeout', '1', '--listen', '1024']);
  const total = 2000;
  const sockets: Socket[] = [];
  onCleanup(() => {
    for (const s of sockets) s.destroy();
  });
  let closed = 0;
  for (let i = 0; i < total; i++) {
    const s = connect(r.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closed++);
    // a partial head: the head timeout applies, and the line is logged
    s.write('GET / HTTP/1.1\r\n');
    sockets.push(s);
    if (i % 200 === 199) await sleep(5);
  }
  await waitFor(() => closed === total, 20000);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), total, 'the counter is never limited');
  // the summary of the last second comes once that second is over
  await waitFor(() => {
    const written = r.lines.filter((l) => l.includes('timeout reading the request head')).length;
    return written + suppressedIn(r) === total;
  }, 3000);
  const written = r.lines.filter((l) => l.includes('timeout reading the request head')).length;
  const summaries = r.records.filter((x) => x.msg.includes('more UWR_ERR_TIMEOUT lines suppressed'));
  // the timeouts fall into a few seconds: N lines and one summary per second at most
  const seconds = summaries.length;
  assert.ok(seconds >= 1 && seconds <= 4, `${seconds} summaries`);
  assert.ok(written <= CONNECTION_LINES_PER_SECOND * (seconds + 1), `${written} lines written`);
  assert.equal(written + suppressedIn(r), total, 'every line is written or summed up');
  for (const s of summaries) {
    assert.match(s.msg, /^\[uwsgi-http\] \d+ more UWR_ERR_TIMEOUT lines suppressed in the last 1 s$/);
    assert.equal(s.code, 'UWR_ERR_TIMEOUT');
    assert.equal(s.level, LEVEL.info);
  }
  await noSessionsLeft(r);
});

function suppressedIn(r: StartedRouter): number {
  let n = 0;
  for (const x of r.records) if (x.msg.includes('more UWR_ERR_TIMEOUT lines')) n += x.suppressed as number;
  return n;
}
