/**
 * ASCII lines appended to a file (or an fd such as stderr) without ever blocking the event
 * loop: queued in memory and written by one asynchronous fs.write at a time, every line
 * queued meanwhile going out in the next write. The queue is bounded: a line that does not
 * fit is dropped and counted. A graceful stop waits for the queue (`drain`); what is still
 * queued at process exit is written synchronously.
 *
 * Why not sonic-boom (pino.destination): it measures the UTF-8 length of its whole pending
 * string on every write, ~4.5 µs per request line here against ~0.7 µs for this queue
 * (bench/request-log-bench.ts measures the router with and without the request log).
 *
 * Writes to a pipe or terminal are cut at line ends to PIPE_BUF (4096) bytes, so that they
 * stay atomic next to the process log's own writes to stderr.
 */
import { closeSync, fstatSync, openSync, write, writeSync } from 'node:fs';

/** At most this much per write to a file (a burst is written in a few large writes). */
const FILE_BATCH = 1024 * 1024;
/** POSIX PIPE_BUF on Linux: writes up to this size are atomic on pipes. */
const PIPE_BATCH = 4096;
/** EAGAIN (a full non-blocking pipe): try again after this long. */
const RETRY_MS = 10;
/** At exit, a full pipe is waited for this long at most. */
const EXIT_FLUSH_MS = 2000;
/** Atomics.wait on this is a synchronous sleep (only in flushSync). */
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

export interface AsyncLineWriterOptions {
  /** a file, opened for appending (created with `mode`), reopened by `reopen()` */
  path?: string;
  /** or an open fd (stderr: 2), never closed here */
  fd?: number;
  /**
   * with `path`: the file already open as this fd (a cluster worker inherits the one its
   * primary opened before dropping privileges); owned and closed here, `reopen()` opens `path`
   */
  inheritedFd?: number;
  mode?: number;
  /** bytes queued at most; a line past it is dropped */
  maxQueued: number;
  /** a failed write or reopen (the lines of a failed write are counted as dropped) */
  onError(err: NodeJS.ErrnoException): void;
}

/** Every writer still open, flushed by one exit handler. */
const open = new Set<AsyncLineWriter>();
let exitHooked = false;
function flushAllAtExit(): void {
  for (const w of open) w.flushSync();
}

export class AsyncLineWriter {
  private readonly path: string | undefined;
  private readonly mode: number;
  private readonly maxQueued: number;
  private readonly onError: (err: NodeJS.ErrnoException) => void;
  private fd: number;
  private batch: number;
  private queue: string[] = [];
  private queued = 0;
  /** the buffer being written (and where its unwritten part starts), null when idle */
  private inflight: Buffer | null = null;
  private inflightLines = 0;
  private offset = 0;
  /** the inflight buffer is with the thread pool (else: waiting to retry after EAGAIN) */
  private inPool = false;
  /** the fd answered EAGAIN once: it is non-blocking, written synchronously from now on */
  private nonBlocking = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private reopenDue = false;
  private closed = false;
  /** `drain()` callers waiting for an empty queue */
  private drained: Array<() => void> = [];
  /** lines dropped (queue full, or their write failed) since start */
  dropped = 0;

