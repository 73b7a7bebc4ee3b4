/**
 * The request log (access log): one line per finished HTTP request or fastrouter session,
 * off by default (`--log-requests`, or `--req-logger file:PATH`). Plain lines keep the
 * shape of uWSGI's request line up to the status (test/fixtures/request-log/), then add
 * what a router knows:
 *
 *   [pid: 42|app: -|req: -/7] 10.0.0.7 () {12 vars in 345 bytes} [Mon Nov 30 21:34:50 2026]
 *   GET /p?q=1 => generated 57 bytes in 3 msecs (HTTP/1.1 200) key: example.com
 *   node: 127.0.0.1:3031 router: http client_port: 51334 connect: 0.41 msecs
 *   ttfb: 1.20 msecs body: 6 bytes
 *
 * (one line; ` error: CODE` at the end when the request failed). JSON lines (`--log-format
 * json`) carry the same facts as named fields, in ASCII. Writes never wait on the
 * destination: lines go to an AsyncLineWriter (flushed at exit) whose queue is bounded;
 * lines that do not fit are dropped, counted and reported.
 */
import { AsyncLineWriter } from './async-line-writer.ts';
import type { Config } from './config/config.ts';
import { ConfigError } from './errors.ts';
import { ctime } from './log-time.ts';
import type { Logger } from './logger.ts';
import type { RequestRecord } from './request-line.ts';

export type { RequestRecord } from './request-line.ts';

export type RequestLogFormat = 'uwsgi' | 'json';

/** What the request log writes to (an AsyncLineWriter; tests pass their own). */
export interface RequestLogDestination {
  /** false: the line was dropped (the destination is behind) */
  write(line: string): boolean;
  /** false: nothing to reopen (an fd) */
  reopen?(): boolean;
  drain?(ms: number): Promise<void>;
  close?(): void;
}

/** A graceful stop waits this long at most for the request log to be written. */
const CLOSE_WAIT_MS = 2000;

/** Lines waiting for a slow destination, at most (then they are dropped and counted). */
export const REQUEST_LOG_BUFFER_BYTES = 8 * 1024 * 1024;
/** A URI longer than this is cut (with `...`) in the line. */
export const REQUEST_LOG_MAX_URI = 2048;
/** Warnings about the destination (errors, drops): at most one per this many ms. */
const WARN_EVERY_MS = 10_000;
/** Drops are reported this long after the first of a burst. */
const DROP_REPORT_MS = 1000;

export interface RequestLogOptions {
  format: RequestLogFormat;
  /** a file path (appended, created 0640) or an fd (2 = stderr) */
  dest?: string | number;
  /** with a path: that file, already open as this fd (a cluster worker's, from its primary) */
  inheritedFd?: number;
  /** instead of `dest` */
  stream?: RequestLogDestination;
  /** with `stream`: what to call it in messages (default `stream`) */
  target?: string;
  /** the process logger, for problems with the destination */
  log: Logger;
  /** bytes waiting for the destination, at most (default REQUEST_LOG_BUFFER_BYTES) */
  maxBufferBytes?: number;
}

/** `s` with control bytes, `"`/`\` and anything past `~` as `\xNN`, cut to `max` characters. */
export function logSafe(s: string, max = REQUEST_LOG_MAX_URI): string {
  const n = Math.min(s.length, max);
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
    i++;
  }
  let out = i === s.length ? s : s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out +=
      c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c
        ? `\\x${(c & 0xff).toString(16).padStart(2, '0')}`
        : s[i];
  }
  return s.length > max ? `${out}...` : out;
}

function ms2(v: number): string {
  return v < 0 ? '-' : `${v.toFixed(2)} msecs`;
}

function msJson(v: number): string {
  return v < 0 ? 'null' : String(Math.round(v * 1000) / 1000);
}

/** A JSON string in ASCII (lines are written as bytes; a byte past 0x7e is `\u00XX`). */
function jsonString(s: string): string {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
    i++;
  }
  // the common case: nothing to escape
  if (i === s.length) return `"${s}"`;
  const j = JSON.stringify(s);
  for (let i = 0; i < j.length; i++) {
    if (j.charCodeAt(i) > 0x7e)
      return j.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return j;
}

function str(s: string): string {
  return s === '' ? 'null' : jsonString(s);
}

export class RequestLog {
  readonly format: RequestLogFormat;
  /** where the lines go, for messages (`stderr` or the path) */
  readonly target: string;
  private readonly dest: RequestLogDestination;
  private readonly maxBuffer: number;
  private readonly log: Logger;
  /** lines written (the N of `req: -/N`) */
  private count = 0;
  /** lines dropped for a full buffer since start */
  dropped = 0;
  private reportedDrops = 0;
  private dropTimer: NodeJS.Timeout | null = null;
  private lastWarn = 0;
  /** ctime of the last second formatted */
  private second = -1;
  private secondText = '';

