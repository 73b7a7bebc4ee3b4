import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  decodeHeader,
  decodePacket,
  decodeVars,
  encodeHeader,
  encodePacket,
  parseDecimal,
  walkVars,
} from '../../src/protocol/uwsgi.ts';
import { UwsgiHeadReader } from '../../src/protocol/uwsgi-reader.ts';

const fx = (name: string): Buffer => readFileSync(new URL(`../fixtures/request/${name}`, import.meta.url));
const fxJson = (
  name: string,
): { modifier1: number; datasize: number; modifier2: number; vars: { key: string; val: string }[] } =>
  JSON.parse(fx(name).toString('utf8'));

const CAPTURES = [
  'nginx-uwsgi_pass-get',
  'nginx-uwsgi_pass-post',
  'http-router-get',
  'http-router-post',
  'https-router-get',
  'fastrouter-in',
  'fastrouter-out',
];

for (const name of CAPTURES) {
  test(`decodes the real capture ${name} to the documented vars, in order`, () => {
    const bin = fx(`${name}.bin`);
    const want = fxJson(`${name}.json`);
    const p = decodePacket(bin);
    assert.equal(p.error, undefined);
    assert.deepEqual(p.header, {
      modifier1: want.modifier1,
      datasize: want.datasize,
      modifier2: want.modifier2,
    });
    assert.deepEqual(
      p.vars.map(([k, v]) => [k, Buffer.from(v, 'latin1').toString('utf8')]),
      want.vars.map((v) => [v.key, v.val]),
    );
  });

  test(`re-encodes ${name} byte for byte`, () => {
    const bin = fx(`${name}.bin`);
    const p = decodePacket(bin);
    const r = encodePacket(p.header.modifier1, p.vars, p.header.modifier2);
    assert.ok(r.ok);
    assert.deepEqual(Buffer.concat([r.packet, p.body]), bin);
  });
}

test('the worked example of uwsgi-protocol.md §9', () => {
  const r = encodePacket(0, [
    ['HTTP_HOST', 'app.local'],
    ['REQUEST_METHOD', 'GET'],
  ]);
  assert.ok(r.ok);
  assert.equal(
    r.packet.toString('hex'),
    '002b00000900485454505f484f535409006170702e6c6f63616c0e0052455155455354' +
      '5f4d4554484f4403004745' +
      '54',
  );
});

test('header is little-endian and round-trips', () => {
  const h = encodeHeader(5, 0x1234, 7);
  assert.deepEqual([...h], [5, 0x34, 0x12, 7]);
  assert.deepEqual(decodeHeader(h), { modifier1: 5, datasize: 0x1234, modifier2: 7 });
  assert.equal(decodeHeader(Buffer.from([1, 2, 3])), null);
});

test('vars errors follow uWSGI: empty key, truncated entry, stray bytes; earlier vars kept', () => {
  const good = encodePacket(0, [['A', '1']]);
  assert.ok(good.ok);
  const block = good.packet.subarray(4);
  const emptyKey = Buffer.concat([block, Buffer.from([0, 0, 1, 0, 0x41])]);
  let d = decodeVars(emptyKey);
  assert.deepEqual(d.vars, [['A', '1']]);
  assert.equal(d.error?.reason, 'empty-key');
  const truncated = Buffer.concat([block, Buffer.from([5, 0, 0x41])]);
  d = decodeVars(truncated);
  assert.deepEqual(d.vars, [['A', '1']]);
  assert.equal(d.error?.reason, 'truncated-entry');
  const stray = Buffer.concat([block, Buffer.from([1, 0])]);
  d = decodeVars(stray);
  assert.equal(d.error?.reason, 'trailing-bytes');
  assert.equal(d.error?.offset, block.length);
});

test('duplicate keys are all delivered in order', () => {
  const r = encodePacket(0, [
    ['X', '1'],
    ['X', '2'],
  ]);
  assert.ok(r.ok);
  assert.deepEqual(decodePacket(r.packet).vars, [
    ['X', '1'],
    ['X', '2'],
  ]);
});

