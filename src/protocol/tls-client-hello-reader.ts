/**
 * Streaming reader of the first TLS flight: TLS records (RFC 8446 §5.1) carrying one
 * ClientHello, fed socket chunks of any size or split. A ClientHello may span several
 * handshake records (large PSK tickets, post-quantum key shares, DPI-evading clients);
 * the total is bounded (maxHelloSize of handshake bytes, maxRecords records, the declared
 * length refused as soon as the 4-byte handshake header is in), so a client that never
 * finishes its hello holds at most about 2 × (maxHelloSize + 5 × maxRecords) bytes (raw and
 * reassembled; ~33 KiB with the defaults) plus one socket chunk, and the caller's timer.
 *
 * Recognises "not TLS at all" from the first bytes (an HTTP request on the TLS port, a
 * port scanner), so the caller can answer or close cheaply. Never throws; after `done` or
 * `error` the reader is spent and `push` returns that same result again.
 *
 * The bytes stay the caller's to replay: `received` is everything pushed so far (the
 * TLS socket that takes over must read them first).
 */
import {
  type ClientHello,
  type ClientHelloError,
  type ClientHelloErrorReason,
  helloError,
  parseClientHelloBody,
} from './tls-client-hello.ts';

export const TLS_RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
/** largest plaintext record fragment (RFC 8446 §5.1: 2^14) */
const MAX_RECORD_PAYLOAD = 16384;

export const DEFAULT_MAX_HELLO_SIZE = 16384;
export const DEFAULT_MAX_HELLO_RECORDS = 64;

export interface ClientHelloReaderOptions {
  /** largest ClientHello body accepted (handshake header excluded); default 16384 */
  maxHelloSize?: number;
  /** most records the ClientHello may be split into; default 64 */
  maxRecords?: number;
}

export type ClientHelloReadResult =
  | { state: 'need-more' }
  | {
      state: 'done';
      hello: ClientHello;
      /** every byte pushed so far, the hello's records first (a view when one chunk held it all) */
      received: Buffer;
      /** bytes of `received` that are the records carrying the ClientHello */
      helloLength: number;
    }
  | ({ state: 'error' } & Omit<ClientHelloError, 'ok'>);

/** A handshake record of version 3.0–3.4 with 1..2^14 payload bytes, else true. */
function recordHeaderError(buf: Buffer, h: number): boolean {
  const len = buf.readUInt16BE(h + 3);
  return (
    buf[h] !== CONTENT_HANDSHAKE ||
    buf[h + 1] !== 3 ||
    buf[h + 2] > 4 ||
    len === 0 ||
    len > MAX_RECORD_PAYLOAD
  );
}

const READING = 0;
const FINISHED = 1;

/** longest method token looked at before deciding "plain HTTP" (PROPFIND, MKCALENDAR, …) */
const MAX_METHOD = 16;

/** What the first bytes say about a connection that should speak TLS. */
function classifyStart(buf: Buffer, have: number): ClientHelloErrorReason | 'tls' | 'need-more' {
  const b0 = buf[0];
  if (b0 === CONTENT_HANDSHAKE) return 'tls';
  if (b0 >= 0x41 && b0 <= 0x5a) {
    // An HTTP request line (or the h2c preface "PRI * HTTP/2.0"): upper-case token, space.
    for (let i = 1; i < have && i <= MAX_METHOD; i++) {
      const c = buf[i];
      if (c === 0x20) return 'plaintext-http';
      if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return 'not-tls';
    }
    return have > MAX_METHOD ? 'not-tls' : 'need-more';
  }
  if ((b0 & 0x80) !== 0) {
    // SSLv2 record: 2-byte length with the high bit set, then msg_type 1 = CLIENT-HELLO
    if (have < 3) return 'need-more';
    return buf[2] === 1 ? 'sslv2-hello' : 'not-tls';
  }
  return 'not-tls';
}

export class ClientHelloReader {
  readonly maxHelloSize: number;
  readonly maxRecords: number;
  private state = READING;
  private result: ClientHelloReadResult = { state: 'need-more' };
  /** raw bytes received (capacity grows by doubling; `have` are valid) */
  private raw: Buffer = Buffer.alloc(0);
  private have = 0;
  /** offset in `raw` of the next unread byte (record header or payload) */
  private pos = 0;
  /** payload bytes of the current record not read yet (0 = a header comes next) */
  private recordLeft = 0;
  /** handshake payload bytes gathered from the records so far */
  private hs: Buffer = Buffer.alloc(0);
  private hsHave = 0;
  private records = 0;

  constructor(options: ClientHelloReaderOptions = {}) {
    this.maxHelloSize = options.maxHelloSize ?? DEFAULT_MAX_HELLO_SIZE;
    this.maxRecords = options.maxRecords ?? DEFAULT_MAX_HELLO_RECORDS;
  }

  /** bytes held while waiting for the rest of the hello */
  get buffered(): number {
    return this.have;
  }