  constructor(o: RequestLogOptions) {
    this.format = o.format;
    this.log = o.log;
    this.maxBuffer = o.maxBufferBytes ?? REQUEST_LOG_BUFFER_BYTES;
    if (o.stream) {
      this.dest = o.stream;
      this.target = o.target ?? 'stream';
    } else {
      const d = o.dest ?? 2;
      // a path is opened here: a bad one is a start-up error
      this.dest = new AsyncLineWriter({
        ...(typeof d === 'string' ? { path: d, inheritedFd: o.inheritedFd } : { fd: d }),
        mode: 0o640,
        maxQueued: this.maxBuffer,
        onError: this.onError,
      });
      this.target = typeof d === 'string' ? d : 'stderr';
    }
  }

  /** Writes one line; false when it was dropped (the destination is behind). */
  write(r: RequestRecord): boolean {
    this.count++;
    if (this.dest.write(this.format === 'json' ? this.json(r) : this.plain(r))) return true;
    this.dropped++;
    // one line for a burst of drops, once it is over (or at most every WARN_EVERY_MS)
    if (this.dropTimer === null) {
      this.dropTimer = setTimeout(this.reportDrops, DROP_REPORT_MS);
      this.dropTimer.unref();
    }
    return false;
  }

  private readonly reportDrops = (): void => {
    this.dropTimer = null;
    const n = this.dropped - this.reportedDrops;
    if (n === 0) return;
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) {
      this.dropTimer = setTimeout(this.reportDrops, WARN_EVERY_MS - (now - this.lastWarn));
      this.dropTimer.unref();
      return;
    }
    this.lastWarn = now;
    this.reportedDrops = this.dropped;
    this.log.warn(
      { code: 'UWR_ERR_REQUEST_LOG', dropped: n },
      `[uwrouter] request log ${this.target}: ${n} line${n === 1 ? '' : 's'} dropped: the destination is slower than the requests (${this.maxBuffer} bytes were waiting)`,
    );
  };

  /** A file that SIGHUP/SIGUSR2 reopen (stderr and streams are not). */
  get reopenable(): boolean {
    return this.dest.reopen !== undefined;
  }

  /** Reopens the file (after logrotate moved it: SIGHUP, SIGUSR2); false for stderr. */
  reopen(): boolean {
    return this.dest.reopen?.() ?? false;
  }

  /** Reports pending drops now (shutdown, tests). */
  flush(): void {
    if (this.dropTimer === null) return;
    clearTimeout(this.dropTimer);
    this.dropTimer = null;
    this.lastWarn = 0;
    this.reportDrops();
    if (this.dropTimer !== null) clearTimeout(this.dropTimer);
  }

  /** Graceful stop: waits (bounded) for the lines to be written, then closes the file. */
  async close(): Promise<void> {
    this.flush();
    await this.dest.drain?.(CLOSE_WAIT_MS);
    this.dest.close?.();
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    const why = err instanceof Error ? err.message : String(err);
    this.log.warn({ code: 'UWR_ERR_REQUEST_LOG' }, `[uwrouter] request log ${this.target}: ${why}`);
  };

  private ctimeOf(ms: number): string {
    const s = Math.floor(ms / 1000);
    if (s !== this.second) {
      this.second = s;
      this.secondText = ctime(new Date(ms));
    }
    return this.secondText;
  }

  /** uWSGI's request line up to the status (spec: its logging.c), then the router's facts. */
  plain(r: RequestRecord): string {
    const code = r.code === '' ? '' : ` error: ${r.code}`;
    return (
      `[pid: ${process.pid}|app: -|req: -/${this.count}] ${logSafe(r.clientAddr, 64)} () {${r.vars} vars in ${r.varsBytes} bytes} ` +
      `[${this.ctimeOf(r.startedAt)}] ${logSafe(r.method, 64)} ${logSafe(r.uri)} => generated ${r.responseBytes} bytes in ` +
      `${Math.floor(r.totalMs)} msecs (${r.protocol} ${r.status}) key: ${r.key === '' ? '-' : logSafe(r.key, 255)} ` +
      `node: ${r.node === '' ? '-' : logSafe(r.node, 255)} router: ${r.router} client_port: ${r.clientPort} ` +
      `connect: ${ms2(r.connectMs)} ttfb: ${ms2(r.ttfbMs)} body: ${r.requestBodyBytes} bytes${code}\n`
    );
  }

  json(r: RequestRecord): string {
    const uri = r.uri.length > REQUEST_LOG_MAX_URI ? `${r.uri.slice(0, REQUEST_LOG_MAX_URI)}...` : r.uri;
    return (
      `{"time":${r.startedAt},"pid":${process.pid},"kind":"request","router":"${r.router}",` +
      `"client_addr":${jsonString(r.clientAddr)},"client_port":${r.clientPort},` +
      `"method":${jsonString(r.method)},"uri":${jsonString(uri)},"protocol":${jsonString(r.protocol)},` +
      `"status":${r.status},"response_bytes":${r.responseBytes},"request_body_bytes":${r.requestBodyBytes},` +
      `"total_ms":${msJson(r.totalMs)},"connect_ms":${msJson(r.connectMs)},"ttfb_ms":${msJson(r.ttfbMs)},` +
      `"key":${str(r.key)},"node":${str(r.node)},"code":${str(r.code)}}\n`
    );
  }
}

