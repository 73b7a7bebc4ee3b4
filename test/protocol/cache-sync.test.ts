/**
 * The cache UDP sync codec (spec: ssl-sni-sessions.md §7) against real uWSGI packets
 * (../shared/fixtures/cache, copied to test/fixtures/cache: a uWSGI 2.0 app's cache_update
 * of foo=bar, of ttlkey=hello for 300 s, and cache_del of foo), then every truncation and
 * a property round trip.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CacheDelta, decodeCacheSync, encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import { parseHexDump } from './hex-dump.ts';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/cache');
const bin = (n: string) => readFileSync(join(FIXTURES, `${n}.bin`));

/** wall-clock seconds of each capture (capture-times.txt), for the TTL fixture's expiry */
const CAPTURE_WALL = readFileSync(join(FIXTURES, 'capture-times.txt'), 'latin1')
  .trim()
  .split('\n')
  .map((l) => Number(/wall=([\d.]+)/.exec(l)?.[1]));

function show(d: CacheDelta): unknown {
  return d.op === 'set'
    ? { op: d.op, key: d.key.toString('latin1'), value: d.value.toString('latin1'), expires: d.expires }
    : { op: d.op, key: d.key.toString('latin1') };
}

describe('real uWSGI cache sync packets', () => {
  for (const n of ['cache-udp-set', 'cache-udp-set-ttl300', 'cache-udp-del']) {
    test(`fixture ${n}.hex dumps exactly the bytes of ${n}.bin`, () => {
      const dump = parseHexDump(readFileSync(join(FIXTURES, `${n}.hex`), 'utf8'));
      assert.ok(dump.ok, dump.ok ? '' : dump.error);
      assert.deepEqual(dump.bytes, bin(n));
    });
  }

  test('cache_update("foo", "bar") without expiry decodes to set foo=bar, never expires', () => {
    const r = decodeCacheSync(bin('cache-udp-set'));
    assert.ok(r.ok);
    assert.deepEqual(show(r.delta), { op: 'set', key: 'foo', value: 'bar', expires: 0 });
  });

  test('cache_update("ttlkey", "hello", 300) carries the absolute expiry: capture time + 300', () => {
    const r = decodeCacheSync(bin('cache-udp-set-ttl300'));
    assert.ok(r.ok && r.delta.op === 'set');
    assert.deepEqual(show(r.delta), { op: 'set', key: 'ttlkey', value: 'hello', expires: 1795240535 });
    assert.equal(r.delta.expires, Math.floor(CAPTURE_WALL[1]) + 300);
  });

  test('cache_del("foo") decodes to delete foo', () => {
    const r = decodeCacheSync(bin('cache-udp-del'));
    assert.ok(r.ok);
    assert.deepEqual(show(r.delta), { op: 'delete', key: 'foo' });
  });

  test('encoding the decoded deltas gives back the captured bytes', () => {
    for (const n of ['cache-udp-set', 'cache-udp-set-ttl300', 'cache-udp-del']) {
      const r = decodeCacheSync(bin(n));
      assert.ok(r.ok);
      const e = encodeCacheSync(r.delta);
      assert.ok(e.ok);
      assert.deepEqual(e.packet, bin(n), n);
    }
  });

  test("the spec's k1=v1 example for 100 s encodes byte for byte", () => {
    const e = encodeCacheSync({
      op: 'set',
      key: Buffer.from('k1'),
      value: Buffer.from('v1'),
      expires: 1795239222,
    });
    assert.ok(e.ok);
    assert.equal(e.packet.toString('hex'), '6f14000a02006b31020076310a0031373935323339323232');
  });
});

