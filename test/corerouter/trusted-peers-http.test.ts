/** The trusted-peer list the HTTP router's --http-trusted-proxy uses (X-Forwarded-* kept, PROXY headers read): cases it relied on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrustedPeers } from '../../src/corerouter/trusted-peers.ts';

function of(list: string[]): TrustedPeers {
  const r = TrustedPeers.parse(list);
  assert.ok(r.ok, JSON.stringify(list));
  return r.value;
}

test('IPv4 CIDRs and single addresses', () => {
  const t = of(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12', '0.0.0.0/0']);
  assert.ok(t.has('10.255.1.2'));
  const t2 = of(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12']);
  assert.ok(t2.has('192.168.1.7'));
  assert.ok(!t2.has('192.168.1.8'));
  assert.ok(t2.has('172.31.255.255'));
  assert.ok(!t2.has('172.32.0.0'));
  assert.ok(t2.has('::ffff:10.1.2.3')); // dual-stack listeners report IPv4 like this
  assert.ok(!t2.has('garbage'));
  assert.ok(!t2.has('11.0.0.1'));
});

test('IPv6 CIDRs', () => {
  const t = of(['::1', 'fd00::/8', '2001:db8:abcd::/48', '::ffff:192.0.2.0/120']);
  assert.ok(t.has('::1'));
  assert.ok(t.has('fdab:1::5'));
  assert.ok(t.has('2001:db8:abcd:12::1'));
  assert.ok(!t.has('2001:db8:abce::1'));
  assert.ok(t.has('192.0.2.55'));
  assert.ok(t.has('fe80::1%eth0') === false);
  assert.ok(of(['fe80::/10']).has('fe80::1%eth0'));
  assert.ok(!t.has('::2'));
  assert.ok(of(['::/0']).has('2001::1'));
  assert.ok(!of(['::/0']).has('1.2.3.4')); // families do not mix
});

test('bad entries are reported', () => {
  for (const bad of [
    '10.0.0.0/33',
    '1.2.3',
    '1.2.3.4/x',
    '::1::2',
    'fd00::/129',
    'host.example',
    '1.2.3.256',
  ]) {
    const r = TrustedPeers.parse(['127.0.0.1', bad]);
    assert.ok(!r.ok && r.entry === bad, bad);
  }
  assert.equal(of([]).has('127.0.0.1'), false);
});
