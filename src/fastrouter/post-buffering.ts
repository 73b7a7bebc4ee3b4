/**
 * `--fastrouter-post-buffering` (spec: uwsgi-protocol.md §7.7): one request's CONTENT_LENGTH
 * body, read whole before any node is chosen (corerouter/stored-body.ts: in memory up to N
 * bytes, else in an unnamed temporary file), then written after the head, in one go when it
 * is in memory. A slow upload never holds a node's connection. The connection
 * (connection.ts) routes once the body is in and joins the node once it is all written; every
 * way this ends early comes back to it as one call that says why.
 */
import type { Socket } from 'node:net';
import type { ConnectionLogLevel } from '../connection-log.ts';
import {
  lengthFraming,
  type StoredBodyLimits,
  type StoredBodyOwner,
  type StoredBodySink,
  StoredRequestBody,
} from '../corerouter/stored-body.ts';

/** What a buffered body needs of its fastrouter connection. */
export interface PostBufferOwner {
  /** the whole body is in: route the request */
  bodyIn(): void;
  /** it could not be stored (the file system): close, saying why */
  bodyFailed(code: string, why: string): void;
  /** the head, the body and the client's surplus are written to the node (`bytes`): join it */
  bodySent(backend: Socket, bytes: number): void;
  /** the body could not be written whole (`bytes` were): the node socket is gone; close */
  bodyLost(level: ConnectionLogLevel, code: string, why: string, bytes: number): void;
}

export class PostBufferedBody implements StoredBodyOwner, StoredBodySink {
  private readonly client: Socket;
  private readonly owner: PostBufferOwner;
  private readonly stored: StoredRequestBody;
  /** client bytes read past the body (sent after it) */
  private surplus: Buffer | null = null;
  /** the node connection while the body is written to it */
  private backend: Socket | null = null;
  private headBytes = 0;
  /** the whole body is in */
  complete = false;

  /** Starts reading `length` body bytes: `rest` came with the head, the others from the client. */
  constructor(
    client: Socket,
    owner: PostBufferOwner,
    limits: StoredBodyLimits,
    length: number,
    rest: Buffer,
  ) {
    this.client = client;
    this.owner = owner;
    this.stored = new StoredRequestBody(client, this, limits, lengthFraming(length));
    client.on('data', this.onData);
    this.stored.start(rest);
  }

  /** bytes read from the client and written to the node so far (the idle sweep's progress) */
  get progress(): number {
    return this.stored.size + this.stored.sent;
  }

  /** every body byte has been read (it may still be on its way to the file) */
  get received(): boolean {
    return this.stored.received;
  }

  /** being written to a node */
  get sending(): boolean {
    return this.backend !== null;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.stored.push(chunk);
  };

  /** StoredBodyOwner: the whole body is in; `surplus` = bytes the client sent past it. */
  bodyStored(_size: number, surplus: Buffer | null): void {
    this.client.removeListener('data', this.onData);
    this.complete = true;
    this.surplus = surplus;
    this.owner.bodyIn();
  }

  bodyStoreFailed(_status: number, code: string, why: string): void {
    this.client.removeListener('data', this.onData);
    this.drop();
    this.owner.bodyFailed(code, `${why}: closing`);
  }

  /** Writes `head` then the body to `backend`; the owner joins once all of it is written. */
  sendAfter(head: Buffer, backend: Socket): void {
    this.backend = backend;
    this.headBytes = head.length;
    backend.on('error', ignoreError);
    backend.on('close', this.onNodeGone);
    backend.cork();
    backend.write(head);
    this.stored.send(backend, this);
    backend.uncork();
  }

  /** StoredBodySink: every body byte is handed to the node socket. */
  storedBodySent(): void {
    const backend = this.detachNode()!;
    let bytes = this.headBytes + this.stored.size;
    const surplus = this.surplus;
    if (surplus !== null) {
      backend.write(surplus);
      bytes += surplus.length;
    }
    this.drop();
    this.owner.bodySent(backend, bytes);
  }

  storedBodyUnreadable(why: string): void {
    this.lose('error', 'UWR_ERR_BODY_STORE', `${why}: closing`);
  }

  private readonly onNodeGone = (): void => {
    this.lose('warn', 'UWR_ERR_BACKEND_CLOSED', 'the node closed while the buffered body was sent: closing');
  };

  /** The body cannot be written whole (the node closed, the file, a timeout): the node socket goes. */
  lose(level: ConnectionLogLevel, code: string, why: string): void {
    const backend = this.detachNode();
    if (backend === null) return;
    const bytes = this.headBytes + this.stored.sent;
    this.drop();
    backend.destroy();
    this.owner.bodyLost(level, code, why, bytes);
  }

  /** The client is gone or the request is over: memory and file freed, a node being written to closed. */
  drop(): void {
    this.detachNode()?.destroy();
    this.stored.discard();
    this.surplus = null;
  }

  private detachNode(): Socket | null {
    const backend = this.backend;
    if (backend === null) return null;
    this.backend = null;
    backend.removeListener('error', ignoreError);
    backend.removeListener('close', this.onNodeGone);
    return backend;
  }
}

const ignoreError = (): void => {};
