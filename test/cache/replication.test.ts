/**
 * A cache replicated from a cluster primary to its workers (src/cache/replication.ts and
 * replica.ts) through the cluster's TableFeed: every change of the primary's table, whatever
 * made it, reaches a worker's replica; a write made through a worker is stored by the primary
 * and reaches every worker; lookups are counted where they happen and added up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CacheSettings, UwsgiCache } from '../../src/cache/cache.ts';
import { CacheReplica } from '../../src/cache/replica.ts';
import { type CacheReport, CacheTableSource } from '../../src/cache/replication.ts';
import { QUIET_MS, type ReplicaPeer, TableFeed } from '../../src/cluster/replication.ts';
import { silentLogger } from '../../src/logger.ts';
import { settings } from './cache-settings.ts';

/** A worker: its replica gets what the feed sends; its reports go to `reports`. */
class Worker implements ReplicaPeer {
  readonly reports: CacheReport[] = [];
  readonly replica: CacheReplica;
  constructor(name: string, clock: () => number, noExpire = false) {
    this.replica = new CacheReplica({
      cache: name,
      noExpire,
      clock,
      report: (r) => this.reports.push(r),
    });
  }
  sendTable(_table: string, op: 'snapshot' | 'deltas', items: readonly unknown[]): boolean {
    this.replica.apply(op, items);
    return true;
  }
}

function primary(over: Partial<CacheSettings> = {}, clock: () => number = () => 1000) {
  const cache = new UwsgiCache(settings({ name: 'default', maxItems: 100, ...over }), silentLogger(), clock);
  const source = new CacheTableSource(cache);
  const feed = new TableFeed(source);
  source.publish = (id, delta) => feed.publish(id, delta);
  return { cache, source, feed };
}

const sent = () => sleep(QUIET_MS * 3);
const route = (w: Worker, key: string) => w.replica.lookupRoute(key)?.value.toString('latin1');

test('a new worker gets every item held (its snapshot), then every change: writes, applied deltas, removals', async () => {
  const now = () => 1000;
  const { cache, feed } = primary({}, now);
  cache.set('a.example', Buffer.from('127.0.0.1:3031'));
  // as a UDP sync packet or a store file applies it
  cache.applyDelta({
    op: 'set',
    key: Buffer.from('b.example'),
    value: Buffer.from('127.0.0.1:3032'),
    expires: 0,
  });
  const w = new Worker('default', now);
  await feed.attach(w);
  assert.equal(route(w, 'a.example'), '127.0.0.1:3031');
  assert.equal(route(w, 'b.example'), '127.0.0.1:3032');
  cache.update('a.example', Buffer.from('127.0.0.1:4000'));
  cache.applyDelta({ op: 'delete', key: Buffer.from('b.example') });
  cache.applyDelta({ op: 'set', key: Buffer.from([0xff, 0]), value: Buffer.from([1, 2, 3]), expires: 1100 });
  assert.equal(route(w, 'a.example'), '127.0.0.1:3031', 'changes travel once the feed sends them');
  await sent();
  assert.equal(route(w, 'a.example'), '127.0.0.1:4000');
  assert.equal(w.replica.has('b.example'), false);
  assert.deepEqual(w.replica.get(Buffer.from([0xff, 0]).toString('latin1')), Buffer.from([1, 2, 3]));
});

test('what the primary removes on its own (sweeper, LRU purge, clear) leaves the workers too', async () => {
  let t = 1000;
  const clock = () => t;
  const { cache, feed } = primary({ maxItems: 3, purgeLru: true }, clock);
  const w = new Worker('default', clock);
  await feed.attach(w);
  cache.set('k1', Buffer.from('v1'));
  cache.set('k2', Buffer.from('v2'));
  await sent();
  // room for 2 items (items − 1): a third purges the least recently used
  cache.set('k3', Buffer.from('v3'));
  await sent();
  assert.deepEqual([w.replica.has('k1'), w.replica.has('k2'), w.replica.has('k3')], [false, true, true]);
  cache.clear();
  await sent();
  assert.equal(w.replica.size, 0);

  const swept = primary({}, clock);
  const w2 = new Worker('default', clock);
  await swept.feed.attach(w2);
  swept.cache.set('soon', Buffer.from('x'), 10);
  await sent();
  assert.equal(w2.replica.size, 1);
  t += 20;
  assert.equal(swept.cache.sweep(), 1);
  await sent();
  assert.equal(w2.replica.size, 0, 'the sweep removal was sent');
});

test('an expired item is not served by a replica, unless the cache never expires', async () => {
  let t = 1000;
  const clock = () => t;
  const { cache, feed } = primary({}, clock);
  const w = new Worker('default', clock);
  const keep = new Worker('default', clock, true);
  await feed.attach(w);
  await feed.attach(keep);
  cache.set('k', Buffer.from('v'), 5);
  await sent();
  t += 6;
  assert.equal(w.replica.lookupRoute('k'), undefined);
  assert.equal(keep.replica.lookupRoute('k')?.value.toString(), 'v');
});

test('a write through a worker is seen there at once, stored by the primary and sent to every worker', async () => {
  const now = () => 1000;
  const { cache, source, feed } = primary({}, now);
  const a = new Worker('default', now);
  const b = new Worker('default', now);
  await feed.attach(a);
  await feed.attach(b);
  assert.equal(a.replica.write('k', Buffer.from('from a'), 60, false), true);
  assert.equal(route(a, 'k'), 'from a');
  assert.equal(b.replica.has('k'), false);
  source.applyReports(a.reports.splice(0));
  assert.equal(cache.get('k')?.toString(), 'from a');
  assert.equal(cache.expiresOf('k'), 1060);
  await sent();
  assert.equal(route(b, 'k'), 'from a');
  // set (not update) of a key that exists: refused in the worker that has it
  assert.equal(b.replica.write('k', Buffer.from('x'), 0, false), false);
  assert.equal(a.replica.delete('k'), true);
  source.applyReports(a.reports.splice(0));
  await sent();
  assert.equal(b.replica.has('k'), false);
  assert.equal(cache.has('k'), false);
});

test('a write the primary refuses (the cache is full) is undone in the worker that made it', async () => {
  const now = () => 1000;
  const { cache, source, feed } = primary({ maxItems: 2 }, now);
  const w = new Worker('default', now);
  await feed.attach(w);
  cache.set('held', Buffer.from('1'));
  await sent();
  w.replica.write('more', Buffer.from('2'), 0, true);
  assert.equal(w.replica.has('more'), true);
  source.applyReports(w.reports.splice(0));
  assert.equal(cache.has('more'), false);
  await sent();
  assert.equal(w.replica.has('more'), false);
});

test("workers' lookups are counted where they happen and added to the cache's stats", async () => {
  const now = () => 1000;
  const { cache, source, feed } = primary({}, now);
  const w = new Worker('default', now);
  await feed.attach(w);
  cache.set('k', Buffer.from('127.0.0.1:1|127.0.0.1:2'));
  await sent();
  // uWSGI's per-item hits rotate A1|A2: the worker's own lookups do
  assert.deepEqual(
    [w.replica.lookupRoute('k')?.hits, w.replica.lookupRoute('k')?.hits, w.replica.lookupRoute('nope')],
    [0, 1, undefined],
  );
  const usage = w.replica.usage();
  assert.deepEqual(usage, [3, 2, 1]);
  assert.equal(w.replica.usage(), null, 'zeroed once reported');
  source.applyReports([usage as CacheReport]);
  assert.deepEqual([cache.statsFields().hits, cache.statsFields().miss], [2, 1]);
});
