import { format as formatText } from 'node:util';
import pino, { type Logger } from 'pino';
import { logDatePrefix } from './log-time.ts';

export type { Logger } from 'pino';

export type LogFormat = 'uwsgi' | 'json';

export interface LoggerOptions {
  /** `--log-date`: undefined = no time on plain lines, '' = uWSGI's ctime, else a strftime format */
  date?: string;
  /** where plain lines go (default: fd 2, written synchronously) */
  write?: (text: string) => void;
  /** where JSON lines go (default: fd 2 through pino's destination, flushed at exit) */
  stream?: pino.DestinationStream;
  /** where lines of either format go (takes precedence over `write` and `stream`) */
  output?: LogOutput;
}

/** Something that takes whole log lines (each ends in "\n"). */
export interface LogSink {
  write(text: string): void;
}

/**
 * The process's log destination: stderr until a log file takes over (`--logto` or
 * `--daemonize` at start, `--logto2` after the privilege drop, a new file on SIGUSR2/SIGHUP;
 * src/process/). Loggers write through it, so a switch is one reference change.
 */
export class LogOutput implements pino.DestinationStream {
  private sink: LogSink;

  constructor(sink: LogSink) {
    this.sink = sink;
  }

  write(text: string): void {
    this.sink.write(text);
  }

  /** Send the following lines to `sink`; returns the sink used until now. */
  use(sink: LogSink): LogSink {
    const previous = this.sink;
    this.sink = sink;
    return previous;
  }

  get current(): LogSink {
    return this.sink;
  }
}

/**
 * The structured fields of a log line about one client connection. JSON lines carry them
 * as top-level fields (`{"code":"UWR_ERR_CONNECT","key":"example.com","node":"127.0.0.1:3031",
 * "client_addr":"10.0.0.7","client_port":51334,"msg":"…"}`); plain lines print only `msg`,
 * which keeps saying the same in uWSGI's words. Calling convention:
 *   log.warn(connectionLogFields(code, peer, key, node), `[uwsgi-fastrouter] …`)
 */
export interface ConnectionLogFields {
  code: string;
  key?: string;
  node?: string;
  client_addr?: string;
  client_port?: number;
}

/** The fields for one connection's log line; empty key/node are left out. */
export function connectionLogFields(
  code: string,
  client?: { readonly address: string; readonly port: number },
  key?: string,
  node?: string,
): ConnectionLogFields {
  const f: ConnectionLogFields = { code };
  if (key) f.key = key;
  if (node) f.node = node;
  if (client) {
    f.client_addr = client.address;
    f.client_port = client.port;
  }
  return f;
}

/** The message text of a pino call: `(msg, ...args)`, `(fields, msg, ...args)` or `(err)`. */
function messageOf(args: unknown[]): string {
  let i = 0;
  let fallback = '';
  const first = args[0];
  if (typeof first === 'object' && first !== null) {
    i = 1;
    if (first instanceof Error) fallback = first.message;
    else if (typeof (first as { msg?: unknown }).msg === 'string') fallback = (first as { msg: string }).msg;
  }
  if (i >= args.length) return fallback;
  const msg = args[i];
  if (args.length === i + 1) return typeof msg === 'string' ? msg : formatText('%s', msg);
  return formatText(...(args.slice(i) as [unknown, ...unknown[]]));
}

/** pino wants a destination even when the hook writes every line itself */
const UNUSED_STREAM: pino.DestinationStream = { write() {} };

/**
 * Plain lines go to fd 2 with blocking writes (sonic-boom in sync mode retries EAGAIN), so
 * every line written before process.exit() is out: process.stderr queues writes to a full
 * pipe and lost lines at exit in test/logger.test.ts. Created on first use.
 */
let stderrSync: pino.DestinationStream | undefined;
function stderrWrite(text: string): void {
  stderrSync ??= pino.destination({ fd: 2, sync: true });
  stderrSync.write(text);
}

/** JSON lines to fd 2: pino flushes this asynchronous destination synchronously at exit. */
let stderrAsync: pino.DestinationStream | undefined;
function stderrJson(): pino.DestinationStream {
  stderrAsync ??= pino.destination({ fd: 2, sync: false });
  return stderrAsync;
}

/** stderr as each format writes it: plain lines synchronously, JSON lines buffered. */
export function stderrSink(format: LogFormat): LogSink {
  return format === 'json' ? stderrJson() : { write: stderrWrite };
}

/**
 * The process logger. `uwsgi` format prints just the message (optionally after the
 * `--log-date` time), so operators see the same lines uWSGI prints (spec: corerouter.md §9);
 * plain lines are written directly, never serialised to JSON. `json` prints pino's JSON
 * with the structured fields (code, key, node, client_addr, client_port) for log shippers.
 * Logs go to stderr, as uWSGI's do, or through `opts.output` (a log file).
 */
export function createLogger(format: LogFormat = 'uwsgi', level = 'info', opts: LoggerOptions = {}): Logger {
  const output = opts.output;
  if (format === 'json') {
    const stream = output ?? opts.stream ?? stderrJson();
    return pino({ level, base: { pid: process.pid } }, stream);
  }
  const write = output ? (text: string) => output.write(text) : (opts.write ?? stderrWrite);
  const prefix = opts.date === undefined ? null : logDatePrefix(opts.date);
  return pino(
    {
      level,
      base: undefined,
      timestamp: false,
      hooks: {
        // every enabled call lands here; pino's own serialisation is never reached
        logMethod(args) {
          const msg = messageOf(args as unknown[]);
          write(prefix === null ? `${msg}\n` : `${prefix()}${msg}\n`);
        },
      },
    },
    UNUSED_STREAM,
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
