/** One measured load run: wrk against a URL while reading a router's CPU time and memory. */
import { cpuSince, cpuSnapshot, procMemoryBytes } from './proc.ts';
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
  /** RSS of the measured process tree right after the run (shared pages once per process) */
  rssBytes: number;
  /** PSS of the tree at the same moment (each shared page divided among its processes) */
  pssBytes: number;
  /** memory private to one process of the tree (Private_Clean + Private_Dirty), summed */
  privateBytes: number;
  /** processes in the tree when the memory was read */
  processes: number;
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
  const mem = pid !== undefined ? procMemoryBytes(pid) : undefined;
  return {
    wrk,
    cpuSeconds: user + system,
    cpuUsPerRequest: per(user + system),
    cpuUserUsPerRequest: per(user),
    cpuSystemUsPerRequest: per(system),
    rssBytes: mem ? mem.rss : Number.NaN,
    pssBytes: mem ? mem.pss : Number.NaN,
    privateBytes: mem ? mem.private : Number.NaN,
    processes: mem ? mem.processes : 0,
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
  /** the largest PSS seen after a run */
  pssBytes: number;
  /** the largest private memory seen after a run */
  privateBytes: number;
  /** the most processes the tree had after a run (0 without a pid) */
  processes: number;
  /** errors summed over all runs */
  errors: number;
}

const largest = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : Number.NaN);

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
    rssBytes: largest(ms.map((m) => m.rssBytes)),
    pssBytes: largest(ms.map((m) => m.pssBytes)),
    privateBytes: largest(ms.map((m) => m.privateBytes)),
    processes: ms.length > 0 ? Math.max(...ms.map((m) => m.processes)) : 0,
    errors: ms.reduce((n, m) => n + wrkErrorCount(m.wrk), 0),
  };
}
