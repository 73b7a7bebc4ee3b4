/**
 * The response head a node sends back (spec: http-router.md §7, §8): a streaming reader
 * that finds its exact CR LF CR LF within a bound, and the inspection that validates it
 * and collects the facts the router's keepalive / rewrite decision needs. Pure, never
 * throws on bad bytes.
 *
 * Only a valid HTTP/1.x head is relayed (uWSGI relays whatever the node wrote; a real
 * uWSGI node always writes a valid head, so nothing it sends is refused). Invalid, with
 * the reason the router logs before answering 502:
 * - status line not `HTTP/1.0|1.1 SP 3DIGIT [SP reason]`, or a status outside 100–599;
 * - a line ending in a bare LF, a header line that is not `token ":" value` (whitespace
 *   before the colon included), obs-fold, control bytes (NUL, bare CR) in a value;
 * - Content-Length that is not digits, two differing Content-Lengths, Content-Length
 *   together with Transfer-Encoding (RFC 9112 §6.3: a smuggling sign);
 * - no end of head within the bound (`head-too-large`).
 */

export const DEFAULT_MAX_RESPONSE_HEAD = 65536;

export type ResponseHeadError =
  | 'bad-status-line'
  | 'bad-status-code'
  | 'bare-lf'
  | 'obs-fold'
  | 'bad-header-line'
  | 'bad-header-value'
  | 'bad-content-length'
  | 'conflicting-content-length'
  | 'content-length-and-transfer-encoding'
  | 'head-too-large';

export interface ResponseHeadFacts {
  /** bytes of the head including the final CR LF CR LF */
  headSize: number;
  /** why the head is not valid HTTP/1.x (then nothing of it may reach the client) */
  error: ResponseHeadError | null;
  /** the status line starts with `HTTP/1.1` (spec §7) */
  http11: boolean;
  /** 0 when the status line is invalid */
  status: number;
  /** -1 when absent */
  contentLength: number;
  hasTransferEncoding: boolean;
  /** the final transfer coding is chunked */
  transferChunked: boolean;
  hasConnection: boolean;
  connectionClose: boolean;
  /** a hop-by-hop field (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade) is present */
  hopByHop: boolean;
  /** a `Trailers` (uWSGI) or `Trailer` header */
  hasTrailers: boolean;
  hasContentEncoding: boolean;
  /** `uWSGI-Encoding: gzip` (spec §8) */
  uwsgiEncodingGzip: boolean;
}

export type ResponseHeadResult =
  | { state: 'need-more' }
  | { state: 'done'; head: Buffer; facts: ResponseHeadFacts; rest: Buffer }
  /** no valid end of head: `head-too-large` or `bare-lf` */
  | { state: 'error'; reason: ResponseHeadError };

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** RFC 9110 tchar */
const TCHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TCHAR[c] = 1;
for (const c of '"(),/:;<=>?@[\\]{}') TCHAR[c.charCodeAt(0)] = 0;

/** field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text */
const TEXT_OK = new Uint8Array(256);
TEXT_OK[HTAB] = 1;
for (let c = 0x20; c < 0x7f; c++) TEXT_OK[c] = 1;
for (let c = 0x80; c < 0x100; c++) TEXT_OK[c] = 1;

export function trimmedLower(buf: Buffer, s: number, e: number): string {
  while (s < e && (buf[s] === SP || buf[s] === HTAB)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HTAB)) e--;
  return buf.toString('latin1', s, e).toLowerCase();
}

