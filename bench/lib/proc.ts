/** CPU time and memory of a process and its descendants, from Linux /proc. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/PID/stat times (USER_HZ: 100 on Linux everywhere). */
export const CLOCK_TICKS = 100;

interface StatFields {
  ppid: number;
  utime: number;
  stime: number;
}

function readStat(pid: number): StatFields | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
  } catch {
    return undefined;
  }
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

/**
 * User + system CPU seconds used so far by `pid` (and, by default, its live descendants,
 * e.g. a uWSGI master's gateway processes). Compare two readings around a run.
 */
export function procCpuSeconds(pid: number, opts: { tree?: boolean } = {}): number {
  const pids = opts.tree === false ? [pid] : processTree(pid);
  let ticks = 0;
  for (const p of pids) {
    const s = readStat(p);
    if (s) ticks += s.utime + s.stime;
  }
  return ticks / CLOCK_TICKS;
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
