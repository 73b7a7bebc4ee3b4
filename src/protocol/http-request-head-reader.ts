/**
 * The incremental request-head reader: finds the exact CR LF CR LF over chunks of any
 * split, bounded by maxHeadSize, then hands the head to `parseRequestHead`.
 */
import {
  DEFAULT_MAX_HEAD_SIZE,
  fail,
  type HeadError,
  type HeadReadResult,
  type HttpHeadOptions,
  parseRequestHead,
} from './http-request-head.ts';

const CR = 13;
const LF = 10;
const IDLE = 0;
const DONE = 1;
const FAILED = 2;

/**
 * Streaming reader of one request head. Memory is bounded by maxHeadSize plus one
 * chunk. After `done`/`error` further pushes are ignored until `reset()` (keepalive:
 * the session resets it for the next request).
 */
const MAX_LEADING_EMPTY_LINES = 2;
const CR_BYTE = Buffer.from([CR]);

export class HttpRequestHeadReader {
  readonly options: HttpHeadOptions;
  readonly maxHeadSize: number;
  private state = IDLE;
  private chunks: Buffer[] = [];
  private have = 0;
  /** absolute offset where the current line starts */
  private lineStart = 0;
  private lastByte = 0;
  /** empty lines skipped before this head (MAX_LEADING_EMPTY_LINES = skipping is over) */
  private leadingLines = 0;
  private pendingCr = false;

  constructor(options: HttpHeadOptions = {}) {
    this.options = options;
    this.maxHeadSize = options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE;
  }

  /** bytes held while waiting for the end of the head */
  get buffered(): number {
    return this.have;
  }

  reset(): void {
    this.state = IDLE;
    this.chunks = [];
    this.have = 0;
    this.lineStart = 0;
    this.lastByte = 0;
    this.leadingLines = 0;
    this.pendingCr = false;
  }

  push(chunk: Buffer): HeadReadResult {
    if (this.state !== IDLE) return { state: 'need-more' };
    if (this.leadingLines < MAX_LEADING_EMPTY_LINES) {
      const c = this.skipLeadingEmptyLines(chunk);
      if (c === null) return { state: 'need-more' };
      chunk = c;
    }
    const base = this.have;
    let i = chunk.indexOf(LF);
    while (i >= 0) {
      const prev = i > 0 ? chunk[i - 1] : this.lastByte;
      // spec §1: uWSGI never sees the end of a bare-LF head and hangs; answer 400 now.
      if (prev !== CR) return this.error(fail('bare-lf'));
      const abs = base + i;
      if (abs - this.lineStart === 1) return this.finish(chunk, i + 1, abs + 1);
      this.lineStart = abs + 1;
      if (this.lineStart > this.maxHeadSize) break;
      i = chunk.indexOf(LF, i + 1);
    }
    if (base + chunk.length >= this.maxHeadSize) return this.error(fail('head-too-large'));
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.have += chunk.length;
      this.lastByte = chunk[chunk.length - 1];
    }
    return { state: 'need-more' };
  }

  /**
   * RFC 9112 §2.2: empty lines before the request line are ignored (a stray CRLF after a
   * POST body on a keepalive connection), at most MAX_LEADING_EMPTY_LINES, whatever the
   * split. Returns the bytes left to parse, or null when the chunk was all skipped.
   */
  private skipLeadingEmptyLines(chunk: Buffer): Buffer | null {
    let c = chunk;
    while (this.leadingLines < MAX_LEADING_EMPTY_LINES) {
      if (this.pendingCr) {
        if (c.length === 0) return null;
        this.pendingCr = false;
        if (c[0] !== LF) {
          // a lone CR: give it back to the parser, which refuses it
          this.leadingLines = MAX_LEADING_EMPTY_LINES;
          return Buffer.concat([CR_BYTE, c]);
        }
        c = c.subarray(1);
        this.leadingLines++;
        continue;
      }
      if (c.length === 0) return null;
      if (c[0] !== CR) break;
      if (c.length === 1) {
        this.pendingCr = true;
        return null;
      }
      if (c[1] !== LF) break;
      c = c.subarray(2);
      this.leadingLines++;
    }
    // the head has started: no more skipping for it
    this.leadingLines = MAX_LEADING_EMPTY_LINES;
    return c;
  }

  private finish(chunk: Buffer, cut: number, size: number): HeadReadResult {
    if (size > this.maxHeadSize) return this.error(fail('head-too-large'));
    const buf =
      this.have === 0
        ? chunk.subarray(0, cut)
        : Buffer.concat([...this.chunks, chunk.subarray(0, cut)], size);
    const rest = chunk.subarray(cut);
    this.chunks = [];
    this.have = 0;
    const r = parseRequestHead(buf, size, this.options);
    if (!r.ok) return this.error(r);
    this.state = DONE;
    return { state: 'done', head: r.head, rest };
  }

  private error(e: HeadError): HeadReadResult {
    this.state = FAILED;
    this.chunks = [];
    this.have = 0;
    return { state: 'error', code: e.code, status: e.status, reason: e.reason };
  }
}
