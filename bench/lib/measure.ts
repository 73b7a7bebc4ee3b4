/** One measured load run: wrk against a URL while reading a router's CPU time and memory. */
import { cpuSince, cpuSnapshot, procRssBytes } from './proc.ts';
import { median } from './stats.ts';
import { runWrk, type WrkOptions, type WrkResult, wrkErrorCount } from './wrk.ts';

export interface Measurement {
  wrk: WrkResult;
  /** CPU seconds the measured process tree used during the run (NaN without a pid) */
  cpuSeconds: number;
  /** CPU microseconds per completed request, user + system */
  cpuUsPerRequest: number;
  /** of which in user mode */
  cpuUserUsPerRequest: number;
  /** of which in the kernel */
  cpuSystemUsPerRequest: number;
  /** RSS of the measured process tree right after the run */
  rssBytes: number;
}

/** Run wrk against `url`, measuring the process tree rooted at `pid` (if given). */
export async function measureRun(
  url: string,
  pid: number | undefined,
  opts: WrkOptions = {},
): Promise<Measurement> {
  const before = pid !== undefined ? cpuSnapshot(pid) : undefined;
  const wrk = await runWrk(url, opts);
  const used = pid !== undefined && before ? cpuSince(before, pid) : undefined;
  const user = used ? used.user : Number.NaN;
  const system = used ? used.system : Number.NaN;
  const per = (s: number) => (wrk.requests > 0 ? (s / wrk.requests) * 1e6 : Number.NaN);
  return {
    wrk,
    cpuSeconds: user + system,
    cpuUsPerRequest: per(user + system),
    cpuUserUsPerRequest: per(user),
    cpuSystemUsPerRequest: per(system),
    rssBytes: pid !== undefined ? procRssBytes(pid) : Number.NaN,
  };
}

export interface Summary {
  runs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  cpuUserUsPerRequest: number;
  cpuSystemUsPerRequest: number;
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
    cpuUserUsPerRequest: median(ms.map((m) => m.cpuUserUsPerRequest)),
    cpuSystemUsPerRequest: median(ms.map((m) => m.cpuSystemUsPerRequest)),
    rssBytes: ms.length > 0 ? Math.max(...ms.map((m) => m.rssBytes)) : Number.NaN,
    errors: ms.reduce((n, m) => n + wrkErrorCount(m.wrk), 0),
  };
}
