/**
 * HTTP/1.1 chunked transfer coding (RFC 9112 §7.1).
 *
 * Encoder (spec: http-router.md §7 auto-chunked, §8 auto-gzip): size in **uppercase** hex
 * as uWSGI writes it (`F\r\n…\r\n`), final `0\r\n\r\n`; it yields the frame pieces around
 * the payload so the payload itself is never copied (write them corked).
 *
 * Parser: incremental, bounded (size line, trailer section, optional body limit), used to
 * account `http-chunked-input` bodies and to find where a chunked body ends. Never throws.
 */

const CR = 13;
const LF = 10;

export const CHUNK_END = Buffer.from('\r\n', 'latin1');
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

const headerCache = new Map<number, Buffer>();

/** `HEX\r\n` for a chunk of `size` (> 0) bytes. */
export function chunkHeader(size: number): Buffer {
  let h = headerCache.get(size);
  if (h === undefined) {
    h = Buffer.from(`${size.toString(16).toUpperCase()}\r\n`, 'latin1');
    if (headerCache.size < 256) headerCache.set(size, h);
  }
  return h;
}

/**
 * The buffers that carry `payload` as one chunk: [header, payload, CR LF]. An empty
 * payload yields no chunk at all (a zero-size chunk would end the body).
 */
export function frameChunk(payload: Buffer): Buffer[] {
  return payload.length === 0 ? [] : [chunkHeader(payload.length), payload, CHUNK_END];
}

export type ChunkedErrorReason =
  | 'bad-chunk-size'
  | 'chunk-size-too-large'
  | 'chunk-line-too-long'
  | 'bad-chunk-extension'
  | 'missing-chunk-crlf'
  | 'bare-lf'
  | 'bad-trailer'
  | 'trailer-too-large'
  | 'body-too-large';

export type ChunkedResult =
  | { state: 'need-more' }
  /** the body ended after `consumed` bytes of the last chunk pushed (the rest is not body) */
  | { state: 'done'; consumed: number }
  | {
      state: 'error';
      code: 'UWR_ERR_BAD_REQUEST' | 'UWR_ERR_BODY_TOO_LARGE';
      status: 400 | 413;
      reason: ChunkedErrorReason;
    };

export interface ChunkedParserOptions {
  /** largest chunk-size line incl. extensions (default 4096) */
  maxLineSize?: number;
  /** largest trailer section (default 16384) */
  maxTrailerSize?: number;
  /** largest total payload (default unlimited) → 413 */
  maxBodySize?: number;
  /** receives each payload slice (views of the pushed chunks) */
  onData?: (data: Buffer) => void;
}

const SIZE = 0;
const SIZE_WS = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7;
const TRAILER_LINE = 8;
const TRAILER_LF = 9;
const LAST_LF = 10;
const DONE = 11;
const FAILED = 12;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export class ChunkedBodyParser {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private remaining = 0;
  private total = 0;
  private readonly maxLine: number;
  private readonly maxTrailer: number;
  private readonly maxBody: number;
  private readonly onData: ((data: Buffer) => void) | undefined;

  constructor(options: ChunkedParserOptions = {}) {
    this.maxLine = options.maxLineSize ?? 4096;
    this.maxTrailer = options.maxTrailerSize ?? 16384;
    this.maxBody = options.maxBodySize ?? Number.MAX_SAFE_INTEGER;
    this.onData = options.onData;
  }

  /** payload bytes seen so far (without framing) */
  get bodyBytes(): number {
    return this.total;
  }

  get done(): boolean {
    return this.state === DONE;
  }

  reset(): void {
    this.state = SIZE;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.remaining = 0;
    this.total = 0;
  }

  push(chunk: Buffer): ChunkedResult {
    if (this.state === DONE || this.state === FAILED) return { state: 'need-more' };
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      const state = this.state;
      if (state === DATA) {
        const take = Math.min(this.remaining, len - i);
        if (this.onData) this.onData(chunk.subarray(i, i + take));
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = DATA_CR;
        continue;
      }
      const c = chunk[i++];
      if (state === SIZE || state === SIZE_WS || state === EXT) {
        if (++this.lineBytes > this.maxLine) return this.fail('chunk-line-too-long');
      } else if (
        state === TRAILER_START ||
        state === TRAILER_LINE ||
        state === TRAILER_LF ||
        state === LAST_LF
      ) {
        if (++this.trailerBytes > this.maxTrailer) return this.fail('trailer-too-large');
      }
      switch (state) {
        case SIZE: {
          const h = hexValue(c);
          if (h >= 0) {
            if (this.size > 0 || h > 0) this.digits++;
            // 13 hex digits stay below 2^53
            if (this.digits > 13) return this.fail('chunk-size-too-large');
            this.size = this.size * 16 + h;
            break;
          }
          if (this.lineBytes === 1) return this.fail('bad-chunk-size');
          if (c === CR) this.state = SIZE_LF;
          else if (c === 59) this.state = EXT;
          else if (c === 32 || c === 9) this.state = SIZE_WS;
          else return this.fail(c === LF ? 'bare-lf' : 'bad-chunk-size');
          break;
        }
        case SIZE_WS:
          if (c === 59) this.state = EXT;
          else if (c === CR) this.state = SIZE_LF;
          else if (c !== 32 && c !== 9) return this.fail(c === LF ? 'bare-lf' : 'bad-chunk-size');
          break;
        case EXT:
          if (c === CR) this.state = SIZE_LF;
          else if ((c < 32 && c !== 9) || c === 127)
            return this.fail(c === LF ? 'bare-lf' : 'bad-chunk-extension');
          break;
        case SIZE_LF:
          if (c !== LF) return this.fail('missing-chunk-crlf');
          if (this.size === 0) {
            this.state = TRAILER_START;
          } else {
            if (this.total + this.size > this.maxBody) return this.fail('body-too-large');
            this.total += this.size;
            this.remaining = this.size;
            this.state = DATA;
          }
          this.size = 0;
          this.digits = 0;
          this.lineBytes = 0;
          break;
        case DATA_CR:
          if (c !== CR) return this.fail('missing-chunk-crlf');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) return this.fail('missing-chunk-crlf');
          this.state = SIZE;
          break;
        case TRAILER_START:
          if (c === CR) this.state = LAST_LF;
          else if (c === LF || c < 32 || c === 127 || c === 32 || c === 9)
            return this.fail(c === LF ? 'bare-lf' : 'bad-trailer');
          else this.state = TRAILER_LINE;
          break;
        case TRAILER_LINE:
          if (c === CR) this.state = TRAILER_LF;
          else if ((c < 32 && c !== 9) || c === 127) return this.fail(c === LF ? 'bare-lf' : 'bad-trailer');
          break;
        case TRAILER_LF:
          if (c !== LF) return this.fail('bad-trailer');
          this.state = TRAILER_START;
          break;
        case LAST_LF:
          if (c !== LF) return this.fail('missing-chunk-crlf');
          this.state = DONE;
          return { state: 'done', consumed: i };
      }
    }
    return { state: 'need-more' };
  }

  private fail(reason: ChunkedErrorReason): ChunkedResult {
    this.state = FAILED;
    const big = reason === 'body-too-large';
    return {
      state: 'error',
      code: big ? 'UWR_ERR_BODY_TOO_LARGE' : 'UWR_ERR_BAD_REQUEST',
      status: big ? 413 : 400,
      reason,
    };
  }
}
