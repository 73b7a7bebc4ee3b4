import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ClientHelloErrorReason } from '../../src/protocol/tls-client-hello.ts';
import { ClientHelloReader, type ClientHelloReadResult } from '../../src/protocol/tls-client-hello-reader.ts';
import { encodeClientHello, type HelloFields } from '../protocol/tls-hello-encoder.ts';
import { loadHelloVectors } from '../protocol/tls-hello-vectors.ts';

const REASONS: readonly ClientHelloErrorReason[] = [
  'not-tls',
  'plaintext-http',
  'sslv2-hello',
  'bad-record',
  'not-client-hello',
  'too-large',
  'too-fragmented',
  'malformed',
  'duplicate-extension',
  'bad-server-name',
];
const VECTORS = loadHelloVectors();

/** Feeds `bytes` in pieces cut at `cuts` (offsets, any order); returns the last result. */
function feed(bytes: Buffer, cuts: number[] = []): ClientHelloReadResult {
  const reader = new ClientHelloReader();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  let r: ClientHelloReadResult = { state: 'need-more' };
  for (const p of [...points, bytes.length]) {
    if (p <= prev) continue;
    r = reader.push(bytes.subarray(prev, p));
    prev = p;
  }
  assert.ok(reader.buffered <= bytes.length);
  return r;
}

function checkShape(r: ClientHelloReadResult): void {
  if (r.state === 'error') {
    assert.ok(REASONS.includes(r.reason), r.reason);
    assert.ok(['UWR_ERR_NOT_TLS', 'UWR_ERR_TLS_HELLO', 'UWR_ERR_PACKET_TOO_LARGE'].includes(r.code));
  } else if (r.state === 'done') {
    const n = r.hello.serverName;
    if (n !== null) assert.match(n, /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/);
    assert.ok(r.helloLength <= r.received.length);
  }
}

test('random bytes never throw, in any chunking', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(), { maxLength: 6 }), (a, cuts) => {
      checkShape(feed(Buffer.from(a), cuts));
    }),
    { numRuns: 3000 },
  );
});

test('random bytes behind a valid record header never throw', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 600 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      (a, cuts) => {
        const body = Buffer.from(a);
        body[0] = 1; // ClientHello
        const rec = Buffer.concat([
          Buffer.from([0x16, 0x03, 0x01, body.length >> 8, body.length & 0xff]),
          body,
        ]);
        checkShape(feed(rec, cuts));
      },
    ),
    { numRuns: 3000 },
  );
});

test('mutated real hellos never throw', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VECTORS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(),
      fc.array(fc.nat(), { maxLength: 4 }),
      (v, flips, cut, cuts) => {
        const b = Buffer.from(v.bytes);
        for (const [at, value] of flips) b[at % b.length] = value;
        checkShape(feed(b, cuts));
        checkShape(feed(b.subarray(0, cut % (b.length + 1)), cuts)); // truncated
      },
    ),
    { numRuns: 3000 },
  );
});

const hostLabel = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const hostName = fc.array(hostLabel, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));

const fields: fc.Arbitrary<HelloFields> = fc.record({
  legacyVersion: fc.constantFrom(0x0301, 0x0302, 0x0303),
  sessionId: bytes(0, 32),
  cipherSuites: fc.array(u16, { minLength: 1, maxLength: 40 }),
  serverName: fc.option(hostName, { nil: null }),
  alpn: fc.array(fc.stringMatching(/^[\x21-\x7e]{1,12}$/), { maxLength: 4 }),
  sessionTicket: fc.option(bytes(0, 300), { nil: null }),
  pskIdentities: fc.array(bytes(1, 200), { maxLength: 3 }),
  supportedVersions: fc.array(u16, { maxLength: 6 }),
  signatureAlgorithms: fc.array(u16, { maxLength: 30 }),
  supportedGroups: fc.array(u16, { maxLength: 10 }),
});

test('encode → decode round-trips generated hellos over any records and chunks', () => {
  fc.assert(
    fc.property(
      fields,
      fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (f, recordSizes, cuts) => {
        const wire = encodeClientHello(f, recordSizes);
        const r = feed(wire, cuts);
        assert.equal(r.state, 'done', r.state === 'error' ? r.reason : '');
        if (r.state !== 'done') return;
        const h = r.hello;
        assert.equal(h.legacyVersion, f.legacyVersion);
        assert.ok(h.sessionId.equals(f.sessionId!));
        assert.deepEqual(h.cipherSuites, f.cipherSuites);
        assert.equal(h.serverName, f.serverName);
        assert.deepEqual(h.alpn, f.alpn);
        assert.equal(h.sessionTicket?.toString('hex') ?? null, f.sessionTicket?.toString('hex') ?? null);
        assert.deepEqual(
          h.pskIdentities.map((b) => b.toString('hex')),
          f.pskIdentities!.map((b) => b.toString('hex')),
        );
        assert.deepEqual(h.supportedVersions, f.supportedVersions);
        assert.deepEqual(h.signatureAlgorithms, f.signatureAlgorithms);
        assert.deepEqual(h.supportedGroups, f.supportedGroups);
        assert.equal(r.helloLength, wire.length);
      },
    ),
    { numRuns: 1000 },
  );
});
