/**
 * PROXY protocol codec against the spec's vectors (HAProxy's proxy-protocol.txt) and real
 * HAProxy 2.6 captures (test/fixtures/proxy/, made by capture-haproxy.ts): the captures'
 * endpoints come from the capturing client's own socket, not from this decoder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { crc32c } from '../../src/protocol/crc32c.ts';
import {
  encodeProxyV1,
  encodeProxyV2,
  PP2_TYPE_CRC32C,
  PP2_TYPE_UNIQUE_ID,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
  proxiedSource,
} from '../../src/protocol/proxy-protocol.ts';
import {
  decodeProxyHeader,
  ProxyHeaderReader,
  type ProxyReadResult,
} from '../../src/protocol/proxy-protocol-reader.ts';

const fx = (name: string): Buffer => readFileSync(new URL(`../fixtures/proxy/${name}`, import.meta.url));

interface CaptureJson {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  data: string;
}

const CAPTURES: Array<[string, 1 | 2, 'TCP4' | 'TCP6']> = [
  ['haproxy-send-proxy-v1-tcp4', 1, 'TCP4'],
  ['haproxy-send-proxy-v1-tcp6', 1, 'TCP6'],
  ['haproxy-send-proxy-v2-tcp4', 2, 'TCP4'],
  ['haproxy-send-proxy-v2-tcp6', 2, 'TCP6'],
  ['haproxy-send-proxy-v2-crc32c-unique-id', 2, 'TCP4'],
];

function done(r: ProxyReadResult): { header: ProxyHeader; rest: Buffer } {
  assert.equal(r.state, 'done', JSON.stringify(r));
  if (r.state !== 'done') throw new Error('unreachable');
  return r;
}

function errorOf(r: ProxyReadResult): string {
  assert.equal(r.state, 'error', JSON.stringify(r));
  return r.state === 'error' ? r.reason : '';
}

/**
 * Feeds `bytes` split at `cuts` (sorted offsets) until the reader decides; a `done` result's
 * rest is extended with the chunks not fed yet (what the connection would read next).
 */
function feed(bytes: Buffer, cuts: number[]): { result: ProxyReadResult; maxBuffered: number } {
  const reader = new ProxyHeaderReader();
  let prev = 0;
  let result: ProxyReadResult = { state: 'need-more' };
  let maxBuffered = 0;
  for (const c of [...cuts, bytes.length]) {
    result = reader.push(bytes.subarray(prev, c));
    maxBuffered = Math.max(maxBuffered, reader.buffered);
    prev = c;
    if (result.state !== 'need-more') break;
  }
  if (result.state === 'done') {
    result = { ...result, rest: Buffer.concat([result.rest, bytes.subarray(prev)]) };
  }
  return { result, maxBuffered };
}

for (const [name, version, transport] of CAPTURES) {
  test(`decodes the real HAProxy capture ${name} to the client's own endpoints`, () => {
    const bin = fx(`${name}.bin`);
    const want = JSON.parse(fx(`${name}.json`).toString('utf8')) as CaptureJson;
    const { header, rest } = done(decodeProxyHeader(bin));
    assert.equal(header.version, version);
    assert.equal(header.command, 'PROXY');
    assert.equal(header.transport, transport);
    assert.equal(header.srcAddress, want.srcAddress);
    assert.equal(header.srcPort, want.srcPort);
    assert.equal(header.dstAddress, want.dstAddress);
    assert.equal(header.dstPort, want.dstPort);
    assert.equal(rest.toString('latin1'), want.data);
    assert.equal(header.length, bin.length - want.data.length);
    assert.deepEqual(proxiedSource(header), { address: want.srcAddress, port: want.srcPort });
  });

  test(`${name}: the same result split at every byte, and byte by byte`, () => {
    const bin = fx(`${name}.bin`);
    const whole = done(decodeProxyHeader(bin));
    for (let cut = 1; cut < bin.length; cut++) {
      const { result } = feed(bin, [cut]);
      const r = done(result);
      assert.deepEqual(r.header, whole.header, `cut at ${cut}`);
      assert.deepEqual(r.rest, whole.rest, `cut at ${cut}`);
    }
    const every = Array.from({ length: bin.length - 1 }, (_, i) => i + 1);
    const { result, maxBuffered } = feed(bin, every);
    const r = done(result);
    assert.deepEqual(r.header, whole.header);
    // the data after the header is never buffered by the reader
    assert.ok(maxBuffered <= whole.header.length, `buffered ${maxBuffered}`);
  });

  test(`${name}: the encoder writes HAProxy's header byte for byte`, () => {
    const bin = fx(`${name}.bin`);
    const want = JSON.parse(fx(`${name}.json`).toString('utf8')) as CaptureJson;
    const header = bin.subarray(0, bin.length - want.data.length);
    if (version === 1) {
      assert.deepEqual(encodeProxyV1(want), header);
    } else {
      const { header: h } = done(decodeProxyHeader(bin));
      const tlvs = h.tlvs.filter((t) => t.type !== PP2_TYPE_CRC32C);
      const crc = h.tlvs.some((t) => t.type === PP2_TYPE_CRC32C);
      assert.deepEqual(encodeProxyV2(want, { tlvs, crc32c: crc }), header);
    }
  });
}

