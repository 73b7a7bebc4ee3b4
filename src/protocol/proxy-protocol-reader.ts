/**
 * Streaming decoder of a PROXY protocol header, v1 (text line) or v2 (binary), at the start
 * of a connection (HAProxy's proxy-protocol.txt §2). Copes with the header split at any
 * byte; rejects as soon as the bytes seen cannot start a header (spec §2.1: abort early);
 * bounded (v1 ≤ 107 bytes, v2 ≤ `maxLength`, ≤ `maxTlvs` TLVs); never throws.
 * The bytes after the header come back as `rest` (a view of the last chunk, no copy).
 */
import { CRC32C_INIT, crc32cFinish, crc32cUpdate, crc32cZeros } from './crc32c.ts';
import { parseProxyV1 } from './http-proxy-v1.ts';
import { formatIPv4, formatIPv6, parseIP } from './ip-address.ts';
import {
  PP2_TYPE_CRC32C,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_FIXED_SIZE,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
  type ProxyTlv,
  type ProxyTransport,
} from './proxy-protocol.ts';

export type ProxyErrorReason =
  /** the first bytes are neither `PROXY ` nor the v2 signature */
  | 'not-proxy'
  /** a v1 line that does not parse, a bare CR or LF, or no CR LF within 107 bytes */
  | 'bad-v1-line'
  /** v2: version nibble is not 2 */
  | 'bad-version'
  /** v2: command nibble is not LOCAL (0) or PROXY (1) */
  | 'bad-command'
  /** v2: address family > 3 or transport > 2 */
  | 'bad-family'
  /** v2: the length is shorter than the family's addresses */
  | 'short-addresses'
  /** v2: the header is longer than `maxLength` */
  | 'too-large'
  /** v2: a TLV runs past the header, or a CRC32C TLV is not 4 bytes */
  | 'bad-tlv'
  | 'too-many-tlvs'
  /** v2: the CRC32C TLV does not match the header */
  | 'bad-checksum';

