/**
 * A chunked request body stored before the request goes to a node, as nginx does for
 * `uwsgi_pass`: a uwsgi node reads exactly CONTENT_LENGTH bytes, so a chunked body must be
 * de-chunked and its length known before the packet is sent (uWSGI's HTTP router dropped
 * the body and the node answered as if there was none). `http-chunked-input` streams it
 * still chunked instead (request-body.ts); the node kind is not known before connecting, so
 * every node gets the stored body with its length.
 *
 * The payload is kept in memory up to `memoryLimit` bytes, then written to a temporary file
 * created 0600 with O_EXCL in `dir` and unlinked at once (nothing is left behind, whatever
 * happens to the process). The client is paused while the file is opened and while a write
 * is behind by `memoryLimit` bytes, so memory stays bounded. The total is bounded by
 * `maxBody` (413). Sending reads the file in pieces with the node's backpressure, and can
 * start over (a stale pooled HTTP-node connection is retried).
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { ChunkedBodyParser } from './chunked.ts';

export interface StoredBodyOwner {
  /** the whole body is stored; `surplus` = client bytes read past its end */
  bodyStored(size: number, surplus: Buffer | null): void;
  bodyStoreFailed(status: 400 | 413 | 500, code: string, why: string): void;
}

export interface StoredBodySink {
  /** every stored byte was handed to the node socket */
  storedBodySent(): void;
  storedBodyUnreadable(why: string): void;
}

export interface StoredBodyLimits {
  memoryLimit: number;
  maxBody: number;
  dir: string;
}

/** size of each file read when sending */
const READ_SIZE = 65536;

/**
 * The head the node gets for a stored body: Transfer-Encoding removed, `Content-Length: N`
 * added (CONTENT_LENGTH for a uwsgi node). Header order is otherwise kept.
 */
export function headWithStoredBody(head: HttpRequestHead, size: number): HttpRequestHead {
  const headers = head.headers.filter(
    (h) => h.name.length !== 17 || h.name.toLowerCase() !== 'transfer-encoding',
  );
  headers.push({ name: 'Content-Length', value: String(size) });
  return { ...head, headers, contentLength: size, transferEncoding: null, chunked: false };
}

export class StoredRequestBody {
  private readonly client: Socket;
  private readonly owner: StoredBodyOwner;
  private readonly limits: StoredBodyLimits;
  private readonly parser: ChunkedBodyParser;
  /** payload slices not in the file yet (the whole body while it fits in memory) */
  private queue: Buffer[] = [];
  private queued = 0;
  private file: FileHandle | null = null;
  private opening = false;
  private writing = false;
  private fileSize = 0;
  /** the chunked body has ended (no more client bytes wanted) */
  private ended = false;
  private surplus: Buffer | null = null;
  private finished = false;
  private discarded = false;
  /** payload bytes */
  size = 0;
  // sending
  private sink: StoredBodySink | null = null;
  private backend: Socket | null = null;
  private readAt = 0;
  /** bytes handed to the node socket by the current send */
  sent = 0;

  constructor(client: Socket, owner: StoredBodyOwner, limits: StoredBodyLimits) {
    this.client = client;
    this.owner = owner;
    this.limits = limits;
    this.parser = new ChunkedBodyParser({ maxBodySize: limits.maxBody, onData: this.take });
  }

  /** Starts with the bytes that came with the head, then reads the client. */
  start(first: Buffer): void {
    if (first.length > 0) this.push(first);
    if (!this.ended && !this.discarded && !this.opening) this.client.resume();
  }

  /** Client bytes (the connection's data handler while storing). */
  push(chunk: Buffer): void {
    if (this.ended || this.discarded) return;
    const r = this.parser.push(chunk);
    if (r.state === 'error') {
      this.discard();
      this.owner.bodyStoreFailed(r.status, r.code, `bad chunked request body (${r.reason})`);
      return;
    }
    if (r.state === 'done') {
      this.ended = true;
      this.client.pause();
      if (r.consumed < chunk.length) this.surplus = chunk.subarray(r.consumed);
    }
    this.flush();
  }

  private readonly take = (data: Buffer): void => {
    this.queue.push(data);
    this.queued += data.length;
    this.size += data.length;
  };

  /** Moves queued bytes on: to the file once past the memory limit; completes at the end. */
  private flush(): void {
    if (this.discarded) return;
    if (this.file === null) {
      if (this.queued > this.limits.memoryLimit) this.openFile();
      else if (this.ended) this.complete();
      return;
    }
    if (this.writing) {
      if (this.queued >= this.limits.memoryLimit) this.client.pause();
      return;
    }
    if (this.queued > 0) this.writeQueued();
    else if (this.ended) this.complete();
  }