describe('bad packets are refused by reason, never thrown', () => {
  test('every truncation of a real packet is refused', () => {
    for (const n of ['cache-udp-set', 'cache-udp-set-ttl300', 'cache-udp-del']) {
      const full = bin(n);
      for (let len = 0; len < full.length; len++) {
        const r = decodeCacheSync(full.subarray(0, len));
        assert.equal(r.ok, false, `${n} cut at ${len}`);
      }
      // and with the header size fixed up, so the field checks are what refuses it
      for (let len = 4; len < full.length; len++) {
        const cut = Buffer.from(full.subarray(0, len));
        cut.writeUInt16LE(len - 4, 1);
        const r = decodeCacheSync(cut);
        // a set cut right after its value is a valid set without expiry (uWSGI allows that)
        const setWithoutExpiry = n !== 'cache-udp-del' && len === expiryStart(full);
        if (!setWithoutExpiry) assert.equal(r.ok, false, `${n} cut at ${len} with a matching size`);
      }
    }
  });

  test('reasons', () => {
    const set = bin('cache-udp-set');
    const withByte = (at: number, b: number) => {
      const c = Buffer.from(set);
      c[at] = b;
      return c;
    };
    const reason = (buf: Buffer) => {
      const r = decodeCacheSync(buf);
      return r.ok ? 'ok' : r.error;
    };
    assert.equal(reason(Buffer.alloc(0)), 'not-cache-packet');
    assert.equal(reason(withByte(0, 224)), 'not-cache-packet');
    assert.equal(reason(withByte(1, 14)), 'bad-size');
    assert.equal(reason(withByte(3, 12)), 'unknown-command');
    assert.equal(reason(Buffer.concat([Buffer.from([0x6f, 3, 0, 10, 0, 0, 0])])), 'empty-key');
    assert.equal(reason(withByte(16, 0x41)), 'bad-expires');
    const long = Buffer.concat([set, Buffer.from('x')]);
    long.writeUInt16LE(long.length - 4, 1);
    assert.equal(reason(long), 'trailing-bytes');
    const noValue = Buffer.from([0x6f, 5, 0, 10, 1, 0, 0x6b, 0, 0]);
    assert.equal(reason(noValue), 'empty-value');
    const keyPastEnd = Buffer.from([0x6f, 3, 0, 11, 9, 0, 0x6b]);
    assert.equal(reason(keyPastEnd), 'truncated');
  });

  test('encoding refuses what the 16-bit fields cannot carry', () => {
    const r = encodeCacheSync({ op: 'set', key: Buffer.from('k'), value: Buffer.alloc(65530), expires: 0 });
    assert.equal(r.ok, false);
    assert.equal(encodeCacheSync({ op: 'delete', key: Buffer.alloc(0) }).ok, false);
  });
});

/** Offset where a set packet's expires length field starts. */
function expiryStart(p: Buffer): number {
  const klen = p.readUInt16LE(4);
  const vlen = p.readUInt16LE(6 + klen);
  return 8 + klen + vlen;
}

describe('properties', () => {
  const bytes = (min: number, max: number) =>
    fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
  const delta: fc.Arbitrary<CacheDelta> = fc.oneof(
    fc.record({
      op: fc.constant('set' as const),
      key: bytes(1, 300),
      value: bytes(1, 3000),
      expires: fc.integer({ min: 0, max: 2 ** 40 }),
    }),
    fc.record({ op: fc.constant('delete' as const), key: bytes(1, 300) }),
  );

  test('encode then decode is the identity', () => {
    fc.assert(
      fc.property(delta, (d) => {
        const e = encodeCacheSync(d);
        assert.ok(e.ok);
        const r = decodeCacheSync(e.packet);
        assert.ok(r.ok);
        assert.deepEqual(show(r.delta), show(d));
      }),
    );
  });

  test('random bytes never throw', () => {
    fc.assert(
      fc.property(bytes(0, 200), fc.boolean(), (b, asCache) => {
        if (asCache && b.length >= 4) {
          b[0] = 0x6f;
          b.writeUInt16LE(b.length - 4, 1);
        }
        decodeCacheSync(b);
      }),
      { numRuns: 2000 },
    );
  });
});