export type ProxyReadResult =
  | { readonly state: 'need-more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly state: 'error'; readonly reason: ProxyErrorReason };

export interface ProxyReaderOptions {
  /** largest v2 header accepted, fixed part included (default 4096; the protocol allows 65551) */
  maxLength?: number;
  /** most TLVs accepted in one v2 header (default 64) */
  maxTlvs?: number;
}

export const PROXY_V2_DEFAULT_MAX_LENGTH = 4096;
export const PROXY_V2_DEFAULT_MAX_TLVS = 64;

const NEED_MORE: ProxyReadResult = { state: 'need-more' };
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;

/** An internal parse step over `buf[0, have)`: done (header length), an error, or the bytes needed. */
type Step =
  | { kind: 'done'; header: ProxyHeader }
  | { kind: 'error'; reason: ProxyErrorReason }
  | { kind: 'need'; total: number };

function fail(reason: ProxyErrorReason): Step {
  return { kind: 'error', reason };
}

/** Do the `have` bytes agree with `prefix` as far as both go? */
function prefixMatches(buf: Buffer, have: number, prefix: Buffer): boolean {
  const n = Math.min(have, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function parseV1(buf: Buffer, have: number): Step {
  if (!prefixMatches(buf, have, V1_PREFIX)) return fail('not-proxy');
  const limit = Math.min(have, PROXY_V1_MAX_LENGTH);
  for (let i = 0; i < limit; i++) {
    const c = buf[i];
    if (c === LF) return fail('bad-v1-line');
    if (c !== CR) continue;
    if (i + 1 >= have) return { kind: 'need', total: i + 2 };
    if (buf[i + 1] !== LF) return fail('bad-v1-line');
    const p = parseProxyV1(buf, 0, i);
    if (p === null) return fail('bad-v1-line');
    let src = '';
    let dst = '';
    if (p.protocol !== 'UNKNOWN') {
      // parseProxyV1 checks the shape only: each address must be a real IP of its family;
      // printed back as RFC 5952 text so every sender's spelling gives the same address
      const want = p.protocol === 'TCP4' ? 4 : 16;
      const s = parseIP(p.srcAddress);
      const d = parseIP(p.dstAddress);
      if (s === null || d === null || s.length !== want || d.length !== want) return fail('bad-v1-line');
      src = want === 4 ? formatIPv4(s) : formatIPv6(s);
      dst = want === 4 ? formatIPv4(d) : formatIPv6(d);
    }
    return {
      kind: 'done',
      header: {
        version: 1,
        command: 'PROXY',
        transport: p.protocol,
        srcAddress: src,
        dstAddress: dst,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        tlvs: [],
        length: i + 2,
      },
    };
  }
  if (have >= PROXY_V1_MAX_LENGTH) return fail('bad-v1-line');
  return { kind: 'need', total: PROXY_V1_MAX_LENGTH };
}

/** address block size and transport of a v2 family/transport byte (both nibbles valid) */
function v2Layout(fam: number): { size: number; transport: ProxyTransport } {
  switch (fam) {
    case 0x11:
      return { size: 12, transport: 'TCP4' };
    case 0x12:
      return { size: 12, transport: 'UDP4' };
    case 0x21:
      return { size: 36, transport: 'TCP6' };
    case 0x22:
      return { size: 36, transport: 'UDP6' };
    case 0x31:
      return { size: 216, transport: 'UNIX_STREAM' };
    case 0x32:
      return { size: 216, transport: 'UNIX_DGRAM' };
    default:
      // AF_UNSPEC or an unspecified transport: "the receiver should ignore address information"
      return { size: 0, transport: 'UNKNOWN' };
  }
}

/** a NUL-terminated sun_path of up to 108 bytes */
function unixPath(buf: Buffer, at: number): string {
  let end = at;
  while (end < at + 108 && buf[end] !== 0) end++;
  return buf.toString('utf8', at, end);
}

function parseV2(buf: Buffer, have: number, opts: Required<ProxyReaderOptions>): Step {
  if (!prefixMatches(buf, have, PROXY_V2_SIGNATURE)) return fail('not-proxy');
  if (have <= 12) return { kind: 'need', total: PROXY_V2_FIXED_SIZE };
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return fail('bad-version');
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return fail('bad-command');
  if (have <= 13) return { kind: 'need', total: PROXY_V2_FIXED_SIZE };
  const fam = buf[13];
  if (fam >> 4 > 3 || (fam & 0x0f) > 2) return fail('bad-family');
  if (have < PROXY_V2_FIXED_SIZE) return { kind: 'need', total: PROXY_V2_FIXED_SIZE };
  const len = buf.readUInt16BE(14);
  const total = PROXY_V2_FIXED_SIZE + len;
  if (total > opts.maxLength) return fail('too-large');
  const layout = v2Layout(fam);
  // unspecified combinations (e.g. INET with UNSPEC transport) have addresses of unknown size
  const knownLayout = layout.transport !== 'UNKNOWN' || fam === 0x00;
  if (len < layout.size) return fail('short-addresses');
  if (have < total) return { kind: 'need', total };

  const tlvs: ProxyTlv[] = [];
  let crcAt = -1;
  if (knownLayout) {
    let at = PROXY_V2_FIXED_SIZE + layout.size;
    while (at < total) {
      if (at + 3 > total) return fail('bad-tlv');
      const type = buf[at];
      const vlen = buf.readUInt16BE(at + 1);
      const end = at + 3 + vlen;
      if (end > total) return fail('bad-tlv');
      if (tlvs.length >= opts.maxTlvs) return fail('too-many-tlvs');
      if (type === PP2_TYPE_CRC32C) {
        if (vlen !== 4 || crcAt >= 0) return fail('bad-tlv');
        crcAt = at + 3;
      }
      tlvs.push({ type, value: buf.subarray(at + 3, end) });
      at = end;
    }
  }
  if (crcAt >= 0) {
    // spec §2.2.3: the checksum of the whole header with the checksum field as zeros
    let s = crc32cUpdate(CRC32C_INIT, buf, 0, crcAt);
    s = crc32cZeros(s, 4);
    s = crc32cUpdate(s, buf, crcAt + 4, total);
    if (crc32cFinish(s) !== buf.readUInt32BE(crcAt)) return fail('bad-checksum');
  }
  const a = PROXY_V2_FIXED_SIZE;
  let src = '';
  let dst = '';
  let srcPort = 0;
  let dstPort = 0;
  const t = layout.transport;
  if (t === 'TCP4' || t === 'UDP4') {
    src = formatIPv4(buf, a);
    dst = formatIPv4(buf, a + 4);
    srcPort = buf.readUInt16BE(a + 8);
    dstPort = buf.readUInt16BE(a + 10);
  } else if (t === 'TCP6' || t === 'UDP6') {
    src = formatIPv6(buf, a);
    dst = formatIPv6(buf, a + 16);
    srcPort = buf.readUInt16BE(a + 32);
    dstPort = buf.readUInt16BE(a + 34);
  } else if (t !== 'UNKNOWN') {
    src = unixPath(buf, a);
    dst = unixPath(buf, a + 108);
  }
  return {
    kind: 'done',
    header: {
      version: 2,
      command: cmd === 1 ? 'PROXY' : 'LOCAL',
      transport: t,
      srcAddress: src,
      dstAddress: dst,
      srcPort,
      dstPort,
      tlvs,
      length: total,
    },
  };
}

function parseAny(buf: Buffer, have: number, opts: Required<ProxyReaderOptions>): Step {
  if (have === 0) return { kind: 'need', total: 1 };
  // spec §2.2: "PROXY" starts v1, the signature (first byte CR) starts v2
  if (buf[0] === V1_PREFIX[0]) return parseV1(buf, have);
  if (buf[0] === PROXY_V2_SIGNATURE[0]) return parseV2(buf, have, opts);
  return fail('not-proxy');
}

function resolveOptions(o: ProxyReaderOptions): Required<ProxyReaderOptions> {
  return {
    maxLength: Math.min(o.maxLength ?? PROXY_V2_DEFAULT_MAX_LENGTH, PROXY_V2_FIXED_SIZE + 0xffff),
    maxTlvs: o.maxTlvs ?? PROXY_V2_DEFAULT_MAX_TLVS,
  };
}

/** Decodes a header at the start of `buf` (all the bytes there are so far). */
export function decodeProxyHeader(buf: Buffer, opts: ProxyReaderOptions = {}): ProxyReadResult {
  const s = parseAny(buf, buf.length, resolveOptions(opts));
  if (s.kind === 'done') return { state: 'done', header: s.header, rest: buf.subarray(s.header.length) };
  if (s.kind === 'error') return { state: 'error', reason: s.reason };
  return NEED_MORE;
}

/**
 * Feed it the connection's chunks until it answers `done` or `error`. Keeps only the header's
 * bytes (at most the bound), never the data after it.
 */
export class ProxyHeaderReader {
  private readonly opts: Required<ProxyReaderOptions>;
  private acc: Buffer | null = null;
  private have = 0;
  private finished = false;

  constructor(opts: ProxyReaderOptions = {}) {
    this.opts = resolveOptions(opts);
  }

  /** bytes held so far (a partial header) */
  get buffered(): number {
    return this.have;
  }

  push(chunk: Buffer): ProxyReadResult {
    if (this.finished) return { state: 'error', reason: 'not-proxy' };
    if (this.have === 0) {
      // the usual case: the whole header in the first chunk, decoded in place
      const s = parseAny(chunk, chunk.length, this.opts);
      if (s.kind !== 'need') return this.end(s, chunk, 0);
    }
    let off = 0;
    for (;;) {
      const s = parseAny(this.acc ?? chunk, this.have, this.opts);
      if (s.kind !== 'need') return this.end(s, chunk, off);
      if (off >= chunk.length) return NEED_MORE;
      // copy only what the next decision needs: never the connection's data after the header
      const take = Math.min(chunk.length - off, s.total - this.have);
      this.grow(this.have + take);
      chunk.copy(this.acc!, this.have, off, off + take);
      this.have += take;
      off += take;
    }
  }

  private grow(size: number): void {
    if (this.acc !== null && this.acc.length >= size) return;
    const next = Buffer.allocUnsafe(Math.max(size, 128));
    if (this.acc !== null) this.acc.copy(next, 0, 0, this.have);
    this.acc = next;
  }

  /** `off` = bytes of `chunk` consumed into the buffer so far */
  private end(s: Step, chunk: Buffer, off: number): ProxyReadResult {
    this.finished = true;
    if (s.kind === 'error') {
      this.acc = null;
      return { state: 'error', reason: s.reason };
    }
    if (s.kind !== 'done') return NEED_MORE;
    // bytes of this chunk past the header: the buffered bytes beyond the header length all
    // came from this chunk (earlier chunks held header bytes only)
    const over = (this.acc === null ? chunk.length : this.have) - s.header.length;
    const rest = this.acc === null ? chunk.subarray(s.header.length) : chunk.subarray(off - over);
    this.acc = null;
    this.have = 0;
    return { state: 'done', header: s.header, rest };
  }
}
