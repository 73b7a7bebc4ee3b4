/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the header a proxy
 * puts before a relayed connection's bytes so the next hop learns the client's address.
 * This file: the decoded shape and the encoders. The streaming decoder of both versions is
 * proxy-protocol-reader.ts. Pure: no I/O, addresses are text in and text out.
 */
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from './crc32c.ts';
import { formatIPv4, formatIPv6, isIPv4Mapped, writeIPv4, writeIPv6 } from './ip-address.ts';

/** The 12 bytes every v2 header starts with (spec §2.2). */
export const PROXY_V2_SIGNATURE: Buffer = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** signature + version/command + family/transport + 16-bit length */
export const PROXY_V2_FIXED_SIZE = 16;
/** the longest v1 line including CR LF (spec §2.1) */
export const PROXY_V1_MAX_LENGTH = 107;

/** TLV types of spec §2.2 that uwrouter reads or writes. */
export const PP2_TYPE_ALPN = 0x01;
export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_CRC32C = 0x03;
export const PP2_TYPE_NOOP = 0x04;
export const PP2_TYPE_UNIQUE_ID = 0x05;
export const PP2_TYPE_SSL = 0x20;

/**
 * What the header says the relayed connection was. `UNKNOWN`: v1 `UNKNOWN`, v2 `AF_UNSPEC`
 * or an unspecified transport: the receiver uses the connection's own endpoints.
 */
export type ProxyTransport = 'TCP4' | 'TCP6' | 'UDP4' | 'UDP6' | 'UNIX_STREAM' | 'UNIX_DGRAM' | 'UNKNOWN';

export interface ProxyTlv {
  readonly type: number;
  /** a view into the received bytes */
  readonly value: Buffer;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** `LOCAL` (v2 only): the proxy's own connection, e.g. a health check; use the real endpoints */
  readonly command: 'PROXY' | 'LOCAL';
  readonly transport: ProxyTransport;
  /** IP text (IPv6 as RFC 5952), a UNIX path, or '' when UNKNOWN/LOCAL */
  readonly srcAddress: string;
  readonly dstAddress: string;
  /** 0 when the transport has no ports */
  readonly srcPort: number;
  readonly dstPort: number;
  /** v2 TLVs in wire order (a CRC32C TLV was verified); always empty for v1 */
  readonly tlvs: readonly ProxyTlv[];
  /** header bytes on the wire */
  readonly length: number;
}

/** The client of a header, or null when the receiver should keep the connection's own peer. */
export function proxiedSource(h: ProxyHeader): { address: string; port: number } | null {
  if (h.command !== 'PROXY') return null;
  const t = h.transport;
  if (t !== 'TCP4' && t !== 'TCP6' && t !== 'UDP4' && t !== 'UDP6') return null;
  return { address: h.srcAddress, port: h.srcPort };
}

/** The two ends of a relayed TCP connection, as Node reports them (`remoteAddress`, …). */
export interface ProxyEndpoints {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
}

/** scratch space for the address bytes of one encode (encoders are synchronous) */
const SCRATCH = new Uint8Array(32);

const FAMILY_NONE = 0;
const FAMILY_INET = 1;
const FAMILY_INET6 = 2;

/**
 * Parses both addresses into SCRATCH: IPv4 at [0,4) and [4,8) for INET, IPv6 at [0,16) and
 * [16,32) for INET6. An IPv4-mapped IPv6 pair becomes INET; an IPv4 next to an IPv6 address
 * is mapped into IPv6. NONE when an address is not an IP or a port is out of range.
 */
function addressFamily(e: ProxyEndpoints | null): number {
  if (e === null) return FAMILY_NONE;
  if (!validPort(e.srcPort) || !validPort(e.dstPort)) return FAMILY_NONE;
  const s4 = writeIPv4(e.srcAddress, SCRATCH, 0);
  const d4 = writeIPv4(e.dstAddress, SCRATCH, 4);
  if (s4 && d4) return FAMILY_INET;
  // IPv6 layout: the destination first, since the source's IPv6 bytes overwrite [4, 8)
  if (d4) {
    SCRATCH.copyWithin(16, 4, 8);
    mapIPv4(SCRATCH, 16);
  } else if (!writeIPv6(e.dstAddress, SCRATCH, 16)) return FAMILY_NONE;
  if (s4) mapIPv4(SCRATCH, 0);
  else if (!writeIPv6(e.srcAddress, SCRATCH, 0)) return FAMILY_NONE;
  if (isIPv4Mapped(SCRATCH, 0) && isIPv4Mapped(SCRATCH, 16)) {
    SCRATCH.copyWithin(0, 12, 16);
    SCRATCH.copyWithin(4, 28, 32);
    return FAMILY_INET;
  }
  return FAMILY_INET6;
}

