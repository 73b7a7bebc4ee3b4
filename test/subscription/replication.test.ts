/**
 * The subscription table in a cluster: the primary's table (fed by the receiver, signatures
 * checked there once) publishes deltas; a worker's replica applied with them routes exactly
 * as the primary's table would; workers report failed connects and usage back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionReceiver } from '../../src/subscription/receiver.ts';
import { SubscriptionReplica } from '../../src/subscription/replica.ts';
import {
  copyTable,
  type SubscriptionDelta,
  type SubscriptionReport,
  SubscriptionTableSource,
} from '../../src/subscription/replication.ts';
import { PublicKeyStore } from '../../src/subscription/signatures.ts';
import { SubscriptionTable } from '../../src/subscription/table.ts';
import { captureLogger, FakeClock, keyDir, packet, signedPacket } from './harness.ts';

const CLIENT = { address: '10.0.0.1', port: 5000 };

/** A primary table wired to a source, and a replica fed synchronously with what it publishes. */
function cluster(signDir?: string) {
  const clock = new FakeClock();
  const { logger, lines } = captureLogger();
  const source = new SubscriptionTableSource('http');
  const deltas: SubscriptionDelta[] = [];
  const reports: SubscriptionReport[] = [];
  const table = new SubscriptionTable({
    logger,
    clock,
    sweepIntervalMs: 0,
    hooks: source.hooks,
    router: 'http',
  });
  source.table = table;
  const replicaLog = captureLogger();
  const replica = new SubscriptionReplica({
    router: 'http',
    logger: replicaLog.logger,
    clock,
    report: (r) => reports.push(r),
  });
  source.publish = (_id, d) => {
    deltas.push(d);
    replica.apply('deltas', [d]);
  };
  const receiver = new SubscriptionReceiver(table, {
    signing: signDir
      ? { store: new PublicKeyStore({ checks: [{ digest: 'sha256', dir: signDir }] }), tolerance: 86400 }
      : undefined,
  });
  return { clock, table, source, receiver, replica, deltas, reports, lines, replicaLines: replicaLog.lines };
}

function nodesOf(t: SubscriptionTable): string[] {
  const out: string[] = [];
  for (const p of t.pools.values())
    for (const n of p.nodes) out.push(`${p.key} ${n.name} w${n.weight} d${n.deathMark}`);
  return out.sort();
}

test('a subscribe, a refresh and an unsubscribe reach the replica, which routes like the primary', () => {
  const c = cluster();
  c.receiver.handle(packet('subscribe', { key: 'example.com', address: '127.0.0.1:3031', weight: 2 }));
  c.receiver.handle(packet('subscribe', { key: 'example.com', address: '127.0.0.1:3032' }));
  assert.deepEqual(nodesOf(c.replica.table), nodesOf(c.table));
  const lease = c.replica.mapper.pick('example.com', CLIENT);
  assert.ok(lease);
  assert.match(lease.address.name, /^127\.0\.0\.1:303[12]$/);
  lease.connected();
  lease.release(10, 20);
  // a refresh with a new weight
  c.receiver.handle(packet('subscribe', { key: 'example.com', address: '127.0.0.1:3032', weight: 7 }));
  assert.deepEqual(nodesOf(c.replica.table), nodesOf(c.table));
  assert.match(nodesOf(c.replica.table).join('\n'), /3032 w7/);
  c.receiver.handle(packet('unsubscribe', { key: 'example.com', address: '127.0.0.1:3031' }));
  c.receiver.handle(packet('unsubscribe', { key: 'example.com', address: '127.0.0.1:3032' }));
  assert.equal(c.replica.table.pools.size, 0);
  assert.equal(c.replica.mapper.pick('example.com', CLIENT), null);
  // the key was known moments ago: 503 rather than 404 in the worker too
  assert.equal(c.replica.mapper.knows('example.com'), true);
});

test('signed subscriptions are verified once, by the primary; the replica takes the result (README item 10)', () => {
  const dir = keyDir('signed.example');
  const c = cluster(dir);
  const now = c.clock.now();
  const out = c.receiver.handle(
    signedPacket('subscribe', { key: 'signed.example', address: '127.0.0.1:4001' }, now),
  );
  assert.equal(out.ok, true);
  assert.deepEqual(nodesOf(c.replica.table), ['signed.example 127.0.0.1:4001 w1 d0']);
  assert.ok(c.replica.mapper.pick('signed.example', CLIENT), 'the replica routes the signed node');
  // an unsigned copy is refused at the primary, so nothing reaches the replica
  const before = c.deltas.length;
  assert.equal(
    c.receiver.handle(packet('subscribe', { key: 'signed.example', address: '127.0.0.1:4002' })).ok,
    false,
  );
  assert.equal(c.deltas.length, before);
});

