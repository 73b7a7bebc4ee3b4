import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PublicKeyStore, parseSignCheck, sanitizeKeyFileName } from '../../src/subscription/signatures.ts';
import { fixture, keyDir, makeSignedTable, packet, signedPacket } from './harness.ts';

const FIX_UNIX = 1795240229;
const node = { key: 'k.example.com', address: '127.0.0.1:3031', cores: 1 };

test('parseSignCheck: OpenSSL-style digest names, validated', () => {
  assert.equal(parseSignCheck('SHA1:/keys').digest.toLowerCase(), 'sha1');
  assert.equal(parseSignCheck('sha256:/k:x').dir, '/k:x');
  assert.throws(() => parseSignCheck('nope:/keys'), { code: 'UWR_ERR_CONFIG' });
  assert.throws(() => parseSignCheck('/keys'), { code: 'UWR_ERR_CONFIG' });
  assert.equal(sanitizeKeyFileName('example.com:8080'), 'example.com_8080');
});

test('real signed fixtures verify with the public key (SHA1 and SHA256)', () => {
  const dir = keyDir('test.example.com', 'test2.example.com');
  const s1 = makeSignedTable(dir, 'sha1');
  s1.clock.t = FIX_UNIX;
  const r = s1.receiver.handle(fixture('subscribe-signed-sha1.bin'));
  assert.equal(r.ok && r.result, 'new-pool');
  const u = s1.receiver.handle(fixture('unsubscribe-signed-sha1.bin'));
  assert.equal(u.ok && u.result, 'unsubscribe');
  const s2 = makeSignedTable(dir, 'SHA256');
  s2.clock.t = FIX_UNIX;
  assert.equal(s2.receiver.handle(fixture('subscribe2-signed-sha256.bin')).ok, true);
  assert.equal(s2.receiver.handle(fixture('unsubscribe2-signed-sha256.bin')).ok, true);
});

test('changing any signed byte fails the signature; the header is not signed', () => {
  const dir = keyDir('test.example.com');
  const bin = fixture('subscribe-signed-sha1.bin');
  const end = bin.length - (8 + 256);
  for (let i = 4; i < end; i += 3) {
    const s = makeSignedTable(dir, 'sha1');
    s.clock.t = FIX_UNIX;
    const bad = Buffer.from(bin);
    bad[i] ^= 0x01;
    const r = s.receiver.handle(bad);
    assert.equal(r.ok, false, `byte ${i}`);
    assert.equal(s.table.pools.size, 0);
  }
  const s = makeSignedTable(dir, 'sha1');
  s.clock.t = FIX_UNIX;
  const sig = Buffer.from(bin);
  sig[sig.length - 1] ^= 1;
  assert.equal(!s.receiver.handle(sig).ok && s.receiver.counters.rejected['bad-signature'], 1);
  // uWSGI's weakness (spec README item 4): byte 3 flipped was an accepted unsubscribe; its
  // unix is the accepted announce's, not newer, so it is refused as a replay (replay.ts)
  assert.equal(s.receiver.handle(bin).ok, true);
  const flipped = Buffer.from(bin);
  flipped[3] = 1;
  const r = s.receiver.handle(flipped);
  assert.equal(!r.ok && r.reason, 'replay');
  assert.equal(s.table.pools.get('test.example.com')?.nodes.length, 1);
});

test('unsigned packets and missing keys are rejected silently with counters', () => {
  const dir = keyDir('k.example.com');
  const s = makeSignedTable(dir);
  const r1 = s.receiver.handle(packet('subscribe', node));
  const r2 = s.receiver.handle(signedPacket('subscribe', { ...node, key: 'nokey.example.com' }, s.clock.t));
  assert.deepEqual([!r1.ok && r1.reason, !r2.ok && r2.reason], ['unsigned', 'no-public-key']);
  assert.equal(s.lines.length, 0);
  assert.equal(s.receiver.handle(signedPacket('subscribe', node, s.clock.t)).ok, true);
  // unsigned refresh/unsubscribe of an existing signed pool
  const r3 = s.receiver.handle(packet('unsubscribe', node));
  assert.equal(!r3.ok && r3.reason, 'unsigned');
});