  private openFile(): void {
    if (this.opening) return;
    this.opening = true;
    this.client.pause();
    const path = join(this.limits.dir, `uwrouter-body-${process.pid}-${randomBytes(8).toString('hex')}`);
    // wx+: O_CREAT | O_EXCL (never follows a planted symlink), read back when sending
    open(path, 'wx+', 0o600).then(
      (fh) =>
        unlink(path).then(
          () => this.fileOpened(fh),
          (err: Error) => {
            void fh.close().catch(noop);
            this.storeFailed(`cannot unlink the temporary file ${path}: ${err.message}`);
          },
        ),
      (err: Error) =>
        this.storeFailed(`cannot create a temporary file in ${this.limits.dir}: ${err.message}`),
    );
  }

  private fileOpened(fh: FileHandle): void {
    this.opening = false;
    if (this.discarded) {
      void fh.close().catch(noop);
      return;
    }
    this.file = fh;
    if (!this.ended) this.client.resume();
    this.flush();
  }

  private writeQueued(): void {
    const buffers = this.queue;
    const n = this.queued;
    this.queue = [];
    this.queued = 0;
    this.writing = true;
    this.file!.writev(buffers, this.fileSize).then(
      (r) => {
        this.writing = false;
        if (this.discarded) return;
        if (r.bytesWritten !== n) {
          this.storeFailed(`short write to the temporary file (${r.bytesWritten} of ${n} bytes)`);
          return;
        }
        this.fileSize += n;
        if (!this.ended) this.client.resume();
        this.flush();
      },
      (err: Error) => {
        this.writing = false;
        this.storeFailed(`cannot write the temporary file: ${err.message}`);
      },
    );
  }

  private storeFailed(why: string): void {
    if (this.discarded) return;
    this.discard();
    this.owner.bodyStoreFailed(500, 'UWR_ERR_BODY_STORE', `request body not stored (${why})`);
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    this.owner.bodyStored(this.size, this.surplus);
    this.surplus = null;
  }

  // ---- sending -----------------------------------------------------------------------

  /**
   * Writes the whole body to `backend` from its first byte (the caller corks around this
   * with the packet/head). In memory: every slice at once (they are held anyway); from the
   * file: one piece at a time, the next after the node drains.
   */
  send(backend: Socket, sink: StoredBodySink): void {
    this.stopSending();
    this.sent = 0;
    if (this.file === null) {
      for (const b of this.queue) backend.write(b);
      this.sent = this.size;
      sink.storedBodySent();
      return;
    }
    this.sink = sink;
    this.backend = backend;
    this.readAt = 0;
    this.readNext();
  }

  /** The node exchange ended: outstanding reads are ignored. */
  stopSending(): void {
    if (this.backend !== null) this.backend.removeListener('drain', this.readNext);
    this.backend = null;
    this.sink = null;
  }

  private readonly readNext = (): void => {
    const backend = this.backend;
    if (backend === null || this.discarded) return;
    backend.removeListener('drain', this.readNext);
    if (this.readAt >= this.fileSize) {
      const sink = this.sink!;
      this.stopSending();
      sink.storedBodySent();
      return;
    }
    const at = this.readAt;
    const len = Math.min(READ_SIZE, this.fileSize - at);
    // a new buffer per piece: the socket holds it until written
    const buf = Buffer.allocUnsafe(len);
    this.file!.read(buf, 0, len, at).then(
      (r) => {
        if (this.backend !== backend || this.readAt !== at) return;
        if (r.bytesRead <= 0) {
          this.unreadable(`temporary file ended at ${at} of ${this.fileSize} bytes`);
          return;
        }
        this.readAt = at + r.bytesRead;
        this.sent += r.bytesRead;
        if (backend.write(r.bytesRead === len ? buf : buf.subarray(0, r.bytesRead))) this.readNext();
        else backend.on('drain', this.readNext);
      },
      (err: Error) => {
        if (this.backend === backend) this.unreadable(`cannot read the temporary file: ${err.message}`);
      },
    );
  };

  private unreadable(why: string): void {
    const sink = this.sink!;
    this.stopSending();
    sink.storedBodyUnreadable(why);
  }

  /** Frees the memory and closes the file (its name is already gone). */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.stopSending();
    this.queue = [];
    this.queued = 0;
    if (this.file !== null) {
      void this.file.close().catch(noop);
      this.file = null;
    }
  }
}

const noop = (): void => {};
