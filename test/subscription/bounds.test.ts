/**
 * Issue items 15 and 6 — unsigned UDP could create unlimited pools and nodes
 * (`--subscription-max-keys`, `--subscription-max-nodes`, refusals counted), and a burst of
 * new keys wrote two log lines per key on the packet path (summarised past 20 lines/s).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionReceiver } from '../../src/subscription/receiver.ts';
import { makeTable, packet } from './harness.ts';

test('--subscription-max-keys: a new key past the bound is refused, counted, logged once a minute', () => {
  const t = makeTable({ maxKeys: 3 });
  const outcome = (key: string, address = '127.0.0.1:3031') => {
    const r = t.receiver.handle(packet('subscribe', { key, address }));
    return r.ok ? r.result : r.reason;
  };
  for (const k of ['a.test', 'b.test', 'c.test']) assert.equal(outcome(k), 'new-pool');
  for (let i = 0; i < 100; i++) assert.equal(outcome(`flood${i}.test`), 'too-many-keys');
  assert.equal(t.table.pools.size, 3);
  assert.equal(t.receiver.counters.rejected['too-many-keys'], 100);
  assert.equal(t.lines.filter((l) => l.includes('(too-many-keys)')).length, 1);
  assert.match(
    t.lines.find((l) => l.includes('(too-many-keys)')) ?? '',
    /3 keys are subscribed \(--subscription-max-keys\)/,
  );
  // existing keys still take refreshes and new nodes
  assert.equal(outcome('a.test'), 'refresh');
  assert.equal(outcome('a.test', '127.0.0.1:3032'), 'new-node');
  // a freed slot is usable again
  t.receiver.handle(packet('unsubscribe', { key: 'c.test', address: '127.0.0.1:3031' }));
  assert.equal(outcome('d.test'), 'new-pool');
});

test('--subscription-max-nodes: a new node of a full pool is refused; refreshes go on', () => {
  const t = makeTable({ maxNodes: 2 });
  const outcome = (address: string, key = 'k.test') => {
    const r = t.receiver.handle(packet('subscribe', { key, address }));
    return r.ok ? r.result : r.reason;
  };
  assert.equal(outcome('127.0.0.1:1'), 'new-pool');
  assert.equal(outcome('127.0.0.1:2'), 'new-node');
  for (let i = 3; i < 500; i++) assert.equal(outcome(`127.0.0.1:${i}`), 'too-many-nodes');
  assert.equal(t.table.pools.get('k.test')?.nodes.length, 2);
  assert.equal(outcome('127.0.0.1:2'), 'refresh');
  assert.equal(outcome('127.0.0.1:3', 'other.test'), 'new-pool', 'the bound is per pool');
  assert.equal(t.receiver.counters.rejected['too-many-nodes'], 497);
  assert.equal(t.lines.filter((l) => l.includes('(too-many-nodes)')).length, 1);
});

test('no bound when 0 (and by default in the table API)', () => {
  const t = makeTable();
  for (let i = 0; i < 2000; i++)
    t.receiver.handle(packet('subscribe', { key: `k${i}`, address: '127.0.0.1:1' }));
  assert.equal(t.table.pools.size, 2000);
});

test('new pool / new node lines: uWSGI’s exact lines while few, one summary per second in a burst', () => {
  const t = makeTable();
  const receiver = new SubscriptionReceiver(t.table);
  receiver.handle(packet('subscribe', { key: 'example.com:8080', address: '127.0.0.1:1' }));
  // spec: subscription.md §2.1, §10 (hash verified with uWSGI)
  assert.deepEqual(t.lines, [
    '[uwsgi-subscription for pid 4242] new pool: example.com:8080 (hash key: 34227)',
    '[uwsgi-subscription for pid 4242] example.com:8080 => new node: 127.0.0.1:1',
  ]);
  t.lines.length = 0;
  t.clock.t += 1;
  for (let i = 0; i < 5000; i++)
    receiver.handle(packet('subscribe', { key: `b${i}.test`, address: '127.0.0.1:1' }));
  assert.equal(t.lines.length, 20, 'no more than 20 lines within the second');
  assert.equal(t.table.pools.size, 5001);
  t.clock.t += 1;
  receiver.handle(packet('subscribe', { key: 'after.test', address: '127.0.0.1:1' }));
  assert.equal(
    t.lines[20],
    '[uwsgi-subscription for pid 4242] 4990 more new pools and 4990 more new nodes (burst: lines past 20/s not printed one by one)',
  );
  assert.match(t.lines[21] ?? '', /new pool: after\.test/);
  // the summary also comes without a next packet (after.test + 9 keys fill the 20 lines)
  for (let i = 0; i < 30; i++)
    receiver.handle(packet('subscribe', { key: `c${i}.test`, address: '127.0.0.1:1' }));
  receiver.flushLog();
  assert.match(
    t.lines.at(-1) ?? '',
    /^\[uwsgi-subscription for pid 4242\] 21 more new pools and 21 more new nodes/,
  );
});
