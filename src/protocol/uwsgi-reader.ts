/**
 * Streaming reader for one uwsgi request head (header + vars block), fed socket chunks of
 * any size or split (spec: uwsgi-protocol.md §7 step 1). An integer state machine like
 * ws's Receiver: no socket in sight, so it is tested by feeding bytes.
 */
import { decodeHeader, UWSGI_HEADER_SIZE, type UwsgiHeader } from './uwsgi.ts';

const NEED_HEADER = 0;
const NEED_VARS = 1;
const DONE = 2;
const FAILED = 3;

export type ReaderResult =
  | { state: 'need-more' }
  | {
      state: 'done';
      header: UwsgiHeader;
      /** header + vars block, exactly 4 + datasize bytes (its own memory or a view of the input) */
      head: Buffer;
      /** bytes received after the head (start of the body), possibly empty */
      rest: Buffer;
    }
  | { state: 'error'; code: 'UWR_ERR_PACKET_TOO_LARGE'; datasize: number; limit: number };

export class UwsgiHeadReader {
  /** largest vars block accepted (the fastrouter's `buffer-size` bound) */
  readonly maxVars: number;
  private state = NEED_HEADER;
  private chunks: Buffer[] = [];
  private have = 0;
  private need = UWSGI_HEADER_SIZE;
  private header: UwsgiHeader | null = null;

  constructor(maxVars = 0xffff) {
    this.maxVars = maxVars;
  }

  /** Bytes buffered so far (bounded by 4 + maxVars + one chunk). */
  get buffered(): number {
    return this.have;
  }

  push(chunk: Buffer): ReaderResult {
    if (this.state === DONE || this.state === FAILED) return { state: 'need-more' };
    // Fast path: the whole head arrives in the first chunk (the usual case).
    if (this.have === 0 && chunk.length >= UWSGI_HEADER_SIZE) {
      const h = decodeHeader(chunk)!;
      if (h.datasize > this.maxVars) return this.fail(h.datasize);
      const end = UWSGI_HEADER_SIZE + h.datasize;
      if (chunk.length >= end) {
        this.state = DONE;
        return { state: 'done', header: h, head: chunk.subarray(0, end), rest: chunk.subarray(end) };
      }
    }
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return { state: 'need-more' };
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    this.chunks = [all];
    if (this.state === NEED_HEADER) {
      this.header = decodeHeader(all)!;
      if (this.header.datasize > this.maxVars) return this.fail(this.header.datasize);
      this.state = NEED_VARS;
      this.need = UWSGI_HEADER_SIZE + this.header.datasize;
      if (this.have < this.need) return { state: 'need-more' };
    }
    this.state = DONE;
    this.chunks = [];
    return {
      state: 'done',
      header: this.header!,
      head: all.subarray(0, this.need),
      rest: all.subarray(this.need),
    };
  }

  private fail(datasize: number): ReaderResult {
    this.state = FAILED;
    this.chunks = [];
    return { state: 'error', code: 'UWR_ERR_PACKET_TOO_LARGE', datasize, limit: this.maxVars };
  }
}
