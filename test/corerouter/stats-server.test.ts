/**
 * Issue item 15 — the stats document is streamed: the same bytes as a one-shot render (the
 * renderer as it was before streaming is kept below as the reference), written in slices
 * with backpressure, never more than MAX_STATS_STREAMS at once, and a client that does not
 * read holds at most about one slice in the router's memory.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Listener } from '../../src/corerouter/listener.ts';
import { renderStatsJson } from '../../src/corerouter/stats-json.ts';
import { MAX_STATS_STREAMS, STATS_SLICE, startStatsServer } from '../../src/corerouter/stats-server.ts';
import { silentLogger } from '../../src/logger.ts';
import { SubscriptionCountersStats, SubscriptionsStats } from '../../src/subscription/stats.ts';
import { makeTable, packet } from '../subscription/harness.ts';

// ---- the renderer of commit 02d5a20 (before streaming), verbatim: the byte reference
type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };
function referenceRender(v: Json | undefined, depth: number, out: string[]): void {
  if (v === null || v === undefined) {
    out.push('null');
    return;
  }
  if (typeof v !== 'object') {
    out.push(JSON.stringify(v));
    return;
  }
  const pad = '\t'.repeat(depth + 1);
  const close = '\t'.repeat(depth);
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    const flat = v.every((x) => typeof x !== 'object' || x === null);
    out.push('[\n');
    v.forEach((item, i) => {
      if (!flat) out.push(pad);
      referenceRender(item, depth + 1, out);
      out.push(i < v.length - 1 ? ',\n' : '\n');
    });
    out.push(`${close}]`);
    return;
  }
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  out.push('{\n');
  keys.forEach((k, i) => {
    out.push(`${pad}${JSON.stringify(k)}:`);
    referenceRender(v[k], depth + 1, out);
    out.push(i < keys.length - 1 ? ',\n' : '\n');
  });
  out.push(`${close}}`);
}
function reference(doc: unknown, minified: boolean): string {
  // JSON round trip = the document with plain arrays, as statsJson() returned it before
  const plain = JSON.parse(JSON.stringify(doc)) as Json;
  if (minified) return JSON.stringify(plain);
  const out: string[] = [];
  referenceRender(plain, 0, out);
  return out.join('');
}
// ----

/** A router-like stats document with `pools` subscription pools (2 nodes each, odd keys). */
function documentWith(pools: number): () => Record<string, unknown> {
  const t = makeTable();
  for (let i = 0; i < pools; i++) {
    const key = i % 7 === 0 ? `k${i}.test:80"\\\x01é` : `k${i}.example.com`;
    t.receiver.handle(packet('subscribe', { key, address: `127.0.0.1:${1000 + i}`, cores: i % 5 }));
    t.receiver.handle(packet('subscribe', { key, address: `/tmp/n${i}.sock`, weight: 3 }));
  }
  const subs = new SubscriptionsStats(t.table);
  const counters = new SubscriptionCountersStats(t.receiver.counters, () => ({ kernel: 7, queue: 0 }));
  return () => ({
    version: '2.0.21-uwrouter',
    pid: 1234,
    active_sessions: 0,
    http: ['127.0.0.1:8080', ':8081'],
    subscriptions: subs.statsJson(),
    subscription_packets: counters.statsJson(),
    empty: [],
    skipped: undefined,
    cheap: 0,
    uwrouter: { counters: {} },
  });
}

const listeners: Listener[] = [];
after(async () => {
  for (const l of listeners) await l.close();
});

async function statsServer(
  document: () => Record<string, unknown>,
  opts: { http?: boolean; minified?: boolean; counts?: string[] } = {},
): Promise<{ port: number; listener: Listener }> {
  const listener = await startStatsServer({
    address: '127.0.0.1:0',
    routerName: 'http',
    http: opts.http ?? false,
    document,
    minified: opts.minified ?? false,
    log: silentLogger(),
    backlog: 100,
    sharedSockets: [],
    count: (c) => opts.counts?.push(c),
  });
  listeners.push(listener);
  return { port: Number(listener.name.split(':').at(-1)), listener };
}

/** Reads everything, slowly when `slow` (pauses between reads, so backpressure happens). */
async function fetchAll(port: number, request = '', slow = false): Promise<Buffer> {
  const c = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  c.on('data', (d) => {
    chunks.push(d);
    if (slow && chunks.length % 4 === 0) {
      c.pause();
      setTimeout(() => c.resume(), 2);
    }
  });
  if (request) c.write(request);
  await once(c, 'close');
  return Buffer.concat(chunks);
}

