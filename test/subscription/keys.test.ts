/**
 * Issue item 14 — subscription keys are normalised on receipt (`normalizeHostKey`: ASCII case
 * folded, one trailing dot dropped), subscribe and unsubscribe, signed or not.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KEYS, keyDir, makeSignedTable, makeTable, packet, signedPacket } from './harness.ts';

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