test('HAProxy v2 TLVs: CRC32C verified, UNIQUE_ID as its unique-id-format built it', () => {
  const bin = fx('haproxy-send-proxy-v2-crc32c-unique-id.bin');
  const want = JSON.parse(fx('haproxy-send-proxy-v2-crc32c-unique-id.json').toString('utf8')) as CaptureJson;
  const { header } = done(decodeProxyHeader(bin));
  assert.deepEqual(
    header.tlvs.map((t) => t.type),
    [PP2_TYPE_CRC32C, PP2_TYPE_UNIQUE_ID],
  );
  // unique-id-format ID-%ci-%cp: client ip and port
  assert.equal(header.tlvs[1].value.toString('latin1'), `ID-${want.srcAddress}-${want.srcPort}`);
  // any changed byte inside the header breaks the checksum
  for (const at of [13 + 3, 20, 40]) {
    const bad = Buffer.from(bin);
    bad[at] ^= 0x01;
    const r = decodeProxyHeader(bad);
    assert.ok(r.state === 'error', `flip at ${at}: ${r.state}`);
  }
  const badId = Buffer.from(bin);
  badId[45] ^= 0x20;
  assert.equal(errorOf(decodeProxyHeader(badId)), 'bad-checksum');
});

test('HAProxy check-send-proxy health check: v2 LOCAL, real endpoints kept', () => {
  const bin = fx('haproxy-check-send-proxy-v2-local.bin');
  const { header, rest } = done(decodeProxyHeader(bin));
  assert.equal(header.command, 'LOCAL');
  assert.equal(header.transport, 'UNKNOWN');
  assert.equal(rest.length, 0);
  assert.equal(proxiedSource(header), null);
  assert.deepEqual(encodeProxyV2(null, { command: 'LOCAL' }), bin);
});

test('spec §2.2: the v2 signature', () => {
  assert.deepEqual(
    PROXY_V2_SIGNATURE,
    Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]),
  );
});

