import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrustedPeers } from '../../src/corerouter/trusted-peers.ts';

function peers(list: string[]): TrustedPeers {
  const r = TrustedPeers.parse(list);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

test('addresses and CIDR ranges, IPv4 and IPv6; IPv4-mapped peers match IPv4 entries', () => {
  const t = peers(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', '172.16.0.0/12']);
  for (const yes of [
    '10.1.2.3',
    '::ffff:10.255.0.1',
    '192.168.1.7',
    '::1',
    'fd12:3456::1',
    '172.31.255.255',
  ]) {
    assert.ok(t.has(yes), yes);
  }
  for (const no of ['11.0.0.1', '192.168.1.8', '::2', 'fe80::1', '172.32.0.0', '', 'junk', undefined]) {
    assert.ok(!t.has(no), String(no));
  }
  // a /N on an IPv4-mapped entry counts the IPv6 prefix bits
  const mapped = peers(['::ffff:10.0.0.0/104']);
  assert.ok(mapped.has('10.9.9.9'));
  assert.ok(!mapped.has('11.0.0.1'));
  assert.ok(peers(['0.0.0.0/0']).has('8.8.8.8'));
  assert.ok(!peers([]).has('127.0.0.1'));
});

test('the first bad entry is reported', () => {
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/x', 'example.com', '10.0.0.0/', '1.2.3.4/-1']) {
    const r = TrustedPeers.parse(['127.0.0.1', bad]);
    assert.deepEqual(r, { ok: false, entry: bad });
  }
});
