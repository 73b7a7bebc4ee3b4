/**
 * The TLS ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2): what a router needs before
 * the handshake starts — the server name (SNI, RFC 6066 §3) that picks the certificate and
 * the sslrouter's key, ALPN, and the session ticket / PSK identities that resumption needs.
 * Pure: bytes in, a result out, never throws on bad bytes. Buffers in the result are views
 * of the input (no copies). The record layer is tls-client-hello-reader.ts.
 *
 * The server name is normalised as every host key is here (src/protocol/host-key.ts):
 * ASCII letters folded to lower case and one trailing dot removed, so `Example.COM.`
 * finds the certificate and pool of `example.com` (uWSGI compares SNI byte for byte,
 * spec: ssl-sni-sessions.md §3). Only host-name bytes (letters, digits, `-`, `_`, `.`,
 * no empty label) are accepted: the name becomes a routing key, a log field and, with
 * `--sni-dir`, part of a file name, so `../x`, `a/b` or control bytes never get that far.
 */

/** RFC 6066 §3 / OpenSSL TLSEXT_MAXLEN_host_name; uWSGI also refuses longer keys (spec §2). */
export const TLS_MAX_SERVER_NAME = 255;

export const EXT_SERVER_NAME = 0;
export const EXT_SUPPORTED_GROUPS = 10;
export const EXT_SIGNATURE_ALGORITHMS = 13;
export const EXT_ALPN = 16;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_SUPPORTED_VERSIONS = 43;

export interface ClientHello {
  /** legacy_version (0x0303 in TLS 1.2 and 1.3 hellos; the real offer is supportedVersions) */
  legacyVersion: number;
  /** legacy_session_id, 0–32 bytes (TLS 1.2 resumption by id; a random 32 in TLS 1.3 compat mode) */
  sessionId: Buffer;
  cipherSuites: number[];
  /** SNI host_name, lower-cased, trailing dot removed; null when the client sent none */
  serverName: string | null;
  /** ALPN protocol names in the client's order; [] when absent */
  alpn: string[];
  /** session_ticket (ext 35): null = absent; empty = "I take tickets" (no ticket to resume) */
  sessionTicket: Buffer | null;
  /** pre_shared_key (ext 41) identities in order (the first is the ticket to resume); [] when absent */
  pskIdentities: Buffer[];
  /** supported_versions (ext 43) in the client's order; [] when absent (a TLS ≤ 1.2 client) */
  supportedVersions: number[];
  /** signature_algorithms (ext 13), e.g. 0x0403 ecdsa_secp256r1_sha256; [] when absent */
  signatureAlgorithms: number[];
  /** supported_groups (ext 10); [] when absent */
  supportedGroups: number[];
}

export type ClientHelloErrorReason =
  /** the first bytes are not a TLS record at all */
  | 'not-tls'
  /** the first bytes look like an HTTP request line (plain HTTP sent to a TLS port) */
  | 'plaintext-http'
  /** an SSLv2-format ClientHello (no extensions possible; SSLv2/SSLv3 are never served) */
  | 'sslv2-hello'
  /** a record that is not handshake, a bad record version or length, a zero-length fragment */
  | 'bad-record'
  /** the first handshake message is not a ClientHello */
  | 'not-client-hello'
  /** the ClientHello is longer than the reader's limit */
  | 'too-large'
  /** the ClientHello came in more records than the reader's limit */
  | 'too-fragmented'
  /** a length field disagrees with the bytes, or bytes follow the ClientHello in its record */
  | 'malformed'
  /** an extension this parser reads appears twice (RFC 8446 §4.2 forbids it) */
  | 'duplicate-extension'
  /** SNI is not exactly one host_name of 1–255 host-name bytes */
  | 'bad-server-name';

export interface ClientHelloError {
  ok: false;
  code: 'UWR_ERR_NOT_TLS' | 'UWR_ERR_TLS_HELLO' | 'UWR_ERR_PACKET_TOO_LARGE';
  reason: ClientHelloErrorReason;
}

export type ClientHelloParseResult = { ok: true; hello: ClientHello } | ClientHelloError;

