/**
 * The uwsgi packet codec: 4-byte header + vars block (spec: uwsgi-protocol.md §1–2).
 * Pure functions over Buffers; nothing here throws on bad bytes: parsers return results.
 *
 * Strings at this layer are "binary strings" (latin1): one char per byte, so any byte
 * sequence round-trips. Callers holding UTF-8 text encode it to a Buffer first.
 */

export const UWSGI_HEADER_SIZE = 4;
export const UWSGI_MAX_DATASIZE = 0xffff;

export interface UwsgiHeader {
  modifier1: number;
  datasize: number;
  modifier2: number;
}

export type VarsErrorReason = 'empty-key' | 'truncated-entry' | 'trailing-bytes';

export interface VarsError {
  ok: false;
  code: 'UWR_ERR_BAD_PACKET';
  reason: VarsErrorReason;
  /** offset (in the buffer given) where the bad entry starts */
  offset: number;
}

/** Reads the header at `offset`; null when fewer than 4 bytes are there. */
export function decodeHeader(buf: Uint8Array, offset = 0): UwsgiHeader | null {
  if (buf.length - offset < UWSGI_HEADER_SIZE) return null;
  return {
    modifier1: buf[offset],
    datasize: buf[offset + 1] | (buf[offset + 2] << 8),
    modifier2: buf[offset + 3],
  };
}

export function encodeHeader(modifier1: number, datasize: number, modifier2: number): Buffer {
  const h = Buffer.allocUnsafe(UWSGI_HEADER_SIZE);
  writeHeader(h, 0, modifier1, datasize, modifier2);
  return h;
}

export function writeHeader(
  buf: Uint8Array,
  offset: number,
  modifier1: number,
  datasize: number,
  modifier2: number,
): void {
  buf[offset] = modifier1 & 0xff;
  buf[offset + 1] = datasize & 0xff;
  buf[offset + 2] = (datasize >>> 8) & 0xff;
  buf[offset + 3] = modifier2 & 0xff;
}

/**
 * Called once per var with the byte ranges of key and value inside the scanned buffer.
 * Return `false` to stop the walk early.
 */
export type VarVisitor = (
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  valStart: number,
  valEnd: number,
) => boolean | undefined;

/**
 * Walks the vars block `buf[start, end)` without allocating, with uWSGI's rules:
 * a zero-length key, an entry running past the end, or 1–2 stray bytes at the end are
 * errors; entries delivered before the error stay delivered (the caller decides whether
 * to use them, as uWSGI's routers do).
 */
export function walkVars(buf: Buffer, start: number, end: number, visit: VarVisitor): true | VarsError {
  let p = start;
  while (p < end) {
    if (end - p <= 2) return { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'trailing-bytes', offset: p };
    const klen = buf[p] | (buf[p + 1] << 8);
    if (klen === 0) return { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'empty-key', offset: p };
    const ks = p + 2;
    const ke = ks + klen;
    if (ke + 2 > end) return { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'truncated-entry', offset: p };
    const vlen = buf[ke] | (buf[ke + 1] << 8);
    const vs = ke + 2;
    const ve = vs + vlen;
    if (ve > end) return { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'truncated-entry', offset: p };
    if (visit(buf, ks, ke, vs, ve) === false) return true;
    p = ve;
  }
  return true;
}

export type UwsgiVar = [key: string, value: string];

export interface DecodedVars {
  /** entries in wire order (duplicates kept), latin1 strings */
  vars: UwsgiVar[];
  /** set when the block was malformed after `vars` */
  error?: VarsError;
}

/** Decodes a whole vars block into [key, value] pairs (latin1). */
export function decodeVars(buf: Buffer, start = 0, end = buf.length): DecodedVars {
  const vars: UwsgiVar[] = [];
  const r = walkVars(buf, start, end, (b, ks, ke, vs, ve) => {
    vars.push([b.toString('latin1', ks, ke), b.toString('latin1', vs, ve)]);
    return true;
  });
  return r === true ? { vars } : { vars, error: r };
}

export interface DecodedPacket {
  header: UwsgiHeader;
  vars: UwsgiVar[];
  /** bytes after the vars block (request body start), a view into the input */
  body: Buffer;
  error?: VarsError | { ok: false; code: 'UWR_ERR_BAD_PACKET'; reason: 'short-header' | 'short-vars' };
}

/** Decodes a complete packet held in one buffer (header + vars [+ body]). */
export function decodePacket(buf: Buffer): DecodedPacket {
  const header = decodeHeader(buf);
  if (!header) {
    return {
      header: { modifier1: 0, datasize: 0, modifier2: 0 },
      vars: [],
      body: Buffer.alloc(0),
      error: { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'short-header' },
    };
  }
  const end = UWSGI_HEADER_SIZE + header.datasize;
  if (end > buf.length) {
    const d = decodeVars(buf, UWSGI_HEADER_SIZE, buf.length);
    return {
      header,
      vars: d.vars,
      body: Buffer.alloc(0),
      error: { ok: false, code: 'UWR_ERR_BAD_PACKET', reason: 'short-vars' },
    };
  }
  const d = decodeVars(buf, UWSGI_HEADER_SIZE, end);
  return { header, vars: d.vars, body: buf.subarray(end), error: d.error };
}

type VarValue = string | Buffer;

function byteLen(v: VarValue): number {
  return typeof v === 'string' ? Buffer.byteLength(v, 'latin1') : v.length;
}

/** Size in bytes of the vars block for these entries. */
export function varsSize(vars: Iterable<readonly [VarValue, VarValue]>): number {
  let n = 0;
  for (const [k, v] of vars) n += 4 + byteLen(k) + byteLen(v);
  return n;
}

function putVar(out: Buffer, p: number, v: VarValue): number {
  const len = byteLen(v);
  out[p] = len & 0xff;
  out[p + 1] = len >>> 8;
  if (typeof v === 'string') out.write(v, p + 2, len, 'latin1');
  else v.copy(out, p + 2);
  return p + 2 + len;
}

export type EncodeResult =
  | { ok: true; packet: Buffer }
  | { ok: false; code: 'UWR_ERR_PACKET_TOO_LARGE'; size: number };

/**
 * Encodes header + vars. Keys must be 1..65535 bytes, values 0..65535 bytes and the
 * block ≤ 65535 bytes; anything else is refused (never silently truncated).
 */
export function encodePacket(
  modifier1: number,
  vars: ReadonlyArray<readonly [VarValue, VarValue]>,
  modifier2 = 0,
): EncodeResult {
  const size = varsSize(vars);
  if (size > UWSGI_MAX_DATASIZE) return { ok: false, code: 'UWR_ERR_PACKET_TOO_LARGE', size };
  for (const [k, v] of vars) {
    const kl = byteLen(k);
    if (kl === 0 || kl > 0xffff || byteLen(v) > 0xffff) {
      return { ok: false, code: 'UWR_ERR_PACKET_TOO_LARGE', size };
    }
  }
  const out = Buffer.allocUnsafe(UWSGI_HEADER_SIZE + size);
  writeHeader(out, 0, modifier1, size, modifier2);
  let p = UWSGI_HEADER_SIZE;
  for (const [k, v] of vars) {
    p = putVar(out, p, k);
    p = putVar(out, p, v);
  }
  return { ok: true, packet: out };
}

/** Parses an ASCII decimal var value as uWSGI would, without its garbage: leading digits, else 0. */
export function parseDecimal(s: string | Buffer, start = 0, end = s.length): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = typeof s === 'string' ? s.charCodeAt(i) : s[i];
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    if (n > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  }
  return n;
}