  push(chunk: Buffer): ClientHelloReadResult {
    if (this.state === FINISHED) return this.result;
    if (chunk.length === 0) return this.result;
    // Fast path: the whole hello in one record in the first chunk (almost every client).
    if (this.have === 0 && chunk.length >= TLS_RECORD_HEADER + 4 && chunk[0] === CONTENT_HANDSHAKE) {
      const fast = this.singleRecord(chunk);
      if (fast !== null) return fast;
    }
    this.append(chunk);
    return this.advance();
  }

  /** Parses a chunk holding one whole record with one whole ClientHello; null = take the slow path. */
  private singleRecord(chunk: Buffer): ClientHelloReadResult | null {
    const recLen = chunk.readUInt16BE(3);
    if (recordHeaderError(chunk, 0) || recLen < 4) return null;
    const bodyLen = chunk.readUIntBE(6, 3);
    if (chunk[5] !== HANDSHAKE_CLIENT_HELLO || 4 + bodyLen !== recLen) return null;
    if (bodyLen > this.maxHelloSize || chunk.length < TLS_RECORD_HEADER + recLen) return null;
    const r = parseClientHelloBody(chunk.subarray(9, 9 + bodyLen));
    if (!r.ok) return this.fail(r.reason);
    this.state = FINISHED;
    this.result = { state: 'done', hello: r.hello, received: chunk, helloLength: TLS_RECORD_HEADER + recLen };
    return this.result;
  }

  private append(chunk: Buffer): void {
    const need = this.have + chunk.length;
    if (need > this.raw.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.raw.length * 2, 512));
      this.raw.copy(grown, 0, 0, this.have);
      this.raw = grown;
    }
    chunk.copy(this.raw, this.have);
    this.have = need;
  }

  private appendHandshake(s: number, e: number): void {
    const need = this.hsHave + (e - s);
    if (need > this.hs.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.hs.length * 2, 512));
      this.hs.copy(grown, 0, 0, this.hsHave);
      this.hs = grown;
    }
    this.raw.copy(this.hs, this.hsHave, s, e);
    this.hsHave = need;
  }

  private advance(): ClientHelloReadResult {
    if (this.records === 0) {
      const start = classifyStart(this.raw, this.have);
      if (start === 'need-more') return this.result;
      if (start !== 'tls') return this.fail(start);
    }
    for (;;) {
      if (this.recordLeft === 0) {
        if (this.have - this.pos < TLS_RECORD_HEADER) return this.result;
        const h = this.pos;
        const bad = recordHeaderError(this.raw, h);
        if (bad) return this.fail('bad-record');
        if (++this.records > this.maxRecords) return this.fail('too-fragmented');
        this.recordLeft = this.raw.readUInt16BE(h + 3);
        this.pos = h + TLS_RECORD_HEADER;
      }
      // Take what has arrived of the record's payload: the handshake header is checked
      // as soon as its 4 bytes are in, not when a (maybe never completed) record ends.
      const n = Math.min(this.have - this.pos, this.recordLeft);
      if (n === 0) return this.result;
      this.appendHandshake(this.pos, this.pos + n);
      this.pos += n;
      this.recordLeft -= n;
      const r = this.checkHandshake();
      if (r !== null) return r;
    }
  }

  /** After each piece of payload: is the handshake message complete (or already wrong)? */
  private checkHandshake(): ClientHelloReadResult | null {
    const hs = this.hs;
    if (hs[0] !== HANDSHAKE_CLIENT_HELLO) return this.fail('not-client-hello');
    if (this.hsHave < 4) return null;
    const bodyLen = hs.readUIntBE(1, 3);
    if (bodyLen > this.maxHelloSize) return this.fail('too-large');
    if (this.hsHave < 4 + bodyLen) return null;
    // The ClientHello is the only message of its flight: nothing may follow it in its record.
    if (this.hsHave > 4 + bodyLen || this.recordLeft > 0) return this.fail('malformed');
    const r = parseClientHelloBody(hs.subarray(4, 4 + bodyLen));
    if (!r.ok) return this.fail(r.reason);
    this.state = FINISHED;
    this.result = {
      state: 'done',
      hello: r.hello,
      received: this.raw.subarray(0, this.have),
      helloLength: this.pos,
    };
    return this.result;
  }

  private fail(reason: ClientHelloErrorReason): ClientHelloReadResult {
    const e = helloError(reason);
    this.state = FINISHED;
    this.raw = Buffer.alloc(0);
    this.have = 0;
    this.hs = Buffer.alloc(0);
    this.hsHave = 0;
    this.result = { state: 'error', code: e.code, reason: e.reason };
    return this.result;
  }
}

/** One-shot: the ClientHello in `bytes` (need-more when they end before it does). */
export function readClientHello(bytes: Buffer, options?: ClientHelloReaderOptions): ClientHelloReadResult {
  return new ClientHelloReader(options).push(bytes);
}