test('spec §2.1 vectors: the example line and the longest lines a receiver must take', () => {
  const ex = done(decodeProxyHeader(Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /')));
  assert.deepEqual(
    [ex.header.srcAddress, ex.header.dstAddress, ex.header.srcPort, ex.header.dstPort],
    ['192.168.0.1', '192.168.0.11', 56324, 443],
  );
  assert.equal(ex.rest.toString(), 'GET /');

  const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  const v4max = 'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n';
  const v6max = `PROXY TCP6 ${f} ${f} 65535 65535\r\n`;
  const unknownShort = 'PROXY UNKNOWN\r\n';
  const worst = `PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`;
  assert.deepEqual([v4max.length, v6max.length, unknownShort.length, worst.length], [56, 104, 15, 107]);
  assert.equal(done(decodeProxyHeader(Buffer.from(v4max))).header.dstPort, 65535);
  assert.equal(done(decodeProxyHeader(Buffer.from(v6max))).header.srcAddress, f);
  const u = done(decodeProxyHeader(Buffer.from(unknownShort)));
  assert.equal(u.header.transport, 'UNKNOWN');
  assert.equal(proxiedSource(u.header), null);
  // "the receiver must ignore anything presented before the CRLF"
  assert.equal(done(decodeProxyHeader(Buffer.from(worst))).header.length, 107);
  // one byte more: no CRLF within 107 bytes
  assert.equal(
    errorOf(decodeProxyHeader(Buffer.from(`PROXY UNKNOWN ${f} ${f} 65535 655355\r\n`))),
    'bad-v1-line',
  );
});

test('spec §2.1: what a v1 receiver must refuse', () => {
  const bad = [
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', // bare LF
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', // bare CR
    'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', // a field missing
    'PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n', // leading zero (octal confusion)
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n',
    'PROXY TCP4 ::1 ::1 1 2\r\n', // address of the wrong family
    'PROXY TCP6 1:2:3 ::1 1 2\r\n', // not 128 bits
    'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
  ];
  for (const line of bad) {
    assert.equal(
      errorOf(decodeProxyHeader(Buffer.from(line, 'latin1'))),
      'bad-v1-line',
      JSON.stringify(line),
    );
  }
});

test('bytes that cannot start a header are refused at once, not after waiting', () => {
  const reader = new ProxyHeaderReader();
  assert.equal(errorOf(reader.push(Buffer.from('G'))), 'not-proxy');
  assert.equal(errorOf(decodeProxyHeader(Buffer.from('PROXX'))), 'not-proxy');
  assert.equal(errorOf(decodeProxyHeader(Buffer.from('\r\n\r\nX'))), 'not-proxy');
  // an SMTP/TLS/SSH client talking to a port that expects a header
  for (const first of ['EHLO x\r\n', '\x16\x03\x01', 'SSH-2.0-x\r\n']) {
    assert.equal(errorOf(decodeProxyHeader(Buffer.from(first, 'latin1'))), 'not-proxy', first);
  }
  // a prefix of a valid header waits
  assert.equal(decodeProxyHeader(Buffer.from('PROX')).state, 'need-more');
  assert.equal(decodeProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 7)).state, 'need-more');
});

function v2(verCmd: number, fam: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  PROXY_V2_SIGNATURE.copy(h);
  h[12] = verCmd;
  h[13] = fam;
  h.writeUInt16BE(body.length, 14);
  return Buffer.concat([h, body]);
}

const ADDR4 = Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x01, 0xbb]);

test('spec §2.2: what a v2 receiver must refuse, each with its reason', () => {
  assert.equal(errorOf(decodeProxyHeader(v2(0x11, 0x11, ADDR4))), 'bad-version');
  assert.equal(errorOf(decodeProxyHeader(v2(0x22, 0x11, ADDR4))), 'bad-command');
  assert.equal(errorOf(decodeProxyHeader(v2(0x21, 0x41, ADDR4))), 'bad-family');
  assert.equal(errorOf(decodeProxyHeader(v2(0x21, 0x13, ADDR4))), 'bad-family');
  assert.equal(errorOf(decodeProxyHeader(v2(0x21, 0x11, ADDR4.subarray(0, 8)))), 'short-addresses');
  assert.equal(errorOf(decodeProxyHeader(v2(0x21, 0x21, ADDR4))), 'short-addresses');
  // a TLV running past the header
  assert.equal(
    errorOf(decodeProxyHeader(v2(0x21, 0x11, Buffer.concat([ADDR4, Buffer.from([0x05, 0x00, 0x09, 1, 2])])))),
    'bad-tlv',
  );
  assert.equal(
    errorOf(decodeProxyHeader(v2(0x21, 0x11, Buffer.concat([ADDR4, Buffer.from([0x05, 0x00])])))),
    'bad-tlv',
  );
  // a CRC32C TLV of the wrong size
  assert.equal(
    errorOf(decodeProxyHeader(v2(0x21, 0x11, Buffer.concat([ADDR4, Buffer.from([0x03, 0x00, 0x02, 1, 2])])))),
    'bad-tlv',
  );
  const noops = Buffer.concat(Array.from({ length: 65 }, () => Buffer.from([0x04, 0x00, 0x00])));
  assert.equal(errorOf(decodeProxyHeader(v2(0x21, 0x11, Buffer.concat([ADDR4, noops])))), 'too-many-tlvs');
  assert.equal(
    done(decodeProxyHeader(v2(0x21, 0x11, Buffer.concat([ADDR4, noops.subarray(3)])))).header.tlvs.length,
    64,
  );
});

