/**
 * The cluster's table plumbing: deltas coalesced per event-loop turn (a burst is a handful of
 * IPC messages, not one per change), snapshots in slices that converge while the table
 * changes, a feed handing its workers over, and workers' reports batched the same way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import {
  CHUNK,
  MAX_WAIT_MS,
  QUIET_MS,
  type ReplicaPeer,
  ReplicaSet,
  TableFeed,
} from '../../src/cluster/replication.ts';

type Delta = [op: 0 | 1, id: string, value?: number];

/** A table of id → value whose snapshot is upserts. */
class MapTable {
  readonly name = 't';
  readonly data = new Map<string, number>();
  reports: unknown[] = [];
  *snapshot(): Iterable<Delta> {
    for (const [id, v] of this.data) yield [0, id, v];
  }
  applyReports(items: readonly unknown[]): void {
    this.reports.push(...items);
  }
}

/** A peer that applies what it receives to its own map, counting messages. */
class Peer implements ReplicaPeer {
  readonly data = new Map<string, number>();
  messages = 0;
  sendTable(_table: string, _op: 'snapshot' | 'deltas', items: readonly unknown[]): boolean {
    this.messages++;
    for (const d of items as Delta[]) {
      if (d[0] === 0) this.data.set(d[1], d[2] as number);
      else this.data.delete(d[1]);
    }
    return true;
  }
}

test('50,000 changes in one turn are about 50,000 / CHUNK messages per worker; the last change of an id wins', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  const a = new Peer();
  const b = new Peer();
  await feed.attach(a);
  await feed.attach(b);
  // the same key changed again later travels in its last state
  feed.publish('k7', [0, 'k7', -1]);
  feed.publish('k8', [0, 'k8', 8]);
  for (let i = 0; i < 50_000; i++) {
    if (i === 7 || i === 8) continue;
    table.data.set(`k${i}`, i);
    feed.publish(`k${i}`, [0, `k${i}`, i]);
  }
  feed.publish('k8', [1, 'k8']);
  assert.equal(a.messages, 0, 'nothing sent while changes keep coming');
  await sleep(QUIET_MS * 3);
  assert.equal(a.messages, Math.ceil(50_000 / CHUNK));
  assert.equal(b.messages, a.messages);
  assert.equal(a.data.size, 49_999);
  assert.equal(a.data.get('k7'), -1);
  assert.equal(a.data.has('k8'), false);
});

test('one change per event-loop turn (a busy subscription server) is still batched: a few messages, not one each', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  const p = new Peer();
  await feed.attach(p);
  const t0 = Date.now();
  // a turn that took longer than QUIET_MS (this process descheduled on a busy machine) is a
  // pause in the changes: the feed rightly flushes there
  let stalls = 0;
  let last = t0;
  for (let i = 0; i < 2000; i++) {
    feed.publish(`k${i}`, [0, `k${i}`, i]);
    await nextTurn();
    const now = Date.now();
    if (now - last >= QUIET_MS) stalls++;
    last = now;
  }
  const elapsed = Date.now() - t0;
  await sleep(QUIET_MS * 3);
  assert.equal(p.data.size, 2000);
  assert.ok(
    p.messages <= Math.ceil(elapsed / MAX_WAIT_MS) + 1 + stalls,
    `${p.messages} messages in ${elapsed} ms (${stalls} turns longer than ${QUIET_MS} ms)`,
  );
});

test('a lone change reaches the workers within a few QUIET_MS; a long burst at least every MAX_WAIT_MS', async () => {
  const feed = new TableFeed(new MapTable());
  const p = new Peer();
  await feed.attach(p);
  const t0 = Date.now();
  feed.publish('a', [0, 'a', 1]);
  while (p.messages === 0 && Date.now() - t0 < 1000) await sleep(1);
  assert.ok(Date.now() - t0 < QUIET_MS * 5, `${Date.now() - t0} ms`);
  // a change every 2 ms for 3 × MAX_WAIT_MS: sent along the way, not only at the end
  const start = Date.now();
  let seenMidway = 0;
  for (let i = 0; Date.now() - start < 3 * MAX_WAIT_MS; i++) {
    feed.publish(`b${i}`, [0, `b${i}`, i]);
    if (Date.now() - start < 2.5 * MAX_WAIT_MS) seenMidway = p.messages;
    await sleep(2);
  }
  assert.ok(seenMidway >= 2, `${seenMidway} messages during the burst`);
});

test('a snapshot sent in slices converges although the table changes between slices', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  for (let i = 0; i < 3 * CHUNK + 10; i++) table.data.set(`k${i}`, i);
  const early = new Peer();
  await feed.attach(early);
  const late = new Peer();
  const attaching = feed.attach(late);
  // while the snapshot goes out: one key removed, one changed, one added
  table.data.delete('k1');
  feed.publish('k1', [1, 'k1']);
  table.data.set(`k${3 * CHUNK}`, -5);
  feed.publish(`k${3 * CHUNK}`, [0, `k${3 * CHUNK}`, -5]);
  table.data.set('new', 1);
  feed.publish('new', [0, 'new', 1]);
  await attaching;
  await sleep(QUIET_MS * 3);
  assert.ok(late.messages >= 4, `${late.messages} messages: the snapshot went in slices`);
  assert.deepEqual(new Map([...late.data].sort()), new Map([...table.data].sort()));
  assert.deepEqual(new Map([...early.data].sort()), new Map([...table.data].sort()));
});

test('no worker, no message; a detached worker gets nothing more; handOver moves workers to a new feed', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  feed.publish('x', [0, 'x', 1]);
  await sleep(QUIET_MS * 3);
  const p = new Peer();
  await feed.attach(p);
  feed.detach(p);
  feed.publish('y', [0, 'y', 1]);
  await sleep(QUIET_MS * 3);
  assert.equal(p.messages, 0);
  await feed.attach(p);
  const next = new TableFeed(new MapTable());
  feed.handOver(next);
  next.publish('z', [0, 'z', 3]);
  feed.publish('old', [0, 'old', 3]);
  await sleep(QUIET_MS * 3);
  assert.equal(p.data.get('z'), 3);
  assert.equal(p.data.has('old'), false);
});

test("workers' reports are batched per turn and per table", async () => {
  const sent: Array<[string, number]> = [];
  const set = new ReplicaSet((table, items) => sent.push([table, items.length]));
  for (let i = 0; i < 12_000; i++) set.report('a', i);
  set.report('b', 'x');
  assert.deepEqual(sent, []);
  await nextTurn();
  assert.deepEqual(sent, [
    ['a', CHUNK],
    ['a', CHUNK],
    ['a', 12_000 - 2 * CHUNK],
    ['b', 1],
  ]);
});
