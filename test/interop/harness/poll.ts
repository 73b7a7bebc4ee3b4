/** Waiting for a condition in tests, and reading a router's stats document. */
import { setTimeout as sleep } from 'node:timers/promises';
import { rawRequest } from './http-client.ts';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** a check that throws is tried again until the deadline (else the error fails at once) */
  retryErrors?: boolean;
}

/** Resolve with the first value `check` returns that is not undefined; reject at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: PollOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (${String(last)})`}`);
    }
    await sleep(opts.intervalMs ?? 25);
  }
}

/**
 * The JSON document a uwrouter or uWSGI stats server writes on connect. A refused connection
 * is tried again for up to 2 s: routers bind their stats socket after their listeners, and
 * tests start reading as soon as a listener accepts (a loaded machine widened that gap).
 */
export async function readStatsJson<T>(port: number, timeoutMs = 5000): Promise<T> {
  const refusedUntil = Date.now() + 2000;
  for (;;) {
    try {
      return JSON.parse((await rawRequest(port, '', { timeoutMs })).toString('utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > refusedUntil) throw err;
      await sleep(25);
    }
  }
}