test('encodePacket refuses oversized blocks and empty keys instead of truncating', () => {
  const big = encodePacket(0, [['K', 'x'.repeat(70000)]]);
  assert.equal(big.ok, false);
  const empty = encodePacket(0, [['', 'x']]);
  assert.equal(empty.ok, false);
  const max = encodePacket(0, [['K', 'x'.repeat(65535 - 5)]]);
  assert.ok(max.ok);
  assert.equal(decodeHeader(max.packet)?.datasize, 65535);
});

test('walkVars can stop early', () => {
  const r = encodePacket(0, [
    ['A', '1'],
    ['B', '2'],
  ]);
  assert.ok(r.ok);
  const seen: string[] = [];
  walkVars(r.packet, 4, r.packet.length, (b, ks, ke) => {
    seen.push(b.toString('latin1', ks, ke));
    return false;
  });
  assert.deepEqual(seen, ['A']);
});

test('parseDecimal takes leading digits and never throws', () => {
  assert.equal(parseDecimal('42'), 42);
  assert.equal(parseDecimal('7abc'), 7);
  assert.equal(parseDecimal('abc'), 0);
  assert.equal(parseDecimal(''), 0);
  assert.equal(parseDecimal(Buffer.from('123')), 123);
  assert.equal(parseDecimal('9'.repeat(40)), Number.MAX_SAFE_INTEGER);
});

test('the streaming reader copes with the real nginx packet split at every byte', () => {
  const bin = fx('nginx-uwsgi_pass-post.bin');
  const want = decodePacket(bin);
  const headLen = 4 + want.header.datasize;
  for (let cut = 0; cut <= bin.length; cut++) {
    const r = new UwsgiHeadReader();
    const a = r.push(bin.subarray(0, cut));
    const res = a.state === 'done' ? a : r.push(bin.subarray(cut));
    assert.equal(res.state, 'done', `split at ${cut}`);
    if (res.state !== 'done') return;
    assert.deepEqual(res.head, bin.subarray(0, headLen));
    // the body bytes may arrive with either push
    const restAll = a.state === 'done' ? Buffer.concat([a.rest, bin.subarray(cut)]) : res.rest;
    assert.deepEqual(restAll, bin.subarray(headLen));
  }
});

test('the streaming reader copes with one byte at a time', () => {
  const bin = fx('fastrouter-in.bin');
  const r = new UwsgiHeadReader();
  let done = false;
  for (let i = 0; i < bin.length && !done; i++) {
    const res = r.push(bin.subarray(i, i + 1));
    if (res.state === 'done') {
      done = true;
      assert.equal(res.head.length, 4 + (decodeHeader(bin)?.datasize ?? 0));
      assert.equal(i, res.head.length - 1);
    }
  }
  assert.ok(done);
});

test('the streaming reader refuses a vars block over its bound without buffering it', () => {
  const r = new UwsgiHeadReader(4096);
  const res = r.push(Buffer.from([0, 0x60, 0xea, 0])); // datasize 60000
  assert.equal(res.state, 'error');
  if (res.state === 'error') {
    assert.equal(res.datasize, 60000);
    assert.equal(res.limit, 4096);
  }
  assert.equal(r.buffered, 0);
  // split header too
  const r2 = new UwsgiHeadReader(4096);
  assert.equal(r2.push(Buffer.from([0, 0x60])).state, 'need-more');
  assert.equal(r2.push(Buffer.from([0xea, 0])).state, 'error');
});

test('every request fixture dump (.hex) says exactly what its .bin holds', async () => {
  const { readdirSync } = await import('node:fs');
  const { parseHexDump } = await import('./hex-dump.ts');
  const dir = new URL('../fixtures/request/', import.meta.url);
  const dumps = readdirSync(dir).filter((f) => f.endsWith('.hex'));
  assert.ok(dumps.length >= 7, `only ${dumps.length} dumps found`);
  for (const name of dumps) {
    const parsed = parseHexDump(readFileSync(new URL(name, dir), 'latin1'));
    assert.ok(parsed.ok, `${name}: ${parsed.ok ? '' : parsed.error}`);
    if (!parsed.ok) continue;
    assert.ok(parsed.bytes.length > 0, `${name} is empty`);
    assert.deepEqual(parsed.bytes, fx(name.replace(/\.hex$/, '.bin')), name);
  }
});
