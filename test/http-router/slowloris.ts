/**
 * The slowloris scenario, run by the functional test (session-slow.test.ts: what must happen)
 * and by the load lane (test/load/session-slow.load.test.ts: how fast): 200 connections
 * trickle a request head one byte every 250 ms against `--http-headers-timeout`, while a
 * normal client sends 50 requests one after the other.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import {
  answer,
  onCleanup,
  rawExchange,
  type StartedRouter,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

/** `--http-headers-timeout` of the scenario, in seconds */
export const HEADERS_TIMEOUT_S = 2;
export const SLOW_CLIENTS = 200;
export const NORMAL_REQUESTS = 50;

export interface SlowlorisRun {
  router: StartedRouter;
  /** each normal request's answer */
  normalAnswers: string[];
  /** each normal request's duration, ms */
  normalMs: number[];
  /** slow connections the router had closed when the last normal request was answered */
  closedDuringNormal: number;
  /** when each slow connection was closed, ms after the first of them began to connect */
  closedAtMs: number[];
  /**
   * how long each slow connection was open, from its own connect to its close (200 connects
   * in a burst overflow the default `--listen 100` accept queue: the kernel retries the
   * dropped SYNs 1 s later, so about half the heads start, and end, a second after the rest)
   */
  openMs: number[];
}

/**
 * Runs the scenario; resolves once every slow connection is closed, or rejects after
 * `closeWithinMs` (an inactivity timer, which the trickle keeps re-arming, would never
 * close them).
 */
export async function runSlowloris(closeWithinMs = 15_000): Promise<SlowlorisRun> {
  const n = await uwsgiNode(answer('fast'));
  const router = await startRouter([
    '--http-to',
    n.address,
    '--http-headers-timeout',
    String(HEADERS_TIMEOUT_S),
    '--http-keepalive',
  ]);
  const slow: Socket[] = [];
  const closedAtMs: number[] = [];
  const openMs: number[] = [];
  // before the first connect: the router accepts each one later, so its deadline ends later
  const t0 = performance.now();
  for (let i = 0; i < SLOW_CLIENTS; i++) {
    const s = connect(router.port, '127.0.0.1');
    let connectedAt = Number.NaN;
    s.on('connect', () => {
      connectedAt = performance.now();
    });
    s.on('error', () => {});
    s.on('close', () => {
      const now = performance.now();
      closedAtMs.push(now - t0);
      openMs.push(now - connectedAt);
    });
    slow.push(s);
  }
  onCleanup(() => {
    for (const s of slow) s.destroy();
  });
  await Promise.all(slow.map((s) => once(s, 'connect')));
  for (const s of slow) s.write('GET / HTTP/1.1\r\n');
  // a header byte from each every 250 ms: an inactivity timer would never fire
  const trickle = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write('X');
  }, 250);
  onCleanup(() => clearInterval(trickle));
  const normalAnswers: string[] = [];
  const normalMs: number[] = [];
  for (let i = 0; i < NORMAL_REQUESTS; i++) {
    const t = performance.now();
    normalAnswers.push(
      await rawExchange(router.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
    );
    normalMs.push(performance.now() - t);
  }
  const closedDuringNormal = closedAtMs.length;
  await waitFor(() => closedAtMs.length === SLOW_CLIENTS, closeWithinMs);
  clearInterval(trickle);
  return { router, normalAnswers, normalMs, closedDuringNormal, closedAtMs, openMs };
}