export function nameIs(buf: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[s + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function hasToken(list: string, token: string): boolean {
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

function lastToken(list: string): string {
  const i = list.lastIndexOf(',');
  return (i < 0 ? list : list.slice(i + 1)).trim();
}

/** Content-Length value: 1*DIGIT or a list of identical ones; -2 invalid, -3 differing. */
function contentLengthValue(v: string): number {
  let n = -1;
  for (const part of v.split(',')) {
    const t = part.trim();
    if (!/^[0-9]{1,15}$/.test(t)) return -2;
    const k = Number(t);
    if (n >= 0 && k !== n) return -3;
    n = k;
  }
  return n;
}

/** Status line `HTTP/1.x SP 3DIGIT [SP reason]` in buf[0, e): the status, or 0. */
function statusOf(buf: Buffer, e: number): number {
  if (e < 12 || buf.toString('latin1', 0, 7) !== 'HTTP/1.' || (buf[7] !== 48 && buf[7] !== 49)) return 0;
  if (buf[8] !== SP) return 0;
  let n = 0;
  for (let i = 9; i < 12; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) return 0;
    n = n * 10 + c - 48;
  }
  if (e > 12) {
    if (buf[12] !== SP) return 0;
    for (let i = 13; i < e; i++) if (TEXT_OK[buf[i]] !== 1) return 0;
  }
  return n;
}

function newFacts(end: number): ResponseHeadFacts {
  return {
    headSize: end,
    error: null,
    http11: false,
    status: 0,
    contentLength: -1,
    hasTransferEncoding: false,
    transferChunked: false,
    hasConnection: false,
    connectionClose: false,
    hopByHop: false,
    hasTrailers: false,
    hasContentEncoding: false,
    uwsgiEncodingGzip: false,
  };
}

/** Validates a complete head `buf[0, end)` and reads its facts (`error` set when invalid). */
export function inspectResponseHead(buf: Buffer, end: number): ResponseHeadFacts {
  const f = newFacts(end);
  const invalid = (why: ResponseHeadError): ResponseHeadFacts => {
    f.error = why;
    return f;
  };
  let le = buf.indexOf(LF);
  if (le < 0 || le >= end) return invalid('bad-status-line');
  if (le === 0 || buf[le - 1] !== CR) return invalid('bare-lf');
  f.status = statusOf(buf, le - 1);
  if (f.status === 0) return invalid('bad-status-line');
  if (f.status < 100 || f.status > 599) return invalid('bad-status-code');
  f.http11 = buf[7] === 49;
  let te = '';
  let p = le + 1;
  while (p < end) {
    le = buf.indexOf(LF, p);
    if (le < 0 || le >= end) return invalid('bare-lf');
    if (le === p || buf[le - 1] !== CR) return invalid('bare-lf');
    const e = le - 1;
    if (e === p) break; // the blank line
    const first = buf[p];
    if (first === SP || first === HTAB) return invalid('obs-fold');
    let colon = p;
    while (colon < e && TCHAR[buf[colon]] === 1) colon++;
    if (colon === p || colon === e || buf[colon] !== 58) return invalid('bad-header-line');
    for (let i = colon + 1; i < e; i++) if (TEXT_OK[buf[i]] !== 1) return invalid('bad-header-value');
    switch (colon - p) {
      case 14:
        if (nameIs(buf, p, colon, 'content-length')) {
          const n = contentLengthValue(trimmedLower(buf, colon + 1, e));
          if (n === -2) return invalid('bad-content-length');
          if (n === -3 || (f.contentLength >= 0 && f.contentLength !== n))
            return invalid('conflicting-content-length');
          f.contentLength = n;
        } else if (nameIs(buf, p, colon, 'uwsgi-encoding')) {
          if (trimmedLower(buf, colon + 1, e) === 'gzip') f.uwsgiEncodingGzip = true;
        }
        break;
      case 17:
        if (nameIs(buf, p, colon, 'transfer-encoding')) {
          f.hasTransferEncoding = true;
          const v = trimmedLower(buf, colon + 1, e);
          te = te === '' ? v : `${te}, ${v}`;
        }
        break;
      case 10:
        if (nameIs(buf, p, colon, 'connection')) {
          f.hasConnection = true;
          f.hopByHop = true;
          if (hasToken(trimmedLower(buf, colon + 1, e), 'close')) f.connectionClose = true;
        } else if (nameIs(buf, p, colon, 'keep-alive')) {
          f.hopByHop = true;
        }
        break;
      case 16:
        if (nameIs(buf, p, colon, 'proxy-connection')) f.hopByHop = true;
        else if (nameIs(buf, p, colon, 'content-encoding')) f.hasContentEncoding = true;
        break;
      case 8:
        if (nameIs(buf, p, colon, 'trailers')) f.hasTrailers = true;
        break;
      case 7:
        if (nameIs(buf, p, colon, 'trailer')) f.hasTrailers = true;
        else if (nameIs(buf, p, colon, 'upgrade')) f.hopByHop = true;
        break;
      case 2:
        if (nameIs(buf, p, colon, 'te')) f.hopByHop = true;
        break;
    }
    p = le + 1;
  }
  if (f.hasTransferEncoding && f.contentLength >= 0) return invalid('content-length-and-transfer-encoding');
  f.transferChunked = f.hasTransferEncoding && lastToken(te) === 'chunked';
  return f;
}

/**
 * Streaming finder of the response head's exact CR LF CR LF, bounded by `maxHeadSize`.
 * A bare LF ends the search at once (`bare-lf`): no valid head can follow.
 */
export class ResponseHeadReader {
  readonly maxHeadSize: number;
  private chunks: Buffer[] = [];
  private have = 0;
  private lineStart = 0;
  private lastByte = 0;
  private finished = false;

  constructor(maxHeadSize = DEFAULT_MAX_RESPONSE_HEAD) {
    this.maxHeadSize = maxHeadSize;
  }

  /** bytes held while waiting for the end of the head */
  get buffered(): number {
    return this.have;
  }

  /** Ready for the next response head (keepalive, or after a 1xx). */
  reset(): void {
    this.chunks = [];
    this.have = 0;
    this.lineStart = 0;
    this.lastByte = 0;
    this.finished = false;
  }

  push(chunk: Buffer): ResponseHeadResult {
    if (this.finished) return { state: 'need-more' };
    const base = this.have;
    let i = chunk.indexOf(LF);
    while (i >= 0) {
      const abs = base + i;
      if (abs >= this.maxHeadSize) break;
      if ((i > 0 ? chunk[i - 1] : this.lastByte) !== CR) return this.fail('bare-lf');
      if (abs - this.lineStart === 1) {
        // an empty line (CR LF) ends the head
        const size = abs + 1;
        const head =
          base === 0
            ? chunk.subarray(0, i + 1)
            : Buffer.concat([...this.chunks, chunk.subarray(0, i + 1)], size);
        const rest = chunk.subarray(i + 1);
        this.reset();
        this.finished = true;
        return { state: 'done', head, facts: inspectResponseHead(head, size), rest };
      }
      this.lineStart = abs + 1;
      i = chunk.indexOf(LF, i + 1);
    }
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    if (this.have >= this.maxHeadSize) return this.fail('head-too-large');
    return { state: 'need-more' };
  }

  private fail(reason: ResponseHeadError): ResponseHeadResult {
    this.reset();
    this.finished = true;
    return { state: 'error', reason };
  }
}
