/** One measured load run: wrk against a URL while reading a router's CPU time and memory. */
import { procCpuSeconds, procRssBytes } from './proc.ts';
import { median } from './stats.ts';
import { runWrk, type WrkOptions, type WrkResult, wrkErrorCount } from './wrk.ts';

export interface Measurement {
  wrk: WrkResult;
  /** CPU seconds the measured process tree used during the run (NaN without a pid) */
  cpuSeconds: number;
  /** CPU microseconds per completed request */
  cpuUsPerRequest: number;
  /** RSS of the measured process tree right after the run */
  rssBytes: number;
}

/** Run wrk against `url`, measuring the process tree rooted at `pid` (if given). */
export async function measureRun(
  url: string,
  pid: number | undefined,
  opts: WrkOptions = {},
): Promise<Measurement> {
  const before = pid !== undefined ? procCpuSeconds(pid) : Number.NaN;
  const wrk = await runWrk(url, opts);
  const cpuSeconds = pid !== undefined ? procCpuSeconds(pid) - before : Number.NaN;
  return {
    wrk,
    cpuSeconds,
    cpuUsPerRequest: wrk.requests > 0 ? (cpuSeconds / wrk.requests) * 1e6 : Number.NaN,
    rssBytes: pid !== undefined ? procRssBytes(pid) : Number.NaN,
  };
}

export interface Summary {
  runs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  /** the largest RSS seen after a run */
  rssBytes: number;
  /** errors summed over all runs */
  errors: number;
}

/** Medians over several measurements of the same topology. */
export function summarize(ms: readonly Measurement[]): Summary {
  return {
    runs: ms.length,
    requestsPerSecond: median(ms.map((m) => m.wrk.requestsPerSecond)),
    p50Ms: median(ms.map((m) => m.wrk.latencyMs.p50)),
    p99Ms: median(ms.map((m) => m.wrk.latencyMs.p99)),
    cpuUsPerRequest: median(ms.map((m) => m.cpuUsPerRequest)),
    rssBytes: ms.length > 0 ? Math.max(...ms.map((m) => m.rssBytes)) : Number.NaN,
    errors: ms.reduce((n, m) => n + wrkErrorCount(m.wrk), 0),
  };
}
