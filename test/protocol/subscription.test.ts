import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeSubscription,
  encodeSubscription,
  signedBytes,
  subscriptionKeyHash,
} from '../../src/protocol/subscription.ts';
import { decodeVars } from '../../src/protocol/uwsgi.ts';
import { FIXTURES, KEYS, privateKey } from '../subscription/harness.ts';
import { parseHexDump } from './hex-dump.ts';

interface FixtureVar {
  key: string;
  val: string | { hex: string; len: number };
}
interface FixtureJson {
  modifier1: number;
  datasize: number;
  modifier2: number;
  total_len: number;
  vars: FixtureVar[];
}

const files = readdirSync(FIXTURES);
const stems = (ext: string): string[] =>
  files
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length))
    .sort();
const names = stems('.bin');

const load = (n: string) => ({
  bin: readFileSync(join(FIXTURES, `${n}.bin`)),
  hex: readFileSync(join(FIXTURES, `${n}.hex`), 'utf8'),
  json: JSON.parse(readFileSync(join(FIXTURES, `${n}.json`), 'utf8')) as FixtureJson,
});

test('every captured datagram has its .hex dump and .json decode, and there are captures', () => {
  // the real uWSGI captures (../shared/fixtures/subscription): 5 subscribe + 4 unsubscribe
  assert.ok(names.length >= 9, `${names.length} .bin fixtures`);
  assert.deepEqual(stems('.hex'), names);
  assert.deepEqual(stems('.json'), names);
});

for (const n of stems('.hex')) {
  test(`fixture ${n}.hex dumps exactly the bytes of ${n}.bin`, () => {
    const { bin, hex } = load(n);
    const dump = parseHexDump(hex);
    assert.ok(dump.ok, dump.ok ? '' : dump.error);
    assert.ok(dump.bytes.length > 0, 'no bytes parsed from the dump');
    assert.equal(dump.bytes.toString('hex'), bin.toString('hex'));
  });
}

test('the dump reader refuses dumps that do not say what the bytes are', () => {
  const good =
    '00000000  e0 66 00 00 03 00 6b 65 79 0b 00 65 78 61 6d 70  |.f....key..examp|\n00000010  6c 65  |le|\n';
  const ok = parseHexDump(good);
  assert.ok(ok.ok);
  assert.equal(ok.bytes.toString('hex'), 'e066000003006b65790b006578616d706c65');
  // hexdump -C: a space after the 8th byte and the closing offset line
  const c = parseHexDump('00000000  6b 65 79 0b 00 65 78 61  6d 70 6c 65  |key..example|\n0000000c\n');
  assert.ok(c.ok);
  assert.equal(c.bytes.toString('latin1'), 'key\x0b\x00example');
  for (const [why, text] of [
    ['ASCII column disagrees', good.replace('|le|', '|lx|')],
    ['offset skips bytes', good.replace('00000010', '00000011')],
    ['not a hex byte', good.replace(' 6c 65', ' 6c zz')],
    ['no ASCII column', '00000000  e0 66\n'],
    ['no offset', 'e0 66 00 00  |.f..|\n'],
    ['closing offset not the total', '00000000  e0 66  |.f|\n00000003\n'],
  ]) {
    assert.equal(parseHexDump(text).ok, false, why);
  }
  // an empty dump parses to zero bytes, which the fixture test above refuses
  const empty = parseHexDump('\n');
  assert.ok(empty.ok);
  assert.equal(empty.bytes.length, 0);
});

for (const n of names) {
  test(`fixture ${n} decodes to its documented vars`, () => {
    const { bin, json } = load(n);
    assert.equal(bin.length, json.total_len);
    const p = decodeSubscription(bin);
    assert.ok(p);
    assert.equal(p.error, undefined);
    assert.equal(p.cmd, json.modifier2 === 0 ? 'subscribe' : 'unsubscribe');
    assert.equal(p.cmdByte, json.modifier2);
    const expect = new Map(json.vars.map((v) => [v.key, v.val]));
    assert.equal(p.key, expect.get('key'));
    assert.equal(p.address, expect.get('address'));
    assert.equal(String(p.modifier1), expect.get('modifier1'));
    assert.equal(String(p.modifier2), expect.get('modifier2'));
    assert.equal(String(p.cores), expect.get('cores'));
    assert.equal(String(p.load), expect.get('load'));
    assert.equal(String(p.weight), expect.get('weight'));
    assert.equal(p.sniKey, expect.get('sni_key'));
    assert.equal(p.sniCrt, expect.get('sni_crt'));
    assert.equal(p.sniCa, expect.get('sni_ca'));
    assert.equal(p.notify, expect.get('notify'));
    const unix = expect.get('unix');
    assert.equal(p.unix, unix === undefined ? undefined : Number(unix));
    const sign = expect.get('sign');
    if (sign && typeof sign !== 'string') {
      assert.equal(p.sign?.toString('hex'), sign.hex);
      assert.equal(p.signedStart, 4);
      assert.equal(p.signedEnd, bin.length - (8 + sign.len));
    } else {
      assert.equal(p.sign, undefined);
      assert.equal(signedBytes(bin, p), null);
    }
    // every var, in wire order, as the generic codec sees it
    const generic = decodeVars(bin, 4).vars.map(([k]) => k);
    assert.deepEqual(
      generic,
      json.vars.map((v) => v.key),
    );
  });
}

for (const n of names.filter((x) => !x.includes('signed'))) {
  test(`re-encoding ${n} gives identical bytes`, () => {
    const { bin } = load(n);
    const p = decodeSubscription(bin)!;
    const r = encodeSubscription(p.cmd, {
      key: p.key!,
      address: p.address!,
      modifier1: p.modifier1,
      modifier2: p.modifier2,
      cores: p.cores,
      load: p.load,
      weight: p.weight,
      sniKey: p.sniKey,
      sniCrt: p.sniCrt,
      sniCa: p.sniCa,
      notify: p.notify,
    });
    assert.ok(r.ok);
    assert.deepEqual(r.packet, bin);
  });
}