test('a v2 header longer than the bound is refused from its 16 fixed bytes, before the rest arrives', () => {
  const tlv = Buffer.alloc(5000);
  tlv[0] = 0xe0;
  tlv.writeUInt16BE(4997, 1);
  const big = v2(0x21, 0x11, Buffer.concat([ADDR4, tlv]));
  const reader = new ProxyHeaderReader();
  assert.equal(errorOf(reader.push(big.subarray(0, 16))), 'too-large');
  assert.equal(errorOf(decodeProxyHeader(big, { maxLength: 4096 })), 'too-large');
  // the limit is an option; the protocol's own bound is 16 + 65535
  assert.equal(done(decodeProxyHeader(big, { maxLength: 8192 })).header.tlvs.length, 1);
});

test('v2 families: UDP, AF_UNIX paths, AF_UNSPEC, and unspecified transports ignore the address block', () => {
  const udp = done(decodeProxyHeader(v2(0x21, 0x12, ADDR4))).header;
  assert.deepEqual(
    [udp.transport, udp.srcAddress, udp.srcPort, udp.dstPort],
    ['UDP4', '10.0.0.1', 12345, 443],
  );
  const paths = Buffer.alloc(216);
  paths.write('/run/client.sock', 0);
  paths.write('/run/server.sock', 108);
  const unix = done(decodeProxyHeader(v2(0x21, 0x31, paths))).header;
  assert.deepEqual(
    [unix.transport, unix.srcAddress, unix.dstAddress],
    ['UNIX_STREAM', '/run/client.sock', '/run/server.sock'],
  );
  assert.equal(proxiedSource(unix), null);
  // INET with an unspecified transport: address size unknown, so no TLVs are read from it
  const half = done(decodeProxyHeader(v2(0x21, 0x10, Buffer.from([1, 2, 3])))).header;
  assert.deepEqual([half.transport, half.tlvs.length], ['UNKNOWN', 0]);
  const unspec = done(decodeProxyHeader(v2(0x21, 0x00, Buffer.from([0x04, 0x00, 0x01, 0xaa])))).header;
  assert.deepEqual([unspec.transport, unspec.tlvs.length, proxiedSource(unspec)], ['UNKNOWN', 1, null]);
});

test('encoders: IPv4-mapped pairs become TCP4, mixed families TCP6, non-IP endpoints UNKNOWN/UNSPEC', () => {
  const mapped = {
    srcAddress: '::ffff:10.1.2.3',
    srcPort: 1000,
    dstAddress: '::ffff:127.0.0.1',
    dstPort: 80,
  };
  assert.equal(encodeProxyV1(mapped).toString(), 'PROXY TCP4 10.1.2.3 127.0.0.1 1000 80\r\n');
  const mixed = { srcAddress: '10.1.2.3', srcPort: 1000, dstAddress: '2001:db8::1', dstPort: 80 };
  // v1 allows hex groups only: the mapped address is written as such
  assert.equal(encodeProxyV1(mixed).toString(), 'PROXY TCP6 ::ffff:a01:203 2001:db8::1 1000 80\r\n');
  const h = done(decodeProxyHeader(encodeProxyV2(mixed))).header;
  assert.deepEqual([h.transport, h.srcAddress, h.dstAddress], ['TCP6', '::ffff:10.1.2.3', '2001:db8::1']);
  const unix = { srcAddress: '', srcPort: 0, dstAddress: '/tmp/x.sock', dstPort: 0 };
  assert.equal(encodeProxyV1(unix).toString(), 'PROXY UNKNOWN\r\n');
  assert.equal(encodeProxyV1(null).toString(), 'PROXY UNKNOWN\r\n');
  const u2 = encodeProxyV2(unix);
  assert.deepEqual([u2[12], u2[13], u2.readUInt16BE(14), u2.length], [0x21, 0x00, 0, 16]);
  const badPort = { srcAddress: '1.2.3.4', srcPort: 70000, dstAddress: '1.2.3.4', dstPort: 1 };
  assert.equal(encodeProxyV1(badPort).toString(), 'PROXY UNKNOWN\r\n');
  assert.throws(
    () => encodeProxyV2(null, { tlvs: [{ type: 0xe0, value: Buffer.alloc(0x10000) }] }),
    RangeError,
  );
});

test('CRC-32C check value (RFC 4960 / iSCSI): "123456789" → 0xE3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});
