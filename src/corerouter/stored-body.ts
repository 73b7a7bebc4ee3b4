/**
 * A request body stored before the request goes to a node. The HTTP router stores a chunked
 * body de-chunked, as nginx does for `uwsgi_pass`: a uwsgi node reads exactly CONTENT_LENGTH
 * bytes, so the length must be known before the packet is sent (http-router/body-stage.ts).
 * The fastrouter stores a CONTENT_LENGTH body with `--fastrouter-post-buffering` (spec:
 * uwsgi-protocol.md §7.7), so a slow upload never holds a node's connection. The framing
 * (what ends the body) is the caller's: a chunked parser, or `lengthFraming`.
 *
 * The payload is copied into one staging buffer (a view per chunk would cost an object per
 * payload byte of a body framed `1\r\na\r\n`…) and kept in memory up to `memoryLimit`
 * bytes, then written to a temporary file in `dir` that never has a name (Linux O_TMPFILE;
 * elsewhere created 0600 with O_EXCL and unlinked at once), so nothing is left behind,
 * whatever happens to the process. The client is paused
 * while the file is opened and while a write is behind by `memoryLimit` bytes, so memory
 * stays within about two staging buffers and one socket read. The framing bounds the total
 * (the HTTP router's 413). Sending reads the file in pieces with the node's
 * backpressure, and can start over (a stale pooled HTTP-node connection is retried).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

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
  dir: string;
}

/** size of each file read when sending */
const READ_SIZE = 65536;
/** Linux open(2) O_TMPFILE (includes O_DIRECTORY); Node's fs.constants lacks it */
const O_TMPFILE = 0o20000000 | (constants.O_DIRECTORY ?? 0);
const TMPFILE = process.platform === 'linux' ? O_TMPFILE | constants.O_RDWR : 0;

/** first staging buffer; it doubles up to the memory limit (small bodies stay small) */
const FIRST_STAGE = 16384;

/**
 * A stored body is capped even when no limit is configured (`http-max-body` 0, the
 * fastrouter's post-buffering), so one client cannot fill the disk.
 */
export const MAX_STORED_BODY = 1024 * 1024 * 1024;

/**
 * `dir` when it is a directory this process can create files in, else a ConfigError naming
 * `option` (checked at start-up, not per request).
 */
export function bodyStoreDir(option: string, dir: string): string {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new ConfigError(
      `option "--${option}": "${dir}" is not a writable directory (${(err as Error).message})`,
    );
  }
  return dir;
}

/** What a framing says after a push (the HTTP router's chunked parser returns the same). */
export type BodyFramingResult =
  | { state: 'need-more' }
  /** the body ended after `consumed` bytes of the last chunk pushed (the rest is not body) */
  | { state: 'done'; consumed: number }
  | { state: 'error'; status: 400 | 413; code: string; reason: string };

/** What ends a stored body; its payload bytes go to the `onData` it was made with. */
export interface BodyFraming {
  push(chunk: Buffer): BodyFramingResult;
}

/** Exactly `length` bytes (> 0) follow: a CONTENT_LENGTH body. */
export function lengthFraming(length: number) {
  return (onData: (data: Buffer) => void): BodyFraming => {
    let left = length;
    return {
      push(chunk: Buffer): BodyFramingResult {
        const n = Math.min(left, chunk.length);
        if (n > 0) onData(n === chunk.length ? chunk : chunk.subarray(0, n));
        left -= n;
        return left === 0 ? { state: 'done', consumed: n } : { state: 'need-more' };
      },
    };
  };
}

export class StoredRequestBody {
  private readonly client: Socket;
  private readonly owner: StoredBodyOwner;
  private readonly limits: StoredBodyLimits;
  private readonly parser: BodyFraming;
  /** payload not in the file yet (the whole body while it fits in memory) */
  private stage: Buffer | null = null;
  private staged = 0;
  /** the buffer last written to the file, reused as the next stage */
  private spare: Buffer | null = null;
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

  /** `framing` makes the body's framing, given where its payload bytes go */
  constructor(
    client: Socket,
    owner: StoredBodyOwner,
    limits: StoredBodyLimits,
    framing: (onData: (data: Buffer) => void) => BodyFraming,
  ) {
    this.client = client;
    this.owner = owner;
    this.limits = limits;
    this.parser = framing(this.take);
  }

  /** Every body byte has been read from the client (it may still be on its way to the file). */
  get received(): boolean {
    return this.ended;
  }

  /** Starts with the bytes that came with the head, then reads the client. */
  start(first: Buffer): void {
    if (first.length > 0) this.push(first);
    if (!this.ended && !this.discarded && !this.opening) this.client.resume();
  }

  /** Client bytes (the connection's data handler while storing). */
  push(chunk: Buffer): void {
    if (this.discarded) return;
    if (this.ended) {
      // read before the pause took effect, while the file is still written: what comes next
      if (!this.finished) this.surplus = this.surplus === null ? chunk : Buffer.concat([this.surplus, chunk]);
      return;
    }
    const r = this.parser.push(chunk);
    if (r.state === 'error') {
      this.discard();
      this.owner.bodyStoreFailed(r.status, r.code, r.reason);
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
    const need = this.staged + data.length;
    let stage = this.stage;
    if (stage === null || stage.length < need) {
      // grows past the memory limit only within one socket read (the client is paused after)
      let size = stage === null ? Math.min(FIRST_STAGE, this.limits.memoryLimit) : stage.length * 2;
      while (size < need) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      if (stage !== null) stage.copy(grown, 0, 0, this.staged);
      stage = grown;
      this.stage = grown;
    }
    data.copy(stage, this.staged);
    this.staged = need;
    this.size += data.length;
  };

  /** Moves staged bytes on: to the file once past the memory limit; completes at the end. */
  private flush(): void {
    if (this.discarded) return;
    if (this.file === null) {
      if (this.staged > this.limits.memoryLimit) this.openFile();
      else if (this.ended) this.complete();
      return;
    }
    if (this.writing) {
      if (this.staged >= this.limits.memoryLimit) this.client.pause();
      return;
    }
    if (this.staged > 0) this.writeStage();
    else if (this.ended) this.complete();
  }

  private openFile(): void {
    if (this.opening) return;
    this.opening = true;
    this.client.pause();
    if (TMPFILE === 0) {
      this.openNamedFile();
      return;
    }
    // an unnamed file: the file system may not support it (then a named one, unlinked)
    open(this.limits.dir, TMPFILE, 0o600).then(
      (fh) => this.fileOpened(fh),
      () => this.openNamedFile(),
    );
  }

  private openNamedFile(): void {
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

  private writeStage(): void {
    const buf = this.stage!;
    const n = this.staged;
    // the next bytes go to the spare (the previous stage) while this one is written
    this.stage = this.spare;
    this.spare = null;
    this.staged = 0;
    this.writing = true;
    this.file!.write(buf, 0, n, this.fileSize).then(
      (r) => {
        this.writing = false;
        if (this.discarded) return;
        if (buf.length <= this.limits.memoryLimit * 2) this.spare = buf;
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
      // complete in memory: the stage is not written to any more
      if (this.staged > 0) backend.write(this.stage!.subarray(0, this.staged));
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
    this.stage = null;
    this.spare = null;
    this.staged = 0;
    if (this.file !== null) {
      void this.file.close().catch(noop);
      this.file = null;
    }
  }
}

const noop = (): void => {};
