/** CPU time and memory of a process and its descendants, from Linux /proc. */
import { readdirSync, readFileSync } from 'node:fs';
import { procStat } from '../../src/process/proc-stat.ts';

/** Clock ticks per second for /proc/PID/stat times (USER_HZ: 100 on Linux everywhere). */
export const CLOCK_TICKS = 100;

interface StatFields {
  ppid: number;
  utime: number;
  stime: number;
  /** start time after boot (ticks): tells a reused pid from the process it was */
  starttime: number;
}

function readStat(pid: number): StatFields | undefined {
  const f = procStat(pid);
  if (f === undefined) return undefined;
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), starttime: Number(f[19]) };
}

/** `pid` and all its live descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid);
    if (list) list.push(Number(name));
    else children.set(s.ppid, [Number(name)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds in user and in system mode. */
export interface CpuTimes {
  user: number;
  system: number;
}

/**
 * User and system CPU seconds used so far by `pid` and, by default, its live descendants (a
 * uWSGI master's gateways, a uwrouter primary's workers). Compare two readings around a run;
 * a descendant that exits between them takes its CPU time with it (its parent's cutime
 * counts it only once reaped), so runs with a process restarting under them read low.
 */
export function procCpuTimes(pid: number, opts: { tree?: boolean } = {}): CpuTimes {
  const pids = opts.tree === false ? [pid] : processTree(pid);
  let user = 0;
  let system = 0;
  for (const p of pids) {
    const s = readStat(p);
    if (s) {
      user += s.utime;
      system += s.stime;
    }
  }
  return { user: user / CLOCK_TICKS, system: system / CLOCK_TICKS };
}

/** Per-process CPU ticks of a process tree at one moment (see `cpuSince`). */
export type CpuSnapshot = Map<number, StatFields>;

export function cpuSnapshot(pid: number): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const p of processTree(pid)) {
    const s = readStat(p);
    if (s) out.set(p, s);
  }
  return out;
}

/**
 * CPU used by the tree of `pid` since `before`, process by process: a process that started
 * since counts whole, one that exited counts nothing after `before` (its last ticks are
 * lost, never subtracted), so a worker restarted during a run cannot make the figure
 * negative; a reused pid is told apart by its start time.
 */
export function cpuSince(before: CpuSnapshot, pid: number): CpuTimes {
  let user = 0;
  let system = 0;
  for (const [p, now] of cpuSnapshot(pid)) {
    const then = before.get(p);
    const same = then !== undefined && then.starttime === now.starttime;
    user += now.utime - (same ? then.utime : 0);
    system += now.stime - (same ? then.stime : 0);
  }
  return { user: user / CLOCK_TICKS, system: system / CLOCK_TICKS };
}

/** User + system CPU seconds used so far by `pid` (and, by default, its live descendants). */
export function procCpuSeconds(pid: number, opts: { tree?: boolean } = {}): number {
  const t = procCpuTimes(pid, opts);
  return t.user + t.system;
}

/**
 * Memory of a process (tree), in bytes. RSS counts a page once per process that maps it, so a
 * primary and its forked workers each count the node binary's ~50 MB of shared file pages; PSS
 * divides each page by the number of processes mapping it (the tree's PSS is what the tree
 * really adds to the machine); private is what only one process maps (Private_Clean +
 * Private_Dirty: freed when that process exits).
 */
export interface MemoryBytes {
  rss: number;
  pss: number;
  private: number;
  /** processes read */
  processes: number;
}

/**
 * The kB fields of /proc/PID/smaps_rollup (Linux ≥ 4.14) in bytes; NaN for a field missing
 * (a text that is not smaps_rollup gives NaN everywhere, never a made-up 0).
 */
export function parseSmapsRollup(text: string): Omit<MemoryBytes, 'processes'> {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  };
  return {
    rss: field('Rss'),
    pss: field('Pss'),
    private: field('Private_Clean') + field('Private_Dirty'),
  };
}

/**
 * RSS, PSS and private memory of `pid` and, by default, its live descendants, summed over the
 * processes from their smaps_rollup (a process gone between listing and reading counts nothing).
 */
export function procMemoryBytes(pid: number, opts: { tree?: boolean } = {}): MemoryBytes {
  const pids = opts.tree === false ? [pid] : processTree(pid);
  const sum: MemoryBytes = { rss: 0, pss: 0, private: 0, processes: 0 };
  for (const p of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
    } catch {
      continue; // gone
    }
    const m = parseSmapsRollup(text);
    sum.rss += m.rss;
    sum.pss += m.pss;
    sum.private += m.private;
    sum.processes += 1;
  }
  if (sum.processes === 0) return { rss: Number.NaN, pss: Number.NaN, private: Number.NaN, processes: 0 };
  return sum;
}

/** Resident set size in bytes of `pid` (and, by default, its live descendants). */
export function procRssBytes(pid: number, opts: { tree?: boolean } = {}): number {
  const pids = opts.tree === false ? [pid] : processTree(pid);
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb * 1024;
}

/** `{ rssBytes, pssBytes }` of the tree of `pid` (NaN without one), for a run's record. */
export function memoryOf(pid: number | undefined): { rssBytes: number; pssBytes: number } {
  const m = pid !== undefined ? procMemoryBytes(pid) : undefined;
  return { rssBytes: m ? m.rss : Number.NaN, pssBytes: m ? m.pss : Number.NaN };
}
