import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'uwsgi' | 'json';

/**
 * The process logger. `uwsgi` format prints just the message, so operators see the same
 * lines uWSGI prints (spec: corerouter.md §9); `json` prints pino's JSON with the
 * structured fields (code, key, node, client) for log shippers.
 * Logs go to stderr, as uWSGI's do.
 */
export function createLogger(format: LogFormat = 'uwsgi', level = 'info'): Logger {
  if (format === 'json') {
    return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
  }
  // Plain lines: errors and lifecycle only, never per request, so parsing the JSON line
  // back here costs nothing that matters.
  const plain = new Writable({
    write(chunk: Buffer, _enc, cb) {
      try {
        const o = JSON.parse(chunk.toString('utf8')) as { msg?: string };
        process.stderr.write(`${o.msg ?? ''}\n`);
      } catch {
        process.stderr.write(chunk);
      }
      cb();
    },
  });
  return pino({ level, base: undefined, timestamp: false }, plain);
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