test('the streamed document has exactly the bytes of the one-shot render (6,000 pools)', async () => {
  const doc = documentWith(6000);
  const expected = reference(doc(), false);
  assert.ok(expected.length > 40 * STATS_SLICE, `${expected.length} bytes: many slices`);
  assert.equal(renderStatsJson(doc()), expected, 'one-shot render = the reference');
  const { port } = await statsServer(doc);
  assert.equal((await fetchAll(port, '', true)).toString('utf8'), expected, 'streamed, slow reader');
  assert.equal((await fetchAll(port)).toString('utf8'), expected, 'streamed, fast reader');
  JSON.parse(expected);
});

test('minified and HTTP forms stream the same bytes as before', async () => {
  const doc = documentWith(3000);
  const min = await statsServer(doc, { minified: true });
  const expectedMin = reference(doc(), true);
  assert.equal((await fetchAll(min.port, '', true)).toString('utf8'), expectedMin);
  assert.equal(renderStatsJson(doc(), true), expectedMin);
  const http = await statsServer(doc, { http: true });
  const res = (await fetchAll(http.port, 'GET / HTTP/1.0\r\n\r\n')).toString('utf8');
  assert.equal(
    res,
    `HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\n\r\n${reference(doc(), false)}`,
  );
});

test('a client that does not read holds about one slice; past MAX_STATS_STREAMS connections are closed and counted', async () => {
  const counts: string[] = [];
  const doc = documentWith(6000);
  const { port, listener } = await statsServer(doc, { counts });
  const serverSide: Socket[] = [];
  listener.server.on('connection', (s) => serverSide.push(s));
  const stuck: Socket[] = [];
  for (let i = 0; i < MAX_STATS_STREAMS; i++) {
    const c = connect(port, '127.0.0.1');
    c.pause(); // never reads
    stuck.push(c);
    await once(c, 'connect');
  }
  await sleep(300);
  for (const s of serverSide) {
    assert.ok(s.writableLength <= 4 * STATS_SLICE, `${s.writableLength} bytes queued in the router`);
  }
  // one more: closed at once without a byte
  const extra = await fetchAll(port);
  assert.equal(extra.length, 0);
  assert.deepEqual(counts, ['UWR_ERR_STATS_BUSY']);
  for (const c of stuck) c.destroy();
  await sleep(100);
  const again = await fetchAll(port);
  assert.equal(again.toString('utf8'), reference(doc(), false), 'served again once they left');
});

test('closing the stats server ends a client that keeps its side open (shutdown is not held)', async () => {
  const l = await startStatsServer({
    address: '127.0.0.1:0',
    routerName: 'test',
    http: false,
    document: () => ({ pid: 1 }),
    minified: true,
    log: silentLogger(),
    backlog: 10,
    sharedSockets: [],
  });
  const a = l.server.address();
  // the client reads the document but never closes its side (a half-open reader)
  const c = connect({
    port: typeof a === 'object' && a ? a.port : 0,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  c.on('error', () => {});
  c.on('data', () => {});
  await once(c, 'end');
  const t0 = Date.now();
  await Promise.race([
    l.close(),
    sleep(2000).then(() => {
      throw new Error('close() still waits for the open stats client after 2 s');
    }),
  ]);
  assert.ok(Date.now() - t0 < 2000);
  c.destroy();
});

test('a raw stats client that sent a request and left is noticed (not counted as connected)', async () => {
  const { port, listener } = await statsServer(() => ({ a: 1 }));
  // an HTTP request to a raw stats socket (curl does this), then the client leaves
  const c = connect(port, '127.0.0.1');
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  c.on('data', () => c.destroy());
  await once(c, 'close');
  await sleep(100);
  const count = await new Promise<number>((resolve) => listener.server.getConnections((_e, n) => resolve(n)));
  assert.equal(count, 0, 'the server still counts the departed client');
});

test('closing the stats server ends the documents being written', async () => {
  const { port, listener } = await statsServer(documentWith(6000));
  const c = connect(port, '127.0.0.1');
  c.pause(); // never reads: its document is stuck half-written
  await once(c, 'connect');
  await sleep(100);
  const closed = await Promise.race([listener.close().then(() => 'closed'), sleep(1500).then(() => 'hung')]);
  assert.equal(closed, 'closed');
  c.destroy();
});
