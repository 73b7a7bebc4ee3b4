/**
 * A real JSON process logger whose lines are kept for assertions: `lines` holds each
 * line's message text (what a plain line prints), `records` the parsed JSON (level, code,
 * key, node, client fields), at every level from info up.
 */
import { createLogger, type Logger } from '../src/logger.ts';

export interface LogRecord {
  level: number;
  msg: string;
  code?: string;
  key?: string;
  node?: string;
  client_addr?: string;
  client_port?: number;
  [field: string]: unknown;
}

export const LEVEL = { info: 30, warn: 40, error: 50 } as const;

export interface CapturedLog {
  log: Logger;
  lines: string[];
  records: LogRecord[];
}

export function captureLogger(level = 'info'): CapturedLog {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const log = createLogger('json', level, {
    stream: {
      write(s: string) {
        const r = JSON.parse(s) as LogRecord;
        records.push(r);
        lines.push(r.msg);
      },
    },
  });
  return { log, lines, records };
}