export function helloError(reason: ClientHelloErrorReason): ClientHelloError {
  let code: ClientHelloError['code'] = 'UWR_ERR_TLS_HELLO';
  if (reason === 'not-tls' || reason === 'plaintext-http' || reason === 'sslv2-hello')
    code = 'UWR_ERR_NOT_TLS';
  else if (reason === 'too-large' || reason === 'too-fragmented') code = 'UWR_ERR_PACKET_TOO_LARGE';
  return { ok: false, code, reason };
}

/** host-name bytes: 1 = keep, 2 = upper-case letter (fold), 0 = refused */
const NAME_BYTE = new Uint8Array(256);
for (let c = 0x61; c <= 0x7a; c++) NAME_BYTE[c] = 1;
for (let c = 0x30; c <= 0x39; c++) NAME_BYTE[c] = 1;
NAME_BYTE[0x2d] = 1; // -
NAME_BYTE[0x5f] = 1; // _ (not LDH, but common in internal names)
NAME_BYTE[0x2e] = 1; // .
for (let c = 0x41; c <= 0x5a; c++) NAME_BYTE[c] = 2;

const DOT = 0x2e;

/** buf[s, e) as a normalised host name, or null when it is not one. */
function hostName(buf: Buffer, s: number, e: number): string | null {
  if (e - s < 1 || e - s > TLS_MAX_SERVER_NAME) return null;
  let fold = false;
  let prev = DOT; // a leading dot is an empty first label
  for (let i = s; i < e; i++) {
    const c = buf[i];
    const k = NAME_BYTE[c];
    if (k === 0) return null;
    if (k === 2) fold = true;
    if (c === DOT && prev === DOT) return null;
    prev = c;
  }
  if (prev === DOT) {
    e--; // the absolute form `example.com.` names the same host (RFC 1034 §3.1)
    if (e === s) return null;
  }
  const name = buf.toString('latin1', s, e);
  return fold ? name.toLowerCase() : name;
}

function u16List(buf: Buffer, s: number, e: number): number[] {
  const out = new Array<number>((e - s) >> 1);
  for (let i = s, j = 0; i < e; i += 2, j++) out[j] = (buf[i] << 8) | buf[i + 1];
  return out;
}

/** server_name: OpenSSL accepts exactly one host_name entry that fills the extension. */
function readServerName(b: Buffer, s: number, e: number): string | null {
  if (e - s < 5 || b.readUInt16BE(s) !== e - s - 2) return null;
  if (b[s + 2] !== 0 /* host_name */ || b.readUInt16BE(s + 3) !== e - s - 5) return null;
  return hostName(b, s + 5, e);
}

/** ALPN ProtocolNameList <2..2^16-1> of ProtocolName <1..2^8-1> (RFC 7301 §3.1). */
function readAlpn(b: Buffer, s: number, e: number): string[] | null {
  if (e - s < 3 || b.readUInt16BE(s) !== e - s - 2) return null;
  const out: string[] = [];
  for (let p = s + 2; p < e; ) {
    const n = b[p++];
    if (n === 0 || p + n > e) return null;
    out.push(b.toString('latin1', p, p + n));
    p += n;
  }
  return out;
}

/** OfferedPsks: identities <7..>, binders <33..>, one binder per identity (RFC 8446 §4.2.11). */
function readPskIdentities(b: Buffer, s: number, e: number): Buffer[] | null {
  if (e - s < 2) return null;
  const idsEnd = s + 2 + b.readUInt16BE(s);
  if (idsEnd - s - 2 < 7 || idsEnd + 2 > e) return null;
  const ids: Buffer[] = [];
  for (let p = s + 2; p < idsEnd; ) {
    if (p + 2 > idsEnd) return null;
    const n = b.readUInt16BE(p);
    p += 2;
    if (n === 0 || p + n + 4 > idsEnd) return null;
    ids.push(b.subarray(p, p + n));
    p += n + 4; // obfuscated_ticket_age
  }
  const bindersLen = b.readUInt16BE(idsEnd);
  if (bindersLen < 33 || idsEnd + 2 + bindersLen !== e) return null;
  let binders = 0;
  for (let p = idsEnd + 2; p < e; binders++) {
    const n = b[p++];
    if (n < 32 || p + n > e) return null;
    p += n;
  }
  return binders === ids.length ? ids : null;
}

