/**
 * Streams one request body from the client to the node with backpressure (spec:
 * http-router.md §5, corerouter.md §4): the client is paused while the node's write buffer
 * is full, so a body of any size is never held in memory. Knows where the body ends —
 * exactly Content-Length bytes, or the end of a chunked body (whose framing is forwarded
 * untouched, with `http-chunked-input`; without it the body is stored de-chunked first,
 * stored-body.ts) — and
 * hands back the bytes that came after it (the next request, if any).
 */
import type { Socket } from 'node:net';
import { ChunkedBodyParser, type ChunkedResult } from './chunked.ts';

export interface BodyOwner {
  /** the whole body was written to the node; `surplus` = client bytes read past its end */
  bodyDone(surplus: Buffer | null): void;
  /** the chunked framing was bad or the body is over `http-max-body` */
  bodyFailed(result: Extract<ChunkedResult, { state: 'error' }>): void;
}

/** where the body goes: the node socket, or a re-framer in front of it (chunk-reframer.ts) */
export interface BodySink {
  /** false = the node's buffer is full (wait for its `drain`) */
  write(data: Buffer): boolean;
}

const IDLE = 0;
const LENGTH = 1;
const CHUNKED = 2;

export class RequestBodyPump {
  private readonly client: Socket;
  private readonly owner: BodyOwner;
  private readonly parser: ChunkedBodyParser;
  private backend: BodySink | null = null;
  private mode = IDLE;
  private remaining = 0;
  /** the node's write buffer is full; the client is paused until `drain` */
  private blocked = false;
  /** bytes written to the node by this pump (the node's `rx`) */
  written = 0;
  /** true once a client read was needed (the body was not all in the first segment) */
  readFromClient = false;

  constructor(client: Socket, owner: BodyOwner, maxBody: number) {
    this.client = client;
    this.owner = owner;
    this.parser = new ChunkedBodyParser(maxBody > 0 ? { maxBodySize: maxBody } : {});
  }

  get active(): boolean {
    return this.mode !== IDLE;
  }

  /**
   * Starts a body of `length` bytes (or chunked when `length` is -1); `first` = the bytes
   * that came with the head. The caller corks `backend` around this call so the head
   * and the first body bytes leave in one write. Returns false when the body was already
   * complete (or failed) within `first`.
   */
  begin(backend: BodySink, length: number, first: Buffer): boolean {
    this.backend = backend;
    this.written = 0;
    this.readFromClient = false;
    this.blocked = false;
    if (length === -1) {
      this.parser.reset();
      this.mode = CHUNKED;
    } else {
      if (length === 0) {
        this.mode = IDLE;
        this.owner.bodyDone(first.length > 0 ? first : null);
        return false;
      }
      this.remaining = length;
      this.mode = LENGTH;
    }
    if (first.length > 0) this.push(first);
    if (this.mode === IDLE) return false;
    if (!this.blocked) this.client.resume();
    return true;
  }

  /** Client bytes while the body is being sent. */
  push(chunk: Buffer): void {
    if (this.mode === LENGTH) {
      const n = this.remaining;
      if (chunk.length < n) {
        this.remaining = n - chunk.length;
        this.write(chunk);
        return;
      }
      this.remaining = 0;
      this.write(chunk.length === n ? chunk : chunk.subarray(0, n));
      this.finish(chunk.length > n ? chunk.subarray(n) : null);
      return;
    }
    if (this.mode !== CHUNKED) return;
    const r = this.parser.push(chunk);
    if (r.state === 'need-more') {
      this.write(chunk);
    } else if (r.state === 'done') {
      this.write(r.consumed === chunk.length ? chunk : chunk.subarray(0, r.consumed));
      this.finish(r.consumed < chunk.length ? chunk.subarray(r.consumed) : null);
    } else {
      this.stop();
      this.owner.bodyFailed(r);
    }
  }

  /** Client data event while active (not the head's first segment). */
  readonly onClientData = (chunk: Buffer): void => {
    this.readFromClient = true;
    this.push(chunk);
  };

  /** The node drained: read the client again. */
  readonly onBackendDrain = (): void => {
    this.blocked = false;
    if (this.mode !== IDLE) this.client.resume();
  };

  /** No body from the client in this exchange (a stored body is sent instead). */
  reset(): void {
    this.stop();
    this.written = 0;
    this.readFromClient = false;
    this.blocked = false;
  }

  /** Stops pumping (client gone, node gone, response ended early). */
  stop(): void {
    this.mode = IDLE;
    this.backend = null;
  }

  private write(data: Buffer): void {
    if (data.length === 0) return;
    this.written += data.length;
    // spec: corerouter.md §4 — one buffer in flight: stop reading while the node is full
    if (!this.backend!.write(data)) {
      this.blocked = true;
      this.client.pause();
    }
  }

  private finish(surplus: Buffer | null): void {
    this.mode = IDLE;
    this.backend = null;
    // no pipelining (spec §7): the next request is read after this response
    this.client.pause();
    this.owner.bodyDone(surplus);
  }
}
