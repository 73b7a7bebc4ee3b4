/**
 * The uWSGI cache UDP sync packet (spec: ssl-sni-sessions.md §7). Pure: Buffer in, result
 * out; decoding never throws on bad bytes. Not a uwsgi vars block but raw fields after the
 * 4-byte uwsgi header (modifier1 111):
 *
 *   set/update: 6f <u16le size> 0a <u16le klen> key <u16le vlen> value <u16le elen> expires
 *   delete:     6f <u16le size> 0b <u16le klen> key
 *
 * `size` counts the bytes after the header; `expires` is decimal ASCII absolute epoch
 * seconds (0 = never) and may be absent. Key and value are binary (TLS session ids are raw
 * bytes); the decoded fields are views into the datagram, never copies.
 */

/** byte 0 of every cache sync packet */
export const CACHE_SYNC_MODIFIER1 = 111;
/** byte 3: set-or-update */
export const CACHE_SYNC_SET = 10;
/** byte 3: delete */
export const CACHE_SYNC_DELETE = 11;
/** the 4-byte uwsgi header */
const HEADER = 4;
/** `size` is 16 bits: the largest packet is 4 + 65535 bytes */
export const CACHE_SYNC_MAX_BODY = 0xffff;
/** decimal digits of the largest u64 (uWSGI prints expires with UMAX64_STR) */
const MAX_EXPIRES_DIGITS = 20;

/**
 * One change of a cache, as the UDP sync carries it and as a cluster primary would send it
 * to its workers (DESIGN.md "One table of state, replicated"): the same shape both ways.
 */
export type CacheDelta =
  | {
      op: 'set';
      key: Buffer;
      value: Buffer;
      /** absolute epoch seconds; 0 = never expires */
      expires: number;
    }
  | { op: 'delete'; key: Buffer };

/** Why a datagram is not a cache sync packet (stats count them by this name). */
export type CacheSyncError =
  /** shorter than a header, or byte 0 is not 111: not for us (uWSGI ignores these too) */
  | 'not-cache-packet'
  /** header size ≠ datagram length − 4 (uWSGI ignores these) */
  | 'bad-size'
  /** byte 3 is neither 10 nor 11 */
  | 'unknown-command'
  /** a length field points past the end, or bytes are left over */
  | 'truncated'
  | 'trailing-bytes'
  | 'empty-key'
  | 'empty-value'
  /** expires is not 1..20 decimal digits */
  | 'bad-expires';

export type CacheSyncDecodeResult = { ok: true; delta: CacheDelta } | { ok: false; error: CacheSyncError };

export type CacheSyncEncodeResult = { ok: true; packet: Buffer } | { ok: false; error: string };

function fail(error: CacheSyncError): CacheSyncDecodeResult {
  return { ok: false, error };
}

/**
 * Decimal ASCII → number, or -1. uWSGI's reader (uwsgi_str_num) skips non-digits; a sender
 * only ever writes digits, so anything else is refused here.
 */
function parseExpires(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > MAX_EXPIRES_DIGITS) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return Number.isSafeInteger(v) ? v : -1;
}

/**
 * Decodes one datagram. Stricter than uWSGI's receiver only where no uWSGI sender differs:
 * uWSGI writes exact lengths and digits, so trailing bytes and non-digit expiries are
 * refused; an absent expires field (which uWSGI's reader allows) means 0.
 */
export function decodeCacheSync(buf: Buffer): CacheSyncDecodeResult {
  if (buf.length < HEADER || buf[0] !== CACHE_SYNC_MODIFIER1) return fail('not-cache-packet');
  const size = buf[1] | (buf[2] << 8);
  if (size !== buf.length - HEADER) return fail('bad-size');
  const cmd = buf[3];
  if (cmd !== CACHE_SYNC_SET && cmd !== CACHE_SYNC_DELETE) return fail('unknown-command');
  let at = HEADER;
  if (at + 2 > buf.length) return fail('truncated');
  const klen = buf[at] | (buf[at + 1] << 8);
  at += 2;
  if (at + klen > buf.length) return fail('truncated');
  if (klen === 0) return fail('empty-key');
  const key = buf.subarray(at, at + klen);
  at += klen;
  if (cmd === CACHE_SYNC_DELETE) {
    if (at !== buf.length) return fail('trailing-bytes');
    return { ok: true, delta: { op: 'delete', key } };
  }
  if (at + 2 > buf.length) return fail('truncated');
  const vlen = buf[at] | (buf[at + 1] << 8);
  at += 2;
  if (at + vlen > buf.length) return fail('truncated');
  if (vlen === 0) return fail('empty-value');
  const value = buf.subarray(at, at + vlen);
  at += vlen;
  let expires = 0;
  if (at < buf.length) {
    if (at + 2 > buf.length) return fail('truncated');
    const elen = buf[at] | (buf[at + 1] << 8);
    at += 2;
    if (at + elen > buf.length) return fail('truncated');
    expires = parseExpires(buf, at, at + elen);
    if (expires < 0) return fail('bad-expires');
    at += elen;
    if (at !== buf.length) return fail('trailing-bytes');
  }
  return { ok: true, delta: { op: 'set', key, value, expires } };
}

/**
 * Encodes a delta as uWSGI sends it: set with the expires field always present (`0` =
 * never), delete with the key only. Refuses what the 16-bit fields cannot carry (uWSGI
 * truncates vlen to 16 bits and sends a corrupt packet instead).
 */
export function encodeCacheSync(delta: CacheDelta): CacheSyncEncodeResult {
  const key = delta.key;
  if (key.length === 0) return { ok: false, error: 'empty key' };
  if (delta.op === 'delete') {
    const body = 2 + key.length;
    if (body > CACHE_SYNC_MAX_BODY) return { ok: false, error: `key of ${key.length} bytes does not fit` };
    const out = Buffer.allocUnsafe(HEADER + body);
    out[0] = CACHE_SYNC_MODIFIER1;
    out.writeUInt16LE(body, 1);
    out[3] = CACHE_SYNC_DELETE;
    out.writeUInt16LE(key.length, 4);
    key.copy(out, 6);
    return { ok: true, packet: out };
  }
  const value = delta.value;
  if (value.length === 0) return { ok: false, error: 'empty value' };
  if (!Number.isSafeInteger(delta.expires) || delta.expires < 0) {
    return { ok: false, error: `bad expires ${delta.expires}` };
  }
  const expires = String(delta.expires);
  const body = 2 + key.length + 2 + value.length + 2 + expires.length;
  if (body > CACHE_SYNC_MAX_BODY) {
    return {
      ok: false,
      error: `key (${key.length} bytes) and value (${value.length} bytes) do not fit a 64 KiB sync packet`,
    };
  }
  const out = Buffer.allocUnsafe(HEADER + body);
  out[0] = CACHE_SYNC_MODIFIER1;
  out.writeUInt16LE(body, 1);
  out[3] = CACHE_SYNC_SET;
  let at = HEADER;
  out.writeUInt16LE(key.length, at);
  at += 2;
  key.copy(out, at);
  at += key.length;
  out.writeUInt16LE(value.length, at);
  at += 2;
  value.copy(out, at);
  at += value.length;
  out.writeUInt16LE(expires.length, at);
  at += 2;
  out.write(expires, at, 'latin1');
  return { ok: true, packet: out };
}
