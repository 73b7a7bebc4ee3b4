/**
 * Bulk transfer through a relay: the bench connects, writes one line (so a router that waits
 * for the client's first bytes connects too), and reads until the node closes after MIB MiB.
 * MiB/s and the relay's CPU per MiB (user and system apart) over a few transfers in a row.
 */
import { connect } from 'node:net';
import type { ServerHandle } from '../../test/interop/harness/server-process.ts';
import { cpuSince, cpuSnapshot, memoryOf } from './proc.ts';
import { type RoundUnit, unitOf } from './rounds.ts';
import type { Role } from './scenario.ts';
import { fmt, median } from './stats.ts';

export interface TransferRun {
  mibPerSecond: number;
  cpuUserUsPerMiB: number;
  cpuSystemUsPerMiB: number;
  rssBytes: number;
  /** proportional set size of the tree (shared pages divided among its processes) */
  pssBytes: number;
}

export interface TransferTarget {
  id: string;
  label: string;
  role: Role;
  port?: number;
  router?: ServerHandle;
  failure?: string;
  skipped?: string;
  runs: TransferRun[];
}

/** Bytes read from 127.0.0.1:`port` until the peer closes (rejects after `timeoutMs`). */
export function download(port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`transfer not done within ${timeoutMs} ms (${bytes} bytes read)`));
    }, timeoutMs);
    s.on('connect', () => s.write('GET /blob\n'));
    s.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(bytes);
    });
  });
}

/** `transfers` downloads of `mib` MiB in a row through the target; one run. */
export async function measureTransfers(
  t: TransferTarget,
  mib: number,
  transfers: number,
): Promise<TransferRun> {
  const pid = t.router?.pid;
  const before = pid !== undefined ? cpuSnapshot(pid) : undefined;
  const t0 = performance.now();
  for (let i = 0; i < transfers; i++) {
    const got = await download(t.port!, 60000);
    if (got !== mib * 1048576) throw new Error(`read ${got} bytes, not ${mib} MiB`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = pid !== undefined && before ? cpuSince(before, pid) : undefined;
  const total = mib * transfers;
  return {
    mibPerSecond: total / seconds,
    cpuUserUsPerMiB: used ? (used.user / total) * 1e6 : Number.NaN,
    cpuSystemUsPerMiB: used ? (used.system / total) * 1e6 : Number.NaN,
    ...memoryOf(pid),
  };
}

export function transferUnit(t: TransferTarget, mib: number, transfers: number): RoundUnit {
  return unitOf(
    t,
    {
      ready: () => t.port !== undefined,
      warm: async () => {
        await measureTransfers(t, mib, 1);
      },
      measure: async () => {
        const r = await measureTransfers(t, mib, transfers);
        t.runs.push(r);
        return `${fmt(r.mibPerSecond)} MiB/s, ${fmt(r.cpuUserUsPerMiB + r.cpuSystemUsPerMiB, 0)} µs CPU/MiB`;
      },
    },
    `, ${mib} MiB`,
  );
}

export interface TransferSummary {
  mibPerSecond: number;
  cpuUserUsPerMiB: number;
  cpuSystemUsPerMiB: number;
  rssBytes: number;
  /** proportional set size of the tree (shared pages divided among its processes) */
  pssBytes: number;
}

export function summarizeTransfers(runs: readonly TransferRun[]): TransferSummary {
  return {
    mibPerSecond: median(runs.map((r) => r.mibPerSecond)),
    cpuUserUsPerMiB: median(runs.map((r) => r.cpuUserUsPerMiB)),
    cpuSystemUsPerMiB: median(runs.map((r) => r.cpuSystemUsPerMiB)),
    rssBytes: runs.length ? Math.max(...runs.map((r) => r.rssBytes)) : Number.NaN,
    pssBytes: runs.length ? Math.max(...runs.map((r) => r.pssBytes)) : Number.NaN,
  };
}