for (const [n, digest] of [
  ['subscribe-signed-sha1', 'SHA1'],
  ['unsubscribe-signed-sha1', 'SHA1'],
  ['subscribe2-signed-sha256', 'sha256'],
  ['unsubscribe2-signed-sha256', 'sha256'],
] as const) {
  test(`re-signing ${n} with the fixture key reproduces it byte for byte`, () => {
    const { bin } = load(n);
    const p = decodeSubscription(bin)!;
    const r = encodeSubscription(
      p.cmd,
      { key: p.key!, address: p.address!, cores: p.cores },
      // the encoder adds cmd to now, as uWSGI does (unsubscribe carries now+1)
      { digest, privateKey, now: p.unix! - p.cmdByte },
    );
    assert.ok(r.ok);
    assert.deepEqual(r.packet, bin);
    const pub = createPublicKey(readFileSync(join(KEYS, 'public.pem')));
    assert.ok(verify(digest, signedBytes(bin, p)!, pub, p.sign!));
  });
}

test('stats hash: djb33x with sign-extended bytes mod 65535', () => {
  assert.equal(subscriptionKeyHash('example.com'), 30778);
  assert.equal(subscriptionKeyHash('fr.example.com'), 27567);
  assert.equal(subscriptionKeyHash('example.com:8080'), 34227);
  // bytes ≥ 0x80 sign-extend (C char): differs from the unsigned computation
  const k = 'caf\xe9.example';
  let u = 5381;
  for (let i = 0; i < k.length; i++) u = (Math.imul(u, 33) ^ k.charCodeAt(i)) >>> 0;
  assert.notEqual(subscriptionKeyHash(k), u % 65535);
});

test('datagrams shorter than the header decode to null; byte 0 and datasize are ignored', () => {
  assert.equal(decodeSubscription(Buffer.alloc(3)), null);
  const bin = readFileSync(join(FIXTURES, 'subscribe-plain.bin'));
  const odd = Buffer.from(bin);
  odd[0] = 0;
  odd[1] = 0xff;
  odd[2] = 0xff;
  odd[3] = 7;
  const p = decodeSubscription(odd)!;
  assert.equal(p.cmd, 'unsubscribe');
  assert.equal(p.key, 'example.com');
});

test('a parse error keeps the vars already read', () => {
  const bin = readFileSync(join(FIXTURES, 'subscribe-plain.bin'));
  const cut = bin.subarray(0, 30);
  const p = decodeSubscription(cut)!;
  assert.equal(p.key, 'example.com');
  assert.equal(p.address, undefined);
  assert.ok(p.error);
});

test('a var after sign breaks the signed range (sign must be last)', () => {
  const bin = readFileSync(join(FIXTURES, 'subscribe-signed-sha1.bin'));
  const extra = Buffer.concat([bin, Buffer.from([1, 0, 0x78, 1, 0, 0x79])]);
  const p = decodeSubscription(extra)!;
  const pub = createPublicKey(readFileSync(join(KEYS, 'public.pem')));
  assert.equal(verify('SHA1', signedBytes(extra, p)!, pub, p.sign!), false);
});

test('2.1 vars backup and proto round-trip; unknown vars are ignored', () => {
  const r = encodeSubscription('subscribe', { key: 'k', address: '127.0.0.1:1', backup: 2, proto: 'http' });
  assert.ok(r.ok);
  const p = decodeSubscription(Buffer.concat([r.packet, Buffer.from([3, 0, 0x61, 0x62, 0x63, 1, 0, 0x31])]))!;
  assert.equal(p.backup, 2);
  assert.equal(p.proto, 'http');
  assert.equal(p.error, undefined);
});

test('oversize fields are refused, not truncated', () => {
  const r = encodeSubscription('subscribe', { key: 'k', address: 'x'.repeat(70000) });
  assert.equal(r.ok, false);
});

const latin1 = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});

test('property: encode → decode round trip', () => {
  fc.assert(
    fc.property(
      fc.record({
        key: latin1.filter((s) => s.length > 0),
        address: latin1.filter((s) => s.length > 0),
        modifier1: fc.integer({ min: 0, max: 255 }),
        modifier2: fc.integer({ min: 0, max: 255 }),
        cores: fc.nat(),
        load: fc.nat(),
        weight: fc.nat(),
        notify: fc.option(latin1, { nil: undefined }),
        sniKey: fc.option(latin1, { nil: undefined }),
        backup: fc.integer({ min: 0, max: 9 }),
      }),
      fc.constantFrom('subscribe' as const, 'unsubscribe' as const),
      (f, cmd) => {
        const r = encodeSubscription(cmd, f);
        assert.ok(r.ok);
        const p = decodeSubscription(r.packet)!;
        assert.equal(p.cmd, cmd);
        assert.equal(p.key, f.key);
        assert.equal(p.address, f.address);
        assert.equal(p.modifier1, f.modifier1);
        assert.equal(p.modifier2, f.modifier2);
        assert.equal(p.cores, f.cores);
        assert.equal(p.load, f.load);
        assert.equal(p.weight, f.weight);
        assert.equal(p.notify, f.notify);
        assert.equal(p.sniKey, f.sniKey);
        assert.equal(p.backup, f.backup);
        assert.equal(p.error, undefined);
        assert.equal(r.packet[1] | (r.packet[2] << 8), r.packet.length - 4);
      },
    ),
    { numRuns: 300 },
  );
});