/** A u16 list behind a length of `lenBytes` bytes that fills the extension exactly. */
function readU16Vector(b: Buffer, s: number, e: number, lenBytes: 1 | 2): number[] | null {
  if (e - s < lenBytes) return null;
  const n = lenBytes === 1 ? b[s] : b.readUInt16BE(s);
  if (n < 2 || n % 2 !== 0 || s + lenBytes + n !== e) return null;
  return u16List(b, s + lenBytes, e);
}

const SEEN_BIT: Record<number, number> = {
  [EXT_SERVER_NAME]: 1,
  [EXT_SUPPORTED_GROUPS]: 2,
  [EXT_SIGNATURE_ALGORITHMS]: 4,
  [EXT_ALPN]: 8,
  [EXT_SESSION_TICKET]: 16,
  [EXT_PRE_SHARED_KEY]: 32,
  [EXT_SUPPORTED_VERSIONS]: 64,
};

/**
 * Parses a ClientHello message body: the bytes after the 4-byte handshake header, exactly
 * as long as that header says.
 */
export function parseClientHelloBody(b: Buffer): ClientHelloParseResult {
  const end = b.length;
  // legacy_version(2) random(32) session_id<0..32>
  if (end < 35) return helloError('malformed');
  const legacyVersion = b.readUInt16BE(0);
  let p = 34;
  const sidLen = b[p++];
  if (sidLen > 32 || p + sidLen > end) return helloError('malformed');
  const sessionId = b.subarray(p, p + sidLen);
  p += sidLen;
  // cipher_suites<2..2^16-2>
  if (p + 2 > end) return helloError('malformed');
  const csLen = b.readUInt16BE(p);
  p += 2;
  if (csLen < 2 || csLen % 2 !== 0 || p + csLen > end) return helloError('malformed');
  const cipherSuites = u16List(b, p, p + csLen);
  p += csLen;
  // legacy_compression_methods<1..2^8-1>
  if (p + 1 > end) return helloError('malformed');
  const cmLen = b[p++];
  if (cmLen < 1 || p + cmLen > end) return helloError('malformed');
  p += cmLen;
  const hello: ClientHello = {
    legacyVersion,
    sessionId,
    cipherSuites,
    serverName: null,
    alpn: [],
    sessionTicket: null,
    pskIdentities: [],
    supportedVersions: [],
    signatureAlgorithms: [],
    supportedGroups: [],
  };
  if (p === end) return { ok: true, hello }; // a TLS ≤ 1.2 hello may have no extensions
  if (p + 2 > end || p + 2 + b.readUInt16BE(p) !== end) return helloError('malformed');
  p += 2;
  let seen = 0;
  let pskSeen = false;
  while (p < end) {
    if (p + 4 > end) return helloError('malformed');
    const type = b.readUInt16BE(p);
    const s = p + 4;
    const e = s + b.readUInt16BE(p + 2);
    if (e > end) return helloError('malformed');
    // pre_shared_key MUST be the last extension (RFC 8446 §4.2.11)
    if (pskSeen) return helloError('malformed');
    const bit = SEEN_BIT[type];
    if (bit !== undefined) {
      if ((seen & bit) !== 0) return helloError('duplicate-extension');
      seen |= bit;
      switch (type) {
        case EXT_SERVER_NAME: {
          const name = readServerName(b, s, e);
          if (name === null) return helloError('bad-server-name');
          hello.serverName = name;
          break;
        }
        case EXT_ALPN: {
          const alpn = readAlpn(b, s, e);
          if (alpn === null) return helloError('malformed');
          hello.alpn = alpn;
          break;
        }
        case EXT_SESSION_TICKET:
          hello.sessionTicket = b.subarray(s, e);
          break;
        case EXT_PRE_SHARED_KEY: {
          const ids = readPskIdentities(b, s, e);
          if (ids === null) return helloError('malformed');
          hello.pskIdentities = ids;
          pskSeen = true;
          break;
        }
        default: {
          const list = readU16Vector(b, s, e, type === EXT_SUPPORTED_VERSIONS ? 1 : 2);
          if (list === null) return helloError('malformed');
          if (type === EXT_SUPPORTED_VERSIONS) hello.supportedVersions = list;
          else if (type === EXT_SIGNATURE_ALGORITHMS) hello.signatureAlgorithms = list;
          else hello.supportedGroups = list;
        }
      }
    }
    p = e;
  }
  return { ok: true, hello };
}