  constructor(o: AsyncLineWriterOptions) {
    this.path = o.path;
    this.mode = o.mode ?? 0o640;
    this.maxQueued = o.maxQueued;
    this.onError = o.onError;
    if (o.path !== undefined) this.fd = o.inheritedFd ?? openSync(o.path, 'a', this.mode);
    else this.fd = o.fd ?? 2;
    this.batch = this.batchFor(this.fd);
    open.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushAllAtExit);
    }
  }

  private batchFor(fd: number): number {
    try {
      return fstatSync(fd).isFile() ? FILE_BATCH : PIPE_BATCH;
    } catch {
      return PIPE_BATCH;
    }
  }

  /** Queues one line (ASCII, with its newline); false when it was dropped. */
  write(line: string): boolean {
    if (this.closed) return false;
    if (this.queued + line.length > this.maxQueued) {
      this.dropped++;
      return false;
    }
    this.queue.push(line);
    this.queued += line.length;
    if (this.inflight === null) this.next();
    return true;
  }

  /** Opens the path again (after logrotate moved the file); false for an fd. */
  reopen(): boolean {
    if (this.path === undefined) return false;
    if (this.inflight !== null) this.reopenDue = true;
    else this.swapFile();
    return true;
  }

  /** Writes everything queued now, blocking (process exit, shutdown). */
  flushSync(): void {
    // a write waiting to retry is known unwritten: it goes first (one with the thread pool
    // cannot be known, and may land after what is written here)
    let head: Buffer | null = null;
    if (this.inflight !== null && !this.inPool) {
      head = this.inflight.subarray(this.offset);
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.inflight = null;
    }
    if (this.queue.length === 0 && head === null) return;
    const rest = Buffer.from(this.queue.join(''), 'latin1');
    const buf = head === null ? rest : Buffer.concat([head, rest]);
    this.queue = [];
    this.queued = 0;
    // a full non-blocking pipe answers EAGAIN: wait for its reader, a bounded while
    const deadline = Date.now() + EXIT_FLUSH_MS;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && Date.now() < deadline) {
          Atomics.wait(SLEEP, 0, 0, RETRY_MS);
          continue;
        }
        this.onError(err as NodeJS.ErrnoException);
        return;
      }
    }
  }

  /**
   * Resolves once everything queued is written (or after `ms`): a graceful stop waits here,
   * so the exit flush, which cannot know whether a write handed to the thread pool already
   * happened, finds nothing left (an exit without it may put the last write after the rest).
   */
  drain(ms: number): Promise<void> {
    if (this.inflight === null && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.drained.push(done);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Flushes and stops (the fd of a path is closed). */
  close(): void {
    this.flushSync();
    open.delete(this);
    this.closed = true;
    if (this.inflight === null) this.closeFile();
  }

  private closeFile(): void {
    if (this.path === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
  }

  private swapFile(): void {
    this.reopenDue = false;
    try {
      const fd = openSync(this.path!, 'a', this.mode);
      closeSync(this.fd);
      this.fd = fd;
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException);
    }
  }

  /** Starts the next write with as many queued lines as one batch takes. */
  private readonly next = (): void => {
    if (this.inflight !== null) return;
    if (this.reopenDue) this.swapFile();
    const q = this.queue;
    if (q.length === 0) {
      if (this.drained.length > 0) for (const f of this.drained.splice(0)) f();
      return;
    }
    let n = 0;
    let size = 0;
    while (n < q.length && (n === 0 || size + q[n].length <= this.batch)) size += q[n++].length;
    const text = n === q.length ? q.join('') : q.slice(0, n).join('');
    if (n === q.length) this.queue = [];
    else this.queue = q.slice(n);
    this.queued -= size;
    this.inflight = Buffer.from(text, 'latin1');
    this.inflightLines = n;
    this.offset = 0;
    this.writeInflight();
  };

  private readonly writeInflight = (): void => {
    this.retryTimer = null;
    const b = this.inflight;
    if (b === null) return;
    if (!this.nonBlocking) {
      this.inPool = true;
      write(this.fd, b, this.offset, b.length - this.offset, null, this.written);
      return;
    }
    // a non-blocking fd never blocks a write: no thread pool, and the state stays known
    try {
      this.offset += writeSync(this.fd, b, this.offset, b.length - this.offset);
    } catch (err) {
      this.settle(err as NodeJS.ErrnoException);
      return;
    }
    if (this.offset < b.length) this.retryTimer = setTimeout(this.writeInflight, RETRY_MS);
    else this.settle(null);
  };

  private readonly written = (err: NodeJS.ErrnoException | null, n: number): void => {
    this.inPool = false;
    if (this.inflight === null) return;
    if (!err && this.offset + n < this.inflight.length) {
      this.offset += n;
      this.writeInflight();
      return;
    }
    this.settle(err);
  };

  /** The inflight write is done (or failed, or must wait: EAGAIN). */
  private settle(err: NodeJS.ErrnoException | null): void {
    if (err) {
      if (err.code === 'EAGAIN') {
        // a full non-blocking pipe: from now on written from this thread, retried on a timer
        this.nonBlocking = true;
        this.retryTimer = setTimeout(this.writeInflight, RETRY_MS);
        return;
      }
      this.dropped += this.inflightLines;
      this.onError(err);
    }
    this.inflight = null;
    if (this.closed) {
      this.closeFile();
    } else if (this.queue.length > 0) {
      // the next batch on the next turn (no recursion through synchronous writes)
      setImmediate(this.next);
      return;
    }
    if (this.drained.length > 0) for (const f of this.drained.splice(0)) f();
  }
}
