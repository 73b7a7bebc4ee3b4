/**
 * The one summary of a bench run: every uwrouter figure beside its peer's with the ratio,
 * whatever was measured (req/s, handshakes/s, MiB/s, KiB per tunnel, keys/s), and the
 * sections of a run that are not wrk scenarios (transfers, handshakes, tunnels, intake).
 */
import type { RoundUnit } from './rounds.ts';
import { pairLabel, summaryOf, type WrkScenario } from './scenario.ts';
import { fmt, markdownTable, ratio } from './stats.ts';

export interface Figure {
  label: string;
  value: number;
  /** CPU per unit of work (request, handshake, MiB), user and system */
  cpuUser?: number;
  cpuSystem?: number;
  rssBytes?: number;
  /** proportional set size: shared pages divided among the processes that map them */
  pssBytes?: number;
}

export interface Comparison {
  /** stable, for the goals (`tunnel-uwsgi`, `intake-top`, …) */
  id?: string;
  /** what is measured, e.g. `HTTP router → uwsgi node, keepalive` */
  path: string;
  unit: string;
  /** `µs/req`, `µs/handshake`, `µs/MiB` */
  cpuUnit?: string;
  higherIsBetter: boolean;
  ours: Figure;
  peer: Figure;
}

/** A part of a run that is not a wrk scenario. */
export interface Section {
  id: string;
  /** started before the rounds */
  start?(): Promise<void>;
  /** measured in the alternating rounds */
  units?(): RoundUnit[];
  /** measured after the rounds, alone (memory, bursts) */
  run?(): Promise<void>;
  print(): void;
  comparisons(): Comparison[];
  /** what failed or was skipped */
  items(): Array<{ label: string; failure?: string; skipped?: string }>;
  json(): unknown;
}

/** The comparisons of a wrk scenario's pairs (those with runs on both sides). */
export function wrkComparisons(s: WrkScenario): Comparison[] {
  return s.pairs
    .filter(([a, b]) => a.runs.length > 0 && b.runs.length > 0)
    .map(([a, b]) => {
      const fig = (t: typeof a): Figure => {
        const m = summaryOf(t);
        return {
          label: pairLabel(t),
          value: m.requestsPerSecond,
          cpuUser: m.cpuUserUsPerRequest,
          cpuSystem: m.cpuSystemUsPerRequest,
          rssBytes: m.rssBytes,
          pssBytes: m.pssBytes,
        };
      };
      return {
        path: a.path ?? s.title,
        unit: 'req/s',
        cpuUnit: 'µs/req',
        higherIsBetter: true,
        ours: fig(a),
        peer: fig(b),
      };
    });
}

const cpu = (f: Figure) => (f.cpuUser ?? Number.NaN) + (f.cpuSystem ?? Number.NaN);

/** `25.3 (18.1 + 7.2)` */
function cpuCell(f: Figure): string {
  if (!Number.isFinite(cpu(f))) return '—';
  return `${fmt(cpu(f), 1)} (${fmt(f.cpuUser!, 1)} + ${fmt(f.cpuSystem!, 1)})`;
}

function valueCell(f: Figure, unit: string): string {
  const digits = f.value < 100 ? 2 : 0;
  return unit.startsWith('%') ? `${fmt(f.value, 2)}${unit}` : `${fmt(f.value, digits)} ${unit}`;
}

const mib = (b: number | undefined) => fmt((b ?? Number.NaN) / 1048576, 1);

/** `150.2 / 40.3`: uwrouter's figure then the peer's, MiB ('—' when uwrouter's was not measured). */
function memoryCell(ours: number | undefined, peer: number | undefined): string {
  return Number.isFinite(ours ?? Number.NaN) ? `${mib(ours)} / ${mib(peer)}` : '—';
}

/** The summary table: one row per comparison. */
export function summaryTable(cs: readonly Comparison[]): string {
  return markdownTable(
    [
      'path',
      'uwrouter',
      'peer',
      'peer figure',
      'ratio',
      'CPU uwrouter (user + sys)',
      'CPU peer (user + sys)',
      'CPU ratio',
      'RSS MiB uwrouter / peer',
      'PSS MiB uwrouter / peer',
    ],
    cs.map((c) => [
      c.path,
      valueCell(c.ours, c.unit),
      c.peer.label,
      valueCell(c.peer, c.unit),
      `${ratio(c.ours.value, c.peer.value)}${c.higherIsBetter ? '' : ' (lower is better)'}`,
      c.cpuUnit && Number.isFinite(cpu(c.ours)) ? `${cpuCell(c.ours)} ${c.cpuUnit}` : '—',
      c.cpuUnit && Number.isFinite(cpu(c.peer)) ? `${cpuCell(c.peer)} ${c.cpuUnit}` : '—',
      ratio(cpu(c.ours), cpu(c.peer)),
      memoryCell(c.ours.rssBytes, c.peer.rssBytes),
      memoryCell(c.ours.pssBytes, c.peer.pssBytes),
    ]),
  );
}
