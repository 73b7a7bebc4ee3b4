/**
 * Issue item 14 — subscription keys are normalised on receipt (`normalizeHostKey`: ASCII case
 * folded, one trailing dot dropped), subscribe and unsubscribe, signed or not.
 * Issue item 10 — a key whose pool went away less than `subscription-tolerance` ago is still
 * known (503 "no live node", not 404 "no such host"), with dotsplit and fallback as pick().
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SubscriptionMapper } from '../../src/subscription/mapper.ts';
import { KEYS, keyDir, makeSignedTable, makeTable, packet, signedPacket } from './harness.ts';

const client = { address: '10.0.0.1', port: 1000 };

test('keys are normalised: Example.COM. and example.com are one pool; unsubscribe in any case', () => {
  const t = makeTable();
  t.receiver.handle(packet('subscribe', { key: 'Example.COM.', address: '127.0.0.1:1' }));
  t.receiver.handle(packet('subscribe', { key: 'example.com', address: '127.0.0.1:2' }));
  t.receiver.handle(packet('subscribe', { key: 'EXAMPLE.com:8080', address: '127.0.0.1:3' }));
  assert.deepEqual([...t.table.pools.keys()], ['example.com', 'example.com:8080']);
  assert.deepEqual(
    t.table.pools.get('example.com')?.nodes.map((n) => n.name),
    ['127.0.0.1:1', '127.0.0.1:2'],
  );
  assert.ok(t.lines.includes('[uwsgi-subscription for pid 4242] new pool: example.com (hash key: 30778)'));
  const r = t.receiver.handle(packet('unsubscribe', { key: 'EXAMPLE.COM', address: '127.0.0.1:1' }));
  assert.equal(r.ok && r.result, 'unsubscribe');
  t.receiver.handle(packet('unsubscribe', { key: 'example.com.', address: '127.0.0.1:2' }));
  assert.deepEqual([...t.table.pools.keys()], ['example.com:8080']);
});

test('signed: the key file of the key as sent (Example.com.pem), else of the normalised key', () => {
  // a node signing `Example.com` with keys/Example.com.pem keeps working
  const sent = makeSignedTable(keyDir('Example.com'));
  const r1 = sent.receiver.handle(
    signedPacket('subscribe', { key: 'Example.com', address: '127.0.0.1:1' }, sent.clock.t),
  );
  assert.equal(r1.ok && r1.result, 'new-pool');
  assert.deepEqual([...sent.table.pools.keys()], ['example.com']);
  // …and its unsubscribe (any spelling) is checked against the pool's key
  sent.clock.t += 5;
  const u = sent.receiver.handle(
    signedPacket('unsubscribe', { key: 'EXAMPLE.com', address: '127.0.0.1:1' }, sent.clock.t),
  );
  assert.equal(u.ok && u.result, 'unsubscribe');
  // an operator may name the file in lower case
  const lower = makeSignedTable(keyDir('example.com'));
  const r2 = lower.receiver.handle(
    signedPacket('subscribe', { key: 'Example.COM', address: '127.0.0.1:1' }, lower.clock.t),
  );
  assert.equal(r2.ok && r2.result, 'new-pool');
  // no file for either name: refused
  const none = makeSignedTable(keyDir('other.com'));
  const r3 = none.receiver.handle(
    signedPacket('subscribe', { key: 'Example.com', address: '127.0.0.1:1' }, none.clock.t),
  );
  assert.equal(!r3.ok && r3.reason, 'no-public-key');
  // one pool, one signing key: a packet in another spelling signed with another key fails
  const dir = mkdtempSync(join(tmpdir(), 'uwr-keys-'));
  copyFileSync(join(KEYS, 'public.pem'), join(dir, 'example.com.pem'));
  const pooled = makeSignedTable(dir);
  pooled.receiver.handle(
    signedPacket('subscribe', { key: 'example.com', address: '127.0.0.1:1' }, pooled.clock.t),
  );
  const again = pooled.receiver.handle(
    signedPacket('subscribe', { key: 'EXAMPLE.COM', address: '127.0.0.1:2' }, pooled.clock.t),
  );
  assert.equal(again.ok && again.result, 'new-node', 'same key material, other spelling');
});

test('a key whose pool just went is known for the tolerance, then forgotten', () => {
  const t = makeTable({ tolerance: 17 });
  const m = new SubscriptionMapper(t.table);
  assert.equal(m.knows('gone.test'), false);
  t.receiver.handle(packet('subscribe', { key: 'gone.test', address: '127.0.0.1:1' }));
  const lease = m.pick('gone.test', client);
  assert.ok(lease);
  lease.failed('ECONNREFUSED'); // kill -9: the connect is refused, the node and its pool go
  assert.equal(t.table.pools.size, 0);
  assert.equal(m.pick('gone.test', client), null);
  assert.equal(m.knows('gone.test'), true, 'known: 503, not 404');
  t.clock.t += 17;
  assert.equal(m.knows('gone.test'), true);
  t.clock.t += 1;
  assert.equal(m.knows('gone.test'), false, 'forgotten after the tolerance');
  // every way a pool goes counts: unsubscribe, tolerance expiry
  t.receiver.handle(packet('subscribe', { key: 'a.test', address: '127.0.0.1:1' }));
  t.receiver.handle(packet('unsubscribe', { key: 'a.test', address: '127.0.0.1:1' }));
  t.receiver.handle(packet('subscribe', { key: 'b.test', address: '127.0.0.1:1' }));
  t.clock.t += 18;
  t.table.sweep();
  assert.equal(t.table.pools.size, 0);
  assert.equal(m.knows('b.test'), true, 'expired by the sweep: known for another tolerance');
  assert.equal(m.knows('a.test'), false, 'unsubscribed 18 s ago');
  // a pool that comes back is a pool again
  t.receiver.handle(packet('subscribe', { key: 'b.test', address: '127.0.0.1:2' }));
  assert.ok(m.pick('b.test', client));
});

test('known-after-removal follows dotsplit and the fallback key like pick()', () => {
  const dot = makeTable({ tolerance: 10 });
  const dm = new SubscriptionMapper(dot.table, { dotsplit: true });
  dot.receiver.handle(packet('subscribe', { key: '.example.com', address: '127.0.0.1:1' }));
  dot.receiver.handle(packet('unsubscribe', { key: '.example.com', address: '127.0.0.1:1' }));
  assert.equal(dm.knows('www.example.com'), true);
  assert.equal(dm.knows('example.com'), false, 'the bare name never matches .example.com (§9)');
  dot.clock.t += 11;
  assert.equal(dm.knows('www.example.com'), false);

  const fb = makeTable({ tolerance: 10 });
  const fm = new SubscriptionMapper(fb.table, { fallbackKey: 'default.test' });
  fb.receiver.handle(packet('subscribe', { key: 'default.test', address: '127.0.0.1:1' }));
  fb.receiver.handle(packet('unsubscribe', { key: 'default.test', address: '127.0.0.1:1' }));
  assert.equal(fm.knows('anything.test'), true);
  fb.clock.t += 11;
  assert.equal(fm.knows('anything.test'), false);
});

test('the memory of removed keys is bounded by --subscription-max-keys', () => {
  const t = makeTable({ tolerance: 1000, maxKeys: 100 });
  const m = new SubscriptionMapper(t.table);
  for (let i = 0; i < 5000; i++) {
    t.receiver.handle(packet('subscribe', { key: `k${i}`, address: '127.0.0.1:1' }));
    t.receiver.handle(packet('unsubscribe', { key: `k${i}`, address: '127.0.0.1:1' }));
  }
  assert.equal(m.knows('k4999'), true);
  assert.equal(m.knows('k4900'), true);
  assert.equal(m.knows('k4899'), false, 'the oldest are forgotten first');
  assert.equal(m.knows('k0'), false);
});
