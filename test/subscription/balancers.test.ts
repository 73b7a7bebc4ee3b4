import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SubscriptionAlgo } from '../../src/subscription/balancers.ts';
import { SubscriptionMapper } from '../../src/subscription/mapper.ts';
import { makeTable, packet } from './harness.ts';

const client = { address: '127.0.0.1', port: 40000 };

function setup(algo: SubscriptionAlgo, nodes: Array<[port: number, weight: number, backup?: number]>) {
  const t = makeTable({ algo });
  for (const [port, weight, backup] of nodes) {
    t.receiver.handle(
      packet('subscribe', { key: 'example.com', address: `127.0.0.1:${port}`, weight, backup }),
    );
  }
  const mapper = new SubscriptionMapper(t.table);
  /** sequential requests: pick, connect, release */
  const run = (n: number, from = client): string[] => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const lease = mapper.pick('example.com', from);
      if (!lease) {
        out.push('-');
        continue;
      }
      lease.connected();
      lease.release(10, 20);
      out.push(String.fromCharCode(65 + (lease.address.kind === 'tcp' ? lease.address.port - 1 : 0)));
    }
    return out;
  };
  return { ...t, mapper, run };
}

test('wrr: A(2), B(1) → B, A, A, B, A, A', () => {
  assert.deepEqual(
    setup('wrr', [
      [1, 2],
      [2, 1],
    ]).run(6),
    ['B', 'A', 'A', 'B', 'A', 'A'],
  );
});

test('wrr: A(1), B(2), C(1) → C, A, B, B, C, A, B, B', () => {
  assert.deepEqual(
    setup('wrr', [
      [1, 1],
      [2, 2],
      [3, 1],
    ]).run(8),
    ['C', 'A', 'B', 'B', 'C', 'A', 'B', 'B'],
  );
});

test('wrr: weight 0 counts as 1', () => {
  assert.deepEqual(
    setup('wrr', [
      [1, 0],
      [2, 0],
    ]).run(4),
    ['B', 'A', 'B', 'A'],
  );
});

test('lrc and wlrc: sequential traffic is a reverse round robin C, B, A, C, B, A', () => {
  assert.deepEqual(
    setup('lrc', [
      [1, 1],
      [2, 1],
      [3, 1],
    ]).run(6),
    ['C', 'B', 'A', 'C', 'B', 'A'],
  );
  assert.deepEqual(
    setup('wlrc', [
      [1, 1],
      [2, 5],
      [3, 1],
    ]).run(6),
    ['C', 'B', 'A', 'C', 'B', 'A'],
  );
});

test('lrc under concurrency picks the least referenced node', () => {
  const s = setup('lrc', [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
  const held = [s.mapper.pick('example.com', client)!, s.mapper.pick('example.com', client)!];
  const ports = held.map((l) => (l.address.kind === 'tcp' ? l.address.port : 0));
  const third = s.mapper.pick('example.com', client)!;
  assert.equal(third.address.kind === 'tcp' && !ports.includes(third.address.port), true);
});

test('wlrc weighs references: a heavy node takes more concurrent sessions', () => {
  const s = setup('wlrc', [
    [1, 1],
    [2, 4],
  ]);
  const counts = new Map<number, number>();
  for (let i = 0; i < 10; i++) {
    const l = s.mapper.pick('example.com', client)!;
    const port = l.address.kind === 'tcp' ? l.address.port : 0;
    counts.set(port, (counts.get(port) ?? 0) + 1);
  }
  assert.ok((counts.get(2) ?? 0) >= 7, `weight 4 node got ${counts.get(2)}`);
});

test('iphash: the same client gets the same node while the pool is unchanged', () => {
  const s = setup('iphash', [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
  const seen = new Set<string>();
  for (let c = 1; c < 50; c++) {
    const from = { address: `10.0.0.${c}`, port: 1 };
    const first = s.run(1, from)[0];
    assert.deepEqual(s.run(5, from), [first, first, first, first, first]);
    seen.add(first);
  }
  assert.equal(seen.size, 3, 'clients spread over all nodes');
  const v6 = { address: '::1', port: 1 };
  const a = s.run(1, v6)[0];
  assert.equal(s.run(1, v6)[0], a);
});

test('backup nodes get traffic only when no normal node is alive', () => {
  const s = setup('wrr', [
    [1, 1, 1],
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(s.run(4), ['C', 'B', 'C', 'B']);
  s.receiver.handle(packet('unsubscribe', { key: 'example.com', address: '127.0.0.1:2' }));
  s.receiver.handle(packet('unsubscribe', { key: 'example.com', address: '127.0.0.1:3' }));
  assert.deepEqual(s.run(2), ['A', 'A']);
  s.receiver.handle(packet('subscribe', { key: 'example.com', address: '127.0.0.1:2' }));
  assert.deepEqual(s.run(2), ['B', 'B']);
});

test('dead nodes are skipped by every algorithm', () => {
  for (const algo of ['wrr', 'lrc', 'wlrc', 'iphash'] as const) {
    const s = setup(algo, [
      [1, 1],
      [2, 1],
    ]);
    const held = s.mapper.pick('example.com', client)!; // keep a reference so the node stays listed
    const port = held.address.kind === 'tcp' ? held.address.port : 0;
    s.receiver.handle(packet('unsubscribe', { key: 'example.com', address: `127.0.0.1:${port}` }));
    const other = String.fromCharCode(65 + (port === 1 ? 1 : 0));
    assert.deepEqual(s.run(3), [other, other, other], algo);
  }
});