/** IPv4 bytes at b[at, at+4) → ::ffff:a.b.c.d at b[at, at+16) */
function mapIPv4(b: Uint8Array, at: number): void {
  b.copyWithin(at + 12, at, at + 4);
  b.fill(0, at, at + 10);
  b[at + 10] = 0xff;
  b[at + 11] = 0xff;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

/**
 * The v1 line: `PROXY TCP4 src dst sport dport\r\n`, `PROXY TCP6 …` (hex groups only), or
 * `PROXY UNKNOWN\r\n` when the endpoints are not both IP addresses (a UNIX-socket client).
 */
export function encodeProxyV1(e: ProxyEndpoints | null): Buffer {
  const family = addressFamily(e);
  if (family === FAMILY_NONE || e === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const line =
    family === FAMILY_INET
      ? `PROXY TCP4 ${formatIPv4(SCRATCH, 0)} ${formatIPv4(SCRATCH, 4)} ${e.srcPort} ${e.dstPort}\r\n`
      : `PROXY TCP6 ${formatIPv6(SCRATCH, 0, false)} ${formatIPv6(SCRATCH, 16, false)} ${e.srcPort} ${e.dstPort}\r\n`;
  return Buffer.from(line, 'latin1');
}

export interface ProxyV2Options {
  /** `LOCAL` sends no addresses (the proxy's own connection); default `PROXY` */
  command?: 'PROXY' | 'LOCAL';
  tlvs?: readonly ProxyTlv[];
  /** add a CRC32C TLV covering the whole header (spec §2.2.3), before the other TLVs */
  crc32c?: boolean;
}

/**
 * The v2 binary header for a TCP connection: TCP over IPv4 (0x11) or IPv6 (0x21), or
 * AF_UNSPEC (0x00, no addresses) when the endpoints are not both IP addresses or the
 * command is LOCAL. TLVs follow the addresses. Throws RangeError only when the caller's
 * TLVs do not fit the 16-bit length (a programming error, not bad input).
 */
export function encodeProxyV2(e: ProxyEndpoints | null, opts: ProxyV2Options = {}): Buffer {
  const local = opts.command === 'LOCAL';
  const family = local ? FAMILY_NONE : addressFamily(e);
  const addrLen = family === FAMILY_INET ? 12 : family === FAMILY_INET6 ? 36 : 0;
  let tlvLen = opts.crc32c ? 7 : 0;
  const tlvs = opts.tlvs ?? [];
  for (const t of tlvs) {
    if (t.value.length > 0xffff) throw new RangeError(`PROXY v2 TLV 0x${t.type.toString(16)} is too long`);
    tlvLen += 3 + t.value.length;
  }
  const len = addrLen + tlvLen;
  if (len > 0xffff) throw new RangeError('PROXY v2 TLVs do not fit the header');
  const out = Buffer.allocUnsafe(PROXY_V2_FIXED_SIZE + len);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = local ? 0x20 : 0x21;
  out[13] = family === FAMILY_INET ? 0x11 : family === FAMILY_INET6 ? 0x21 : 0x00;
  out.writeUInt16BE(len, 14);
  let at = PROXY_V2_FIXED_SIZE;
  if (family !== FAMILY_NONE && e !== null) {
    const n = family === FAMILY_INET ? 8 : 32;
    out.set(SCRATCH.subarray(0, n), at);
    at += n;
    out.writeUInt16BE(e.srcPort, at);
    out.writeUInt16BE(e.dstPort, at + 2);
    at += 4;
  }
  // the CRC32C TLV first, as HAProxy sends it; computed with its own field zeroed, then set
  const crcAt = opts.crc32c ? at + 3 : -1;
  if (opts.crc32c) {
    out[at] = PP2_TYPE_CRC32C;
    out.writeUInt16BE(4, at + 1);
    out.writeUInt32BE(0, at + 3);
    at += 7;
  }
  for (const t of tlvs) {
    out[at] = t.type;
    out.writeUInt16BE(t.value.length, at + 1);
    out.set(t.value, at + 3);
    at += 3 + t.value.length;
  }
  if (crcAt >= 0) out.writeUInt32BE(crc32cFinish(crc32cUpdate(CRC32C_INIT, out)), crcAt);
  return out;
}