/**
 * The file of `--req-logger` (uWSGI's request logger option, also `--logger-req`): uWSGI's
 * file plugin forms `file:PATH` and `file:logfile=PATH`; anything else is refused, naming why.
 */
export function requestLoggerPath(spec: string): string {
  const refuse = (why: string): never => {
    throw new ConfigError(`option "--req-logger": "${spec}": ${why}`);
  };
  const colon = spec.indexOf(':');
  const plugin = colon < 0 ? spec : spec.slice(0, colon);
  if (plugin.includes(',')) {
    refuse(
      'named request loggers (NAME,PLUGIN:ARGS, for --log-req-route) are not implemented; give file:PATH',
    );
  }
  if (plugin !== 'file') {
    refuse(
      `the "${plugin}" request logger plugin is not implemented: uwrouter writes the request log itself, to file:PATH (or to stderr with --log-requests alone)`,
    );
  }
  const args = spec.slice(colon + 1);
  if (!args.startsWith('logfile=')) {
    if (args === '') refuse('no file: give file:PATH');
    return args;
  }
  const parts = args.split(',');
  const path = parts[0].slice('logfile='.length);
  const other = parts.slice(1).map((p) => p.split('=')[0]);
  if (other.length > 0) {
    refuse(
      `${other.join(', ')}: not implemented (rotate with logrotate and send SIGHUP or SIGUSR2: the file is reopened)`,
    );
  }
  if (path === '') refuse('no file: give file:logfile=PATH');
  return path;
}

/**
 * The request log the configuration asks for, or null (the default): `--log-requests`
 * writes to the process log (`processLog`: the `--logto` file a cluster worker writes to),
 * else stderr; `--req-logger file:PATH` to PATH; `--disable-logging` (uWSGI: no request
 * logging) turns both off. Lines are in the `--log-format` format. `inherited`: the
 * `--req-logger` file is already open (a cluster worker: its primary opened it before
 * dropping privileges).
 */
export function requestLogFromConfig(
  config: Config,
  log: Logger,
  inherited?: { fd: number; path: string } | null,
  processLog?: { path: string; readonly dropped: number; write(line: string): void } | null,
): RequestLog | null {
  const wanted = config.flag('log-requests');
  const loggers = config.all('req-logger');
  const disabled = config.flag('disable-logging');
  if (loggers.length > 1) {
    throw new ConfigError(
      `option "--req-logger" is given ${loggers.length} times: uwrouter writes one request log (give it once)`,
    );
  }
  const path = loggers.length === 1 ? requestLoggerPath(loggers[0]) : null;
  const format = config.str('log-format') === 'json' ? 'json' : 'uwsgi';
  if (disabled) {
    if (wanted || path !== null) {
      log.warn('[uwrouter] --disable-logging: no request log (--log-requests and --req-logger are ignored)');
    }
    return null;
  }
  if (!wanted && path === null) return null;
  try {
    if (inherited && path !== null)
      return new RequestLog({ format, dest: inherited.path, inheritedFd: inherited.fd, log });
    // as uWSGI: without a request logger of their own, request lines follow --logto (the file
    // writes without waiting and is reopened with the process log); a line its full queue
    // dropped is a dropped request line, counted and reported as such
    if (path === null && processLog) {
      const file = processLog;
      const stream = {
        write(line: string): boolean {
          const before = file.dropped;
          file.write(line);
          return file.dropped === before;
        },
      };
      return new RequestLog({ format, stream, target: file.path, log });
    }
    return new RequestLog({ format, dest: path ?? 2, log });
  } catch (err) {
    throw new ConfigError(
      `option "--req-logger": cannot open "${path}" for appending: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