test('a failed connect in a worker: logged there, reported, and the primary removes the node from every replica', () => {
  const c = cluster();
  c.receiver.handle(packet('subscribe', { key: 'k.example', address: '127.0.0.1:1' }));
  const lease = c.replica.mapper.pick('k.example', CLIENT);
  assert.ok(lease);
  lease.failed('ECONNREFUSED');
  assert.deepEqual(c.reports, [[0, 'k.example', '127.0.0.1:1']]);
  c.source.applyReports(c.reports);
  assert.equal(c.table.pools.size, 0, 'gone from the primary');
  assert.equal(c.replica.table.pools.size, 0, 'and from the replica (the remove delta)');
  assert.deepEqual(c.deltas.at(-1), [1, 'k.example', '127.0.0.1:1']);
});

test('usage goes back as deltas: requests, bytes and pool hits add up in the primary', () => {
  const c = cluster();
  c.receiver.handle(packet('subscribe', { key: 'u.example', address: '127.0.0.1:5' }));
  for (let i = 0; i < 3; i++) {
    const lease = c.replica.mapper.pick('u.example', CLIENT);
    assert.ok(lease);
    lease.connected();
    lease.release(100, 7);
  }
  const held = c.replica.mapper.pick('u.example', CLIENT);
  assert.ok(held);
  held.connected();
  assert.deepEqual(c.replica.refs(), [['u.example', '127.0.0.1:5', 1]]);
  c.source.applyReports(c.replica.usage());
  const node = c.table.pools.get('u.example')?.nodes[0];
  assert.equal(node?.requests, 4);
  assert.equal(node?.tx, 300);
  assert.equal(node?.rx, 21);
  assert.equal(c.table.pools.get('u.example')?.hits, 4);
  // reported once: the next report has only what happened since
  held.release(5, 5);
  c.source.applyReports(c.replica.usage());
  assert.equal(node?.requests, 4);
  assert.equal(node?.tx, 305);
  assert.deepEqual(c.replica.usage(), [], 'nothing new, and the released node is no longer watched');
});

test('the replica does not log expiries (the primary does, once) and a snapshot rebuilds it', () => {
  const c = cluster();
  c.receiver.handle(packet('subscribe', { key: 'e.example', address: '127.0.0.1:9' }));
  const fresh = new SubscriptionReplica({
    router: 'http',
    logger: captureLogger().logger,
    clock: c.clock,
    report: () => {},
  });
  fresh.apply('snapshot', [...c.source.snapshot()]);
  assert.deepEqual(nodesOf(fresh.table), nodesOf(c.table));
  // a re-sent snapshot changes nothing (deltas are idempotent)
  fresh.apply('snapshot', [...c.source.snapshot()]);
  assert.equal(fresh.table.size, 1);
  c.clock.t += 60;
  assert.equal(c.replica.mapper.pick('e.example', CLIENT), null, 'expired in the replica too');
  assert.deepEqual(c.replicaLines, []);
});

test('copyTable (a reload rebuilding the subscription system) keeps nodes, keys, SNI and counters', () => {
  const c = cluster();
  c.receiver.handle(
    packet('subscribe', { key: 'sni.example', address: '127.0.0.1:7', sniKey: '/k.pem', sniCrt: '/c.pem' }),
  );
  const node = c.table.pools.get('sni.example')?.nodes[0];
  assert.ok(node);
  node.requests = 12;
  node.failcnt = 2;
  const to = new SubscriptionTable({ logger: captureLogger().logger, sweepIntervalMs: 0 });
  copyTable(c.table, to);
  const copy = to.pools.get('sni.example');
  assert.deepEqual(copy?.sni, { key: '/k.pem', crt: '/c.pem', ca: undefined });
  assert.equal(copy?.nodes[0].requests, 12);
  assert.equal(copy?.nodes[0].failcnt, 2);
  assert.equal(copy?.nodes[0].lastCheck, node.lastCheck);
  assert.equal(to.size, 1);
});

test("a replica gives the worker's TLS side every certificate announced (the last one wins) and takes it back with the pool", () => {
  const c = cluster();
  const calls: string[] = [];
  const sink = {
    attachSubscription: (key: string, sni: { key: string; crt: string; ca?: string }) =>
      calls.push(`attach ${key} ${sni.crt}`),
    detachSubscription: (key: string) => calls.push(`detach ${key}`),
    hasSubscriptionContext: () => false,
  };
  // announced before the worker's router (and its TLS side) exists: attached when bound
  c.receiver.handle(
    packet('subscribe', { key: 'sni.example', address: '127.0.0.1:7', sniKey: '/k.pem', sniCrt: '/c1.pem' }),
  );
  c.replica.bindSni(sink);
  assert.deepEqual(calls, ['attach sni.example /c1.pem']);
  // a renewed certificate on a re-announce reaches it, as every packet does in one process
  c.receiver.handle(
    packet('subscribe', { key: 'sni.example', address: '127.0.0.1:7', sniKey: '/k.pem', sniCrt: '/c2.pem' }),
  );
  assert.deepEqual(calls.slice(1), ['attach sni.example /c2.pem']);
  c.receiver.handle(packet('unsubscribe', { key: 'sni.example', address: '127.0.0.1:7' }));
  assert.deepEqual(calls.slice(2), ['detach sni.example']);
});
