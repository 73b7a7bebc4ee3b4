import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { formatIPv4, formatIPv6, parseIP } from '../../src/protocol/ip-address.ts';

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

test('IPv4: dotted quads only, no leading zeros, each part ≤ 255', () => {
  assert.equal(hex(parseIP('192.168.0.11')), 'c0a8000b');
  assert.equal(hex(parseIP('0.0.0.0')), '00000000');
  assert.equal(hex(parseIP('255.255.255.255')), 'ffffffff');
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '01.2.3.4',
    '1..3.4',
    '1.2.3.4 ',
    '',
    'a.b.c.d',
    '1.2.3.1234',
  ]) {
    assert.equal(parseIP(bad), null, bad);
  }
  assert.equal(formatIPv4(Uint8Array.of(10, 0, 0, 255)), '10.0.0.255');
});

test('IPv6: compression, IPv4 tails, zones; exactly 128 bits', () => {
  assert.equal(hex(parseIP('::')), '0'.repeat(32));
  assert.equal(hex(parseIP('::1')), `${'0'.repeat(30)}01`);
  assert.equal(hex(parseIP('1::')), `0001${'0'.repeat(28)}`);
  assert.equal(hex(parseIP('2001:DB8::8:800:200C:417A')), '20010db80000000000080800200c417a');
  assert.equal(hex(parseIP('::ffff:1.2.3.4')), '00000000000000000000ffff01020304');
  assert.equal(hex(parseIP('fe80::1%eth0')), `fe80${'0'.repeat(26)}01`);
  assert.equal(hex(parseIP('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
  for (const bad of [
    ':1',
    '1:',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '12345::',
    'g::',
    '::1.2.3',
    '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:01.2.3.4',
  ]) {
    assert.equal(parseIP(bad), null, bad);
  }
});

test('every address Node accepts, parseIP accepts with the same family (and vice versa on samples)', () => {
  const samples = [
    '::',
    '::1',
    '1::',
    '2001:db8::1',
    '::ffff:127.0.0.1',
    '64:ff9b::192.0.2.33',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6::8',
    '1::4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '1.2.3.4',
    '1:2',
    '1::2:3:4:5:6:7:8',
    '::1.2.3.4',
    '0:0:0:0:0:0:1.2.3.4',
  ];
  for (const s of samples) {
    const mine = parseIP(s);
    const family = mine === null ? 0 : mine.length === 4 ? 4 : 6;
    assert.equal(family, isIP(s), s);
  }
});

test('RFC 5952 text: lower case, no leading zeros, longest zero run compressed, first on a tie', () => {
  const canon = (s: string): string => formatIPv6(parseIP(s)!);
  assert.equal(canon('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  assert.equal(canon('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
  // a single zero group is not compressed (RFC 5952 §4.2.2)
  assert.equal(canon('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(canon('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
  assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canon('0:0:0:0:0:0:0:0'), '::');
  assert.equal(canon('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canon('1:0:0:0:0:0:0:0'), '1::');
  assert.equal(canon('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  assert.equal(formatIPv6(parseIP('::ffff:1.2.3.4')!, 0, false), '::ffff:102:304');
  assert.equal(canon('ABCD:EF01:2345:6789:ABCD:EF01:2345:6789'), 'abcd:ef01:2345:6789:abcd:ef01:2345:6789');
});
