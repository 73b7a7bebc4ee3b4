/** Run wrk (bounded in time, loopback only) and parse its `--latency` report. */
import { execFile } from 'node:child_process';

export interface WrkOptions {
  threads?: number;
  conns?: number;
  /** run length; capped at 5 s (benchmarks here are bounded) unless `allowLong` */
  seconds?: number;
  allowLong?: boolean;
  /** extra request headers */
  headers?: Record<string, string>;
  /** a wrk Lua script path (`-s`) */
  script?: string;
}

export interface WrkResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  latencyMs: { avg: number; p50: number; p75: number; p90: number; p99: number; max: number };
  errors: { connect: number; read: number; write: number; timeout: number; non2xx3xx: number };
  /** wrk's own output */
  raw: string;
}

export const WRK_BIN = process.env.WRK_BIN ?? 'wrk';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** `2.53ms` → 2.53, `812.00us` → 0.812, `1.02s` → 1020. */
export function parseDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

function num(re: RegExp, text: string): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Parse wrk 4.x output produced with `--latency`. */
export function parseWrkOutput(raw: string): WrkResult {
  const latencyLine = /^\s*Latency\s+(\S+)\s+\S+\s+(\S+)/m.exec(raw);
  const pct = (p: number) => {
    const m = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+(\\S+)`, 'm').exec(raw);
    return m ? parseDurationMs(m[1]!) : Number.NaN;
  };
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(raw);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: done ? Number(done[1]) : 0,
    durationSeconds: done ? parseDurationMs(`${done[2]}${done[3]}`) / 1000 : 0,
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/, raw),
    latencyMs: {
      avg: latencyLine ? parseDurationMs(latencyLine[1]!) : Number.NaN,
      max: latencyLine ? parseDurationMs(latencyLine[2]!) : Number.NaN,
      p50: pct(50),
      p75: pct(75),
      p90: pct(90),
      p99: pct(99),
    },
    errors: {
      connect: sock ? Number(sock[1]) : 0,
      read: sock ? Number(sock[2]) : 0,
      write: sock ? Number(sock[3]) : 0,
      timeout: sock ? Number(sock[4]) : 0,
      non2xx3xx: num(/Non-2xx or 3xx responses:\s+(\d+)/, raw),
    },
    raw,
  };
}

/** All errors wrk counted (socket errors and non-2xx/3xx answers). */
export function wrkErrorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.timeout + e.non2xx3xx;
}

/** `wrk --latency -tT -cC -dSs URL`; rejects when wrk fails or prints no summary. */
export function runWrk(url: string, opts: WrkOptions = {}): Promise<WrkResult> {
  const u = new URL(url);
  if (!['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) {
    return Promise.reject(new Error(`runWrk: only loopback targets are allowed, not ${u.hostname}`));
  }
  const seconds = opts.allowLong ? (opts.seconds ?? 5) : Math.min(opts.seconds ?? 5, 5);
  const threads = opts.threads ?? 2;
  const conns = Math.max(opts.conns ?? 50, threads);
  const args = ['--latency', '-t', String(threads), '-c', String(conns), '-d', `${seconds}s`];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (opts.script) args.push('-s', opts.script);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(
      WRK_BIN,
      args,
      { timeout: (seconds + 15) * 1000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const raw = `${stdout}${stderr}`;
        if (err) {
          reject(new Error(`wrk failed: ${err.message}\n${raw}`));
          return;
        }
        const result = parseWrkOutput(raw);
        if (!(result.requests > 0) && !/requests in/.test(raw))
          reject(new Error(`wrk printed no summary:\n${raw}`));
        else resolve(result);
      },
    );
  });
}
