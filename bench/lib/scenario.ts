/**
 * A wrk scenario: the topologies one path is measured through (uwrouter, its peers, a
 * reference without a router), which of them are compared, and how it is printed. The
 * per-path benches and the whole run (bench/all.ts) build the same scenarios; topologies of
 * every scenario then go through one set of alternating rounds.
 */
import type { ServerHandle } from '../../test/interop/harness/server-process.ts';
import { firstLines } from './context.ts';
import { type Summary, summarize } from './measure.ts';
import { checkHelloWorld, type Target } from './rounds.ts';
import { fmt, markdownTable, ratio } from './stats.ts';

/** uwrouter, uWSGI, another peer (nginx, HAProxy, a Node.js proxy), or no router at all. */
export type Role = 'uwrouter' | 'uwsgi' | 'peer' | 'reference';

export interface Started {
  router?: ServerHandle;
  url: string;
}

export interface Topology extends Target {
  /** short and stable: the JSON's key and `--profile-scenario`'s value */
  id: string;
  role: Role;
  /** starts it (uwrouter with `nodeArgs` added to its node flags: the profile's `--cpu-prof`) */
  launch: (nodeArgs?: string[]) => Promise<Started>;
  /** after starting: why it cannot be measured on this build (sets `skipped`) */
  check?: (started: Started) => Promise<string | undefined>;
  /** its name in the summary table (default: the label) */
  short?: string;
  /** a uwrouter topology's row name in the summary table (default: the scenario's title) */
  path?: string;
  started?: boolean;
}

export function topology(
  id: string,
  label: string,
  role: Role,
  launch: Topology['launch'],
  more: Pick<Topology, 'check' | 'short' | 'path'> = {},
): Topology {
  return { id, label, role, launch, runs: [], ...more };
}

/** How the summary names a topology. */
export function pairLabel(t: Topology): string {
  return t.short ?? t.label;
}

export interface WrkScenario {
  id: string;
  title: string;
  /** what is measured, printed above the table */
  about: string;
  topologies: Topology[];
  /** the ratio column divides by this one's req/s */
  base: Topology;
  /** [uwrouter, peer] pairs: the ratio lines and the summary */
  pairs: Array<[Topology, Topology]>;
  /** lines printed after the ratios (what the errors mean, scaling, …) */
  notes?: () => string[];
}

/** Starts a topology once (shared topologies appear in several scenarios) and checks its answer. */
export async function startTopology(t: Topology): Promise<void> {
  if (t.started) return;
  t.started = true;
  try {
    const s = await t.launch();
    t.router = s.router;
    t.url = s.url;
    t.skipped = await t.check?.(s);
  } catch (err) {
    t.failure = `did not start: ${firstLines(err)}`;
    return;
  }
  await checkHelloWorld(t);
}

/** The distinct topologies of some scenarios, in order. */
export function topologiesOf(scenarios: readonly WrkScenario[]): Topology[] {
  return [...new Set(scenarios.flatMap((s) => s.topologies))];
}

const summaries = new WeakMap<Topology, Summary>();

/** The medians of a topology's runs (computed once its runs are in). */
export function summaryOf(t: Topology): Summary {
  let s = summaries.get(t);
  if (!s || s.runs !== t.runs.length) {
    s = summarize(t.runs);
    summaries.set(t, s);
  }
  return s;
}

const mib = (b: number) => fmt(b / 1048576, 1);

