/**
 * The log lines a router writes about one client connection (a refused request, a node
 * that failed, a timeout): the message in uWSGI's words (spec: corerouter.md §9) plus, in
 * JSON, the fields code/key/node/client_addr/client_port (logger.ts connectionLogFields).
 *
 * Rate-limited per router and per code: at most `perSecond` lines of one code in one
 * second; the rest are counted and summed up in one line per code after that second
 * ("[uwsgi-http] 1980 more UWR_ERR_TIMEOUT lines suppressed in the last 1 s"), so 2,000
 * clients timing out together cost ~20 lines, not 2,000. Counters are kept by the callers
 * and never limited. Levels: info for client mistakes, warn for node and routing failures,
 * error for the router's own failures.
 */
import { connectionLogFields, type Logger } from './logger.ts';
import { LogLimiter } from './subscription/log-limiter.ts';

export type ConnectionLogLevel = 'info' | 'warn' | 'error';

const RANK: Record<ConnectionLogLevel, number> = { info: 0, warn: 1, error: 2 };

/** The lines of one code: a LogLimiter capping them per second (no per-key interval). */
interface CodeLines {
  readonly limiter: LogLimiter;
  /** `limiter.suppressed` at the last summary */
  reported: number;
  /** the most severe level suppressed since the last summary */
  level: ConnectionLogLevel;
}

export const CONNECTION_LINES_PER_SECOND = 20;

export class ConnectionLog {
  private readonly log: Logger;
  /** `uwsgi-http`, `uwsgi-fastrouter`, … */
  private readonly prefix: string;
  private readonly perSecond: number;
  private readonly now: () => number;
  private readonly codes = new Map<string, CodeLines>();
  private timer: NodeJS.Timeout | null = null;
  /** lines suppressed since start */
  suppressed = 0;

  constructor(log: Logger, prefix: string, perSecond = CONNECTION_LINES_PER_SECOND, now = Date.now) {
    this.log = log;
    this.prefix = prefix;
    this.perSecond = perSecond;
    this.now = now;
  }

  /** One line about one client connection, unless its code is over the rate this second. */
  line(
    level: ConnectionLogLevel,
    code: string,
    client: { readonly address: string; readonly port: number } | undefined,
    key: string,
    node: string,
    msg: string,
  ): void {
    if (this.allow(level, code)) this.log[level](connectionLogFields(code, client, key, node), msg);
  }

  /** Whether a line of `code` at `level` is written now (else it is counted for the summary). */
  private allow(level: ConnectionLogLevel, code: string): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
    let c = this.codes.get(code);
    if (c === undefined) {
      // interval 0: no per-key limit, only `perSecond` lines per second
      c = { limiter: new LogLimiter(0, 1, this.perSecond), reported: 0, level };
      this.codes.set(code, c);
    }
    if (!c.limiter.allow('', code, Math.floor(this.now() / 1000))) {
      this.suppressed++;
      if (c.limiter.suppressed - c.reported === 1 || RANK[level] > RANK[c.level]) c.level = level;
      // the summary comes once the second is over
      if (this.timer === null) {
        this.timer = setTimeout(this.summarize, 1000 - (this.now() % 1000) + 1);
        this.timer.unref();
      }
      return false;
    }
    return true;
  }

  /**
   * A line in uWSGI's per-connection shape (spec: corerouter.md §9):
   * `[uwsgi-http key: K client_addr: A client_port: P] why` (no `key:` before it is known);
   * the text is built only when the line is written.
   */
  about(
    level: ConnectionLogLevel,
    code: string,
    client: { readonly address: string; readonly port: number },
    key: string,
    node: string,
    why: string,
  ): void {
    if (!this.allow(level, code)) return;
    const k = key === '' ? '' : `key: ${key} `;
    this.log[level](
      connectionLogFields(code, client, key, node),
      `[${this.prefix} ${k}client_addr: ${client.address} client_port: ${client.port}] ${why}`,
    );
  }

  /** Writes the pending summary lines now (at router close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.summarize();
  }

  private readonly summarize = (): void => {
    this.timer = null;
    for (const [code, c] of this.codes) {
      const n = c.limiter.suppressed - c.reported;
      if (n === 0) continue;
      c.reported = c.limiter.suppressed;
      this.log[c.level](
        { code, suppressed: n },
        `[${this.prefix}] ${n} more ${code} line${n === 1 ? '' : 's'} suppressed in the last 1 s`,
      );
    }
  };
}