test('replay rules, one by one', () => {
  const dir = keyDir('k.example.com');
  const s = makeSignedTable(dir, 'sha256', 100);
  const now = s.clock.t;
  const reason = (b: Buffer) => {
    const r = s.receiver.handle(b);
    return r.ok ? r.result : r.reason;
  };
  // new pool: unix ≥ now − tolerance
  assert.equal(reason(signedPacket('subscribe', node, now - 101)), 'too-old');
  // beyond uWSGI: not more than tolerance in the future
  assert.equal(reason(signedPacket('subscribe', node, now + 101)), 'too-new');
  const created = signedPacket('subscribe', node, now - 100);
  assert.equal(reason(created), 'new-pool');
  // refresh: unix must exceed the last accepted one
  assert.equal(reason(created), 'replay');
  assert.ok(
    s.lines
      .at(-1)
      ?.includes(
        'invalid (sniffed ?) packet sent for slot: k.example.com node: 127.0.0.1:3031 unix_check: 1795240130',
      ),
  );
  assert.equal(reason(signedPacket('subscribe', node, now - 99)), 'refresh');
  // uWSGI compared with the creation unix only, so this older-than-last refresh passed there
  assert.equal(reason(signedPacket('subscribe', node, now - 99)), 'replay');
  assert.equal(reason(signedPacket('subscribe', node, now - 98)), 'refresh');
  // new node in an existing pool: tolerance again
  assert.equal(reason(signedPacket('subscribe', { ...node, address: '127.0.0.1:2' }, now - 200)), 'too-old');
  assert.equal(reason(signedPacket('subscribe', { ...node, address: '127.0.0.1:2' }, now)), 'new-node');
  // unsubscribe: uWSGI had no time check; here it must be newer than the node's last
  // accepted packets and within the tolerance
  assert.equal(reason(signedPacket('unsubscribe', node, now - 5000)), 'too-old');
  assert.equal(reason(signedPacket('unsubscribe', node, now - 99)), 'replay'); // unix now−98 (+1)
  assert.equal(
    reason(signedPacket('unsubscribe', { ...node, address: '127.0.0.1:2' }, now + 1000)),
    'too-new',
  );
  assert.equal(reason(signedPacket('unsubscribe', node, now)), 'unsubscribe');
  assert.equal(s.receiver.counters.rejected.replay, 3);
  assert.equal(s.receiver.counters.rejected['too-old'], 3);
  assert.equal(s.receiver.counters.rejected['too-new'], 2);
});

test('rejection logs are rate limited per key+reason per minute', () => {
  const dir = keyDir('k.example.com');
  const s = makeSignedTable(dir);
  const p = signedPacket('subscribe', node, s.clock.t - 90000);
  for (let i = 0; i < 50; i++) s.receiver.handle(p);
  assert.equal(s.lines.length, 1);
  s.clock.t += 61;
  s.receiver.handle(p);
  assert.equal(s.lines.length, 2);
  assert.equal(s.receiver.counters.rejected['too-old'], 51);
});

test('public keys: read once, missing keys cached negatively, first dir with the file wins', () => {
  const empty = keyDir();
  const full = keyDir('k.example.com');
  const store = new PublicKeyStore({
    checks: [
      { digest: 'sha1', dir: empty },
      { digest: 'sha256', dir: full },
    ],
    ttl: 5,
  });
  for (let i = 0; i < 1000; i++) assert.equal(store.lookup('unknown', 100).ok, false);
  assert.equal(store.reads, 2, 'one miss per dir, then cached');
  const k = store.lookup('k.example.com', 100);
  assert.ok(k.ok && k.digest === 'sha256');
  store.lookup('k.example.com', 101);
  assert.equal(store.reads, 4);
  store.lookup('unknown', 106);
  assert.equal(store.reads, 6, 'negative entry expired');
  writeFileSync(join(empty, 'broken.pem'), 'not a key');
  const b = store.lookup('broken', 200);
  assert.ok(!b.ok && b.reason === 'unreadable');
  rmSync(empty, { recursive: true });
  rmSync(full, { recursive: true });
});

test('an unreadable key file logs "unable to load public key"', () => {
  const dir = keyDir();
  writeFileSync(join(dir, 'k.example.com.pem'), 'garbage');
  const s = makeSignedTable(dir);
  const r = s.receiver.handle(signedPacket('subscribe', node, s.clock.t));
  assert.equal(!r.ok && r.reason, 'no-public-key');
  assert.deepEqual(s.lines, ['unable to load public key for k.example.com']);
});

test('a pool keeps the key it was created with (file changes apply only to new pools)', () => {
  const dir = keyDir('k.example.com');
  const s = makeSignedTable(dir);
  assert.equal(s.receiver.handle(signedPacket('subscribe', node, s.clock.t)).ok, true);
  rmSync(join(dir, 'k.example.com.pem'));
  s.clock.t += 1;
  assert.equal(s.receiver.handle(signedPacket('subscribe', node, s.clock.t)).ok, true);
  assert.equal(s.store.reads, 1);
});