/** The scenario's table: medians, CPU per request user and system apart, RSS/PSS/private, req/s × base. */
export function wrkScenarioTable(s: WrkScenario): string {
  const base = summaryOf(s.base);
  const rows = s.topologies.map((t) => {
    const m = summaryOf(t);
    if (t.runs.length === 0)
      return [t.label, t.skipped ? 'skipped' : 'FAILED', '', '', '', '', '', '', '', '', '', ''];
    const own = t.router !== undefined;
    return [
      t.label,
      fmt(m.requestsPerSecond),
      fmt(m.p50Ms, 2),
      fmt(m.p99Ms, 2),
      fmt(m.errors),
      own ? fmt(m.cpuUsPerRequest, 1) : '—',
      own ? fmt(m.cpuUserUsPerRequest, 1) : '—',
      own ? fmt(m.cpuSystemUsPerRequest, 1) : '—',
      own ? mib(m.rssBytes) : '—',
      own ? mib(m.pssBytes) : '—',
      own ? mib(m.privateBytes) : '—',
      ratio(m.requestsPerSecond, base.requestsPerSecond),
    ];
  });
  return markdownTable(
    [
      'topology',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU µs/req',
      'user',
      'sys',
      'RSS MiB',
      'PSS MiB',
      'private MiB',
      `req/s × ${s.base.role === 'uwsgi' ? 'uWSGI' : s.base.label.split(' ')[0]}`,
    ],
    rows,
  );
}

/** `uwrouter … / uWSGI …: req/s 0.83×, CPU/req 1.22× (user 2.10×, sys 0.95×), p99 1.10×, RSS 11.2×, PSS 7.5×` */
export function pairLine(ours: Topology, peer: Topology): string {
  const a = summaryOf(ours);
  const b = summaryOf(peer);
  return (
    `${ours.label} / ${peer.label}: req/s ${ratio(a.requestsPerSecond, b.requestsPerSecond)}, ` +
    `CPU/req ${ratio(a.cpuUsPerRequest, b.cpuUsPerRequest)} (user ${ratio(a.cpuUserUsPerRequest, b.cpuUserUsPerRequest)}, ` +
    `sys ${ratio(a.cpuSystemUsPerRequest, b.cpuSystemUsPerRequest)}), p99 ${ratio(a.p99Ms, b.p99Ms)}, ` +
    `RSS ${ratio(a.rssBytes, b.rssBytes)}, PSS ${ratio(a.pssBytes, b.pssBytes)}`
  );
}

/** The whole printed section of a scenario. */
export function printWrkScenario(s: WrkScenario, head: string): void {
  console.log(`\n### ${s.title}\n\n${s.about} ${head}\n`);
  console.log(wrkScenarioTable(s));
  const lines = s.pairs
    .filter(([a, b]) => a.runs.length && b.runs.length)
    .map(([a, b]) => `- ${pairLine(a, b)}`);
  const notes = s.notes?.() ?? [];
  if (lines.length + notes.length > 0)
    console.log(`\n${[...lines, ...notes.map((n) => `- ${n}`)].join('\n')}`);
}

/** A topology's result for the JSON file (wrk's raw output left out). */
export function topologyJson(t: Topology): Record<string, unknown> {
  return {
    id: t.id,
    label: t.label,
    role: t.role,
    failure: t.failure,
    skipped: t.skipped,
    summary: t.runs.length ? summaryOf(t) : undefined,
    runs: t.runs.map((m) => ({
      requestsPerSecond: m.wrk.requestsPerSecond,
      requests: m.wrk.requests,
      latencyMs: m.wrk.latencyMs,
      errors: m.wrk.errors,
      cpuUserUsPerRequest: m.cpuUserUsPerRequest,
      cpuSystemUsPerRequest: m.cpuSystemUsPerRequest,
      rssBytes: m.rssBytes,
      pssBytes: m.pssBytes,
      privateBytes: m.privateBytes,
      processes: m.processes,
    })),
  };
}

/**
 * The scenario with only the topologies whose id is in `ids` (the pairs between them kept;
 * the base is the old one if kept, else the first non-uwrouter left); undefined when none is left.
 */
export function narrowScenario(s: WrkScenario, ids: ReadonlySet<string>): WrkScenario | undefined {
  const topologies = s.topologies.filter((t) => ids.has(t.id));
  if (topologies.length === 0) return undefined;
  const base = topologies.includes(s.base)
    ? s.base
    : (topologies.find((t) => t.role !== 'uwrouter') ?? topologies[0]!);
  return {
    ...s,
    topologies,
    base,
    pairs: s.pairs.filter(([a, b]) => topologies.includes(a) && topologies.includes(b)),
    notes: undefined,
  };
}
