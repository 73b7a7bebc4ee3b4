/**
 * The cluster's table plumbing: deltas coalesced per event-loop turn (a burst is a handful of
 * IPC messages, not one per change), snapshots in slices that converge while the table
 * changes, a feed handing its workers over, and workers' reports batched the same way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CHUNK, type ReplicaPeer, ReplicaSet, TableFeed } from '../../src/cluster/replication.ts';

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

test('50,000 changes in one turn are ceil(50,000 / CHUNK) messages per worker; the last change of an id wins', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  const a = new Peer();
  const b = new Peer();
  await feed.attach(a);
  await feed.attach(b);
  for (let i = 0; i < 50_000; i++) {
    table.data.set(`k${i}`, i);
    feed.publish(`k${i}`, [0, `k${i}`, i]);
  }
  // the same key changed three times in the turn travels once, last state
  feed.publish('k7', [0, 'k7', -1]);
  feed.publish('k8', [1, 'k8']);
  assert.equal(a.messages, 0, 'nothing sent before the turn ends');
  await nextTurn();
  assert.equal(a.messages, Math.ceil(50_000 / CHUNK));
  assert.equal(b.messages, Math.ceil(50_000 / CHUNK));
  assert.equal(a.data.size, 49_999);
  assert.equal(a.data.get('k7'), -1);
  assert.equal(a.data.has('k8'), false);
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
  await nextTurn();
  assert.ok(late.messages >= 4, `${late.messages} messages: the snapshot went in slices`);
  assert.deepEqual(new Map([...late.data].sort()), new Map([...table.data].sort()));
  assert.deepEqual(new Map([...early.data].sort()), new Map([...table.data].sort()));
});

test('no worker, no message; a detached worker gets nothing more; handOver moves workers to a new feed', async () => {
  const table = new MapTable();
  const feed = new TableFeed(table);
  feed.publish('x', [0, 'x', 1]);
  await nextTurn();
  const p = new Peer();
  await feed.attach(p);
  feed.detach(p);
  feed.publish('y', [0, 'y', 1]);
  await nextTurn();
  assert.equal(p.messages, 0);
  await feed.attach(p);
  const next = new TableFeed(new MapTable());
  feed.handOver(next);
  next.publish('z', [0, 'z', 3]);
  feed.publish('old', [0, 'old', 3]);
  await nextTurn();
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
