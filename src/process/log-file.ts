/**
 * A log file (`--logto`, `--logto2`, `--daemonize`): appended to, created 0640 as uWSGI's
 * logto() does (core/logging.c), written without blocking the event loop, reopened on
 * SIGUSR2/SIGHUP so logrotate can rename it away.
 *
 * Writes go through pino's asynchronous destination (sonic-boom) on a descriptor opened
 * here: a line is queued and written by the thread pool, whatever is queued is written
 * synchronously at exit (pino registers that flush), and at most MAX_QUEUED_BYTES wait, so
 * a stalled disk costs bounded memory (lines past it are dropped and counted).
 * Reopening opens the path again synchronously (a failure keeps the old file and says why),
 * then the old destination writes what it still holds and closes.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import type { LogSink } from '../logger.ts';
import { errnoReason } from './errno-reason.ts';

/** log bytes allowed to wait for the disk before lines are dropped */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** O_NOCTTY: a background uwrouter is a session leader; a terminal named as its log must not become its controlling terminal. */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOCTTY;
const FILE_MODE = 0o640;

type Destination = ReturnType<typeof pino.destination>;

export interface LogFile extends LogSink {
  /** absolute path (a relative one is resolved once, so --chdir does not move it) */
  readonly path: string;
  /** lines dropped because MAX_QUEUED_BYTES were waiting for the disk */
  readonly dropped: number;
  /** the last write error ("ENOSPC (no space left on device)"), if any */
  readonly lastError: string | undefined;
  /** the descriptor lines go to now (a cluster primary passes it to the workers it forks) */
  readonly fd: number;
  /**
   * Open the path again (after a rename) and write there from now on. Throws with the
   * reason (e.g. permission denied after --uid); the old file is kept then.
   */
  reopen(): void;
  /** Write what is queued, then close. */
  close(): Promise<void>;
}

/** Opens `path` for appending; throws an Error whose message says why (for a start-up error). */
export function openLogDescriptor(path: string): number {
  const abs = resolve(path);
  let fd: number;
  try {
    fd = openSync(abs, OPEN_FLAGS, FILE_MODE);
  } catch (err) {
    throw new Error(`cannot open "${abs}": ${errnoReason(err)}`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new Error(`cannot open "${abs}": it is a directory`);
  }
  return fd;
}

class AppendedLogFile implements LogFile {
  readonly path: string;
  private dest: Destination;
  private currentFd: number;
  private droppedLines = 0;
  private lastErrorText: string | undefined;
  private closing: Promise<void> | null = null;
  private readonly countDrop = (): void => {
    this.droppedLines++;
  };
  private readonly onError = (err: unknown): void => {
    // sonic-boom keeps the failed chunk and retries it with the next write; a lasting
    // failure fills the queue and shows up as drops
    this.lastErrorText = errnoReason(err);
  };

  /** `fd`: the file already open (a cluster worker inherits its primary's); else opened here */
  constructor(path: string, fd?: number) {
    this.path = resolve(path);
    this.currentFd = fd ?? openLogDescriptor(this.path);
    this.dest = this.destinationFor(this.currentFd);
  }

  get fd(): number {
    return this.currentFd;
  }

  get dropped(): number {
    return this.droppedLines;
  }

  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  private destinationFor(fd: number): Destination {
    const dest = pino.destination({ dest: fd, sync: false, maxLength: MAX_QUEUED_BYTES });
    dest.on('drop', this.countDrop);
    dest.on('error', this.onError);
    return dest;
  }

  write(text: string): void {
    this.dest.write(text);
  }

  reopen(): void {
    const fd = openLogDescriptor(this.path);
    const old = this.dest;
    this.dest = this.destinationFor(fd);
    this.currentFd = fd;
    old.end();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const dest = this.dest;
    this.closing = new Promise((done) => {
      dest.once('close', () => done());
      dest.end();
    });
    return this.closing;
  }
}

/** Opens (creates 0640, appends to) a log file; throws an Error saying why it cannot. */
export function openLogFile(path: string): LogFile {
  return new AppendedLogFile(path);
}

/** The log file at `path`, already open as `fd` (a cluster worker's, passed by its primary at fork). */
export function adoptLogFile(path: string, fd: number): LogFile {
  return new AppendedLogFile(path, fd);
}
