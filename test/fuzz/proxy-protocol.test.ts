/** Property tests of the PROXY protocol codec: round trips, any chunking, hostile bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, parseIP } from '../../src/protocol/ip-address.ts';
import { encodeProxyV1, encodeProxyV2, type ProxyTlv } from '../../src/protocol/proxy-protocol.ts';
import {
  decodeProxyHeader,
  ProxyHeaderReader,
  type ProxyReadResult,
} from '../../src/protocol/proxy-protocol-reader.ts';

const REASONS = new Set([
  'not-proxy',
  'bad-v1-line',
  'bad-version',
  'bad-command',
  'bad-family',
  'short-addresses',
  'too-large',
  'bad-tlv',
  'too-many-tlvs',
  'bad-checksum',
]);

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
/** how a dual-stack listener reports an IPv4 client */
const mapped = fc.ipV4().map((a) => `::ffff:${a}`);
const address = fc.oneof(ipv4, ipv6, mapped);
const port = fc.integer({ min: 0, max: 65535 });
const endpoints = fc.oneof(
  fc.record({ srcAddress: ipv4, srcPort: port, dstAddress: ipv4, dstPort: port }),
  fc.record({ srcAddress: ipv6, srcPort: port, dstAddress: ipv6, dstPort: port }),
  fc.record({ srcAddress: address, srcPort: port, dstAddress: address, dstPort: port }),
);
const tlv = fc.record({
  // 0x03 (CRC32C) has a fixed layout; the encoder adds it itself
  type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x03),
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});

/** an IPv4 address (plain or mapped) as its 4 bytes, else null */
function asIPv4(b: Uint8Array): Uint8Array | null {
  if (b.length === 4) return b;
  return b.subarray(0, 12).every((x, i) => x === (i < 10 ? 0 : 0xff)) ? b.subarray(12) : null;
}

/**
 * What the decoder should print for the pair the encoder was given: two IPv4 (or mapped)
 * addresses travel as TCP4; otherwise both as IPv6, an IPv4 one mapped (RFC 5952 text).
 */
function canonicalPair(src: string, dst: string): [string, string] {
  const s = parseIP(src)!;
  const d = parseIP(dst)!;
  const s4 = asIPv4(s);
  const d4 = asIPv4(d);
  if (s4 && d4) return [formatIPv4(s4), formatIPv4(d4)];
  const v6 = (b: Uint8Array, b4: Uint8Array | null): string =>
    b4 ? `::ffff:${formatIPv4(b4)}` : formatIPv6(b);
  return [v6(s, s4), v6(d, d4)];
}

/** one-shot result, or fed in the given chunk sizes (rest extended with what was not fed) */
function chunked(bytes: Buffer, sizes: number[]): ProxyReadResult {
  const r = new ProxyHeaderReader();
  let at = 0;
  let i = 0;
  let result: ProxyReadResult = { state: 'need-more' };
  while (at < bytes.length) {
    const n = Math.max(1, sizes[i++ % Math.max(1, sizes.length)] ?? 1);
    result = r.push(bytes.subarray(at, at + n));
    at += n;
    if (result.state !== 'need-more') break;
  }
  if (result.state === 'done') return { ...result, rest: Buffer.concat([result.rest, bytes.subarray(at)]) };
  return result;
}

test('encode v1/v2 → decode gives back the endpoints, TLVs and the data after the header', () => {
  fc.assert(
    fc.property(
      endpoints,
      fc.array(tlv, { maxLength: 6 }),
      fc.boolean(),
      fc.uint8Array({ maxLength: 30 }),
      (e, tlvs: ProxyTlv[], crc, data) => {
        const [src, dst] = canonicalPair(e.srcAddress, e.dstAddress);
        for (const header of [encodeProxyV1(e), encodeProxyV2(e, { tlvs, crc32c: crc })]) {
          const r = decodeProxyHeader(Buffer.concat([header, data]));
          assert.equal(r.state, 'done');
          if (r.state !== 'done') return;
          assert.deepEqual(
            [r.header.srcAddress, r.header.srcPort, r.header.dstAddress, r.header.dstPort],
            [src, e.srcPort, dst, e.dstPort],
          );
          assert.equal(r.header.length, header.length);
          assert.deepEqual(r.rest, Buffer.from(data));
          if (r.header.version === 2) {
            const got = r.header.tlvs.filter((t) => t.type !== 0x03);
            assert.deepEqual(
              got.map((t) => [t.type, Buffer.from(t.value)]),
              tlvs.map((t) => [t.type, t.value]),
            );
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('any chunking gives the one-shot result', () => {
  fc.assert(
    fc.property(
      endpoints,
      fc.array(tlv, { maxLength: 4 }),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 }),
      (e, tlvs: ProxyTlv[], v1, sizes) => {
        const bytes = Buffer.concat([
          v1 ? encodeProxyV1(e) : encodeProxyV2(e, { tlvs, crc32c: true }),
          Buffer.from('data'),
        ]);
        const whole = decodeProxyHeader(bytes);
        const parts = chunked(bytes, sizes);
        assert.deepEqual(JSON.parse(JSON.stringify(parts)), JSON.parse(JSON.stringify(whole)));
      },
    ),
    { numRuns: 300 },
  );
});

test('random bytes, and valid headers with bytes changed, never throw and fail with a known reason', () => {
  const check = (bytes: Buffer, sizes: number[]) => {
    for (const r of [decodeProxyHeader(bytes), chunked(bytes, sizes)]) {
      if (r.state === 'error') assert.ok(REASONS.has(r.reason), r.reason);
      if (r.state === 'done') assert.ok(r.header.length <= bytes.length);
    }
  };
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 5 }),
      (a, sizes) => check(Buffer.from(a), sizes),
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      endpoints,
      fc.array(tlv, { maxLength: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 16 }), { maxLength: 5 }),
      (e, tlvs: ProxyTlv[], edits, sizes) => {
        for (const h of [encodeProxyV1(e), encodeProxyV2(e, { tlvs })]) {
          const b = Buffer.from(h);
          for (const [at, v] of edits) b[at % b.length] = v;
          check(b, sizes);
          // truncated: never done with more bytes than given
          check(b.subarray(0, (edits[0][0] % b.length) + 1), sizes);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
