/**
 * Test-only ClientHello encoder (RFC 8446 §4.1.2 layout), to build hellos the captures do
 * not contain: fragmented over many records, malformed on purpose, random for round trips.
 * Written from the RFC, not from the parser.
 */

export interface HelloFields {
  legacyVersion?: number;
  sessionId?: Buffer;
  cipherSuites?: number[];
  /** raw host_name bytes (not validated here) */
  serverName?: string | null;
  alpn?: string[];
  sessionTicket?: Buffer | null;
  /** identities; each gets a 32-byte binder */
  pskIdentities?: Buffer[];
  supportedVersions?: number[];
  signatureAlgorithms?: number[];
  supportedGroups?: number[];
  /** extra [type, data] extensions, placed before pre_shared_key */
  extra?: Array<[number, Buffer]>;
  /** leave the extensions block out entirely (a TLS 1.2 hello may) */
  noExtensions?: boolean;
}

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const vec8 = (b: Buffer) => Buffer.concat([u8(b.length), b]);
const u16s = (list: number[]) => Buffer.concat(list.map(u16));

export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(data)]);
}

export function sniExtensionData(name: string): Buffer {
  return vec16(Buffer.concat([u8(0), vec16(Buffer.from(name, 'latin1'))]));
}

export function pskExtensionData(ids: Buffer[]): Buffer {
  const identities = Buffer.concat(ids.map((id) => Buffer.concat([vec16(id), Buffer.from([0, 0, 0, 7])])));
  const binders = Buffer.concat(ids.map(() => vec8(Buffer.alloc(32, 0xbb))));
  return Buffer.concat([vec16(identities), vec16(binders)]);
}

/** The ClientHello body (after the 4-byte handshake header). */
export function helloBody(f: HelloFields): Buffer {
  const exts: Buffer[] = [];
  if (f.serverName != null) exts.push(extension(0, sniExtensionData(f.serverName)));
  if (f.supportedGroups?.length) exts.push(extension(10, vec16(u16s(f.supportedGroups))));
  if (f.signatureAlgorithms?.length) exts.push(extension(13, vec16(u16s(f.signatureAlgorithms))));
  if (f.alpn?.length) {
    exts.push(extension(16, vec16(Buffer.concat(f.alpn.map((p) => vec8(Buffer.from(p, 'latin1')))))));
  }
  if (f.sessionTicket != null) exts.push(extension(35, f.sessionTicket));
  if (f.supportedVersions?.length) exts.push(extension(43, vec8(u16s(f.supportedVersions))));
  for (const [type, data] of f.extra ?? []) exts.push(extension(type, data));
  if (f.pskIdentities?.length) exts.push(extension(41, pskExtensionData(f.pskIdentities)));
  const parts = [
    u16(f.legacyVersion ?? 0x0303),
    Buffer.alloc(32, 0xaa), // random
    vec8(f.sessionId ?? Buffer.alloc(0)),
    vec16(u16s(f.cipherSuites ?? [0x1301])),
    vec8(Buffer.from([0])), // compression: null
  ];
  if (!f.noExtensions) parts.push(vec16(Buffer.concat(exts)));
  return Buffer.concat(parts);
}

/** A handshake message: type(1) length(3) body. */
export function handshake(body: Buffer, type = 1): Buffer {
  return Buffer.concat([u8(type), u24(body.length), body]);
}

/** Wraps handshake bytes in records of the given payload sizes (the last takes the rest). */
export function records(hs: Buffer, sizes: number[] = [], contentType = 22, version = 0x0301): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  for (const size of sizes) {
    if (p >= hs.length) break;
    const n = Math.min(size, hs.length - p);
    out.push(Buffer.concat([u8(contentType), u16(version), u16(n), hs.subarray(p, p + n)]));
    p += n;
  }
  while (p < hs.length) {
    const n = Math.min(16384, hs.length - p);
    out.push(Buffer.concat([u8(contentType), u16(version), u16(n), hs.subarray(p, p + n)]));
    p += n;
  }
  return Buffer.concat(out);
}

export function encodeClientHello(f: HelloFields, recordSizes: number[] = []): Buffer {
  return records(handshake(helloBody(f)), recordSizes);
}

/** The handshake bytes carried by a sequence of well-formed records. */
export function handshakeOf(recs: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let p = 0; p + 5 <= recs.length; ) {
    const n = recs.readUInt16BE(p + 3);
    out.push(recs.subarray(p + 5, p + 5 + n));
    p += 5 + n;
  }
  return Buffer.concat(out);
}
