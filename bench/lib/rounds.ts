/**
 * What the side-by-side benches share: their command-line options, the warm-up plus N
 * alternating measured rounds over the topologies that can run, the JSON result file, and
 * the `main()` wrapper that always stops the started processes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAllProcesses } from '../../test/interop/harness/process-registry.ts';
import type { ServerHandle } from '../../test/interop/harness/server-process.ts';
import { uwrouterEntry } from '../../test/interop/harness/uwrouter.ts';
import { type Measurement, measureRun } from './measure.ts';
import { fmt } from './stats.ts';

/** wrk settings of every measured run. */
export interface WrkSettings {
  threads: number;
  conns: number;
  seconds: number;
}

export interface BenchOptions {
  rounds: number;
  wrk: WrkSettings;
  /** `--entry` (or its default; undefined when neither) */
  entry?: string;
  /** `--json FILE` (only when the bench accepts it) */
  json?: string;
  /** `--clients N`: TLS handshake clients in parallel */
  clients: number;
  /** the bench's own `--NAME VALUE` options (see `benchOptions`'s `extra`) */
  extra: Record<string, string>;
}

/**
 * `[--rounds 3] [--seconds 5] [--threads 2] [--conns 50] [--clients 4] [--entry …]`, plus `[--json FILE]`
 * when `json` is set and `--NAME VALUE` for each `extra` name (its default). `entry` is the
 * default of `--entry` (none when omitted).
 */
export function benchOptions(
  opts: { entry?: string; json?: boolean; extra?: Record<string, string> } = {},
): BenchOptions {
  const extra = Object.fromEntries(
    Object.entries(opts.extra ?? {}).map(([k, d]) => [k, { type: 'string' as const, default: d }]),
  );
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      threads: { type: 'string', default: '2' },
      conns: { type: 'string', default: '50' },
      clients: { type: 'string', default: '4' },
      entry: opts.entry !== undefined ? { type: 'string', default: opts.entry } : { type: 'string' },
      ...(opts.json ? { json: { type: 'string' as const } } : {}),
      ...extra,
    },
  });
  const v = values as Record<string, string | undefined>;
  return {
    rounds: Number(v.rounds),
    wrk: { threads: Number(v.threads), conns: Number(v.conns), seconds: Number(v.seconds) },
    entry: v.entry,
    json: v.json,
    clients: Number(v.clients),
    extra: Object.fromEntries(Object.keys(extra).map((k) => [k, v[k]!])),
  };
}

/** The uwrouter build when there is one, else the sources. */
export function defaultEntry(): string {
  return existsSync(uwrouterEntry('dist')) ? 'dist' : 'src';
}

/** `wrk -t2 -c50 -d5s` */
export function wrkLabel(w: WrkSettings): string {
  return `wrk -t${w.threads} -c${w.conns} -d${w.seconds}s`;
}

/** Progress goes to stderr (stdout holds the tables). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One thing measured: a URL and the router process whose CPU/RSS is read (none for a reference). */
export interface Target {
  label: string;
  url?: string;
  router?: ServerHandle;
  /** why it could not run */
  failure?: string;
  /** why it was left out on purpose (not a failure: e.g. this build has no such mode) */
  skipped?: string;
  runs: Measurement[];
}

/**
 * One GET of `url` (http or https; the bench's own test certificates are not checked: this
 * only asks whether the path answers), its status and body.
 */
function getOnce(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(
      url,
      { rejectUnauthorized: false, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Sets `t.failure` unless `t.url` answers 200 "Hello World". */
export async function checkHelloWorld(t: Target): Promise<void> {
  if (!t.url || t.skipped) return;
  try {
    const res = await getOnce(t.url, 5000);
    if (res.status !== 200 || res.text !== 'Hello World') {
      t.failure = `answered ${res.status} ${JSON.stringify(res.text.slice(0, 80))}, not 200 "Hello World"`;
    }
  } catch (err) {
    t.failure = `no answer: ${(err as Error).message}`;
  }
}

/**
 * Anything measured in alternating rounds: a wrk target, a handshake client, a transfer.
 * `measure()` does one measured run, keeps its result, and returns the progress line.
 */
export interface RoundUnit {
  label: string;
  failure?: string;
  skipped?: string;
  /** when this process exits, the unit has failed */
  router?: ServerHandle;
  /** false when it has nothing to run (no URL, …) */
  ready(): boolean;
  /** a short run whose result is not kept (JIT, connection pools) */
  warm(): Promise<void>;
  measure(): Promise<string>;
}

/** The 1-minute load average, as `load 1.23` (the machine is shared: say how busy it was). */
export function loadLabel(): string {
  return `load ${loadavg()[0]!.toFixed(2)}`;
}

/**
 * One warm-up per unit, then `rounds` rounds of one measured run per unit, the order
 * reversed every other round so no unit always runs right after another. Units that failed,
 * were skipped or are not ready are left out; a run that throws or a router that exited marks
 * its unit failed. Each run is logged, each round with the load average.
 */
export async function alternate(
  units: readonly RoundUnit[],
  opts: { rounds: number; log: (line: string) => void },
): Promise<void> {
  const runnable = () => units.filter((u) => u.ready() && !u.failure && !u.skipped);
  if (runnable().length === 0) return;
  const fail = (u: RoundUnit, err: unknown) => {
    u.failure = (err as Error).message.split('\n')[0];
  };
  for (const u of runnable()) await u.warm().catch((err) => fail(u, err));
  for (let round = 1; round <= opts.rounds; round++) {
    opts.log(`round ${round} of ${opts.rounds} (${loadLabel()})`);
    const order = round % 2 === 1 ? runnable() : runnable().reverse();
    for (const u of order) {
      try {
        opts.log(`round ${round} ${u.label}: ${await u.measure()}`);
      } catch (err) {
        fail(u, err);
      }
      if (u.router && !u.router.isRunning()) u.failure = 'the router exited during the run';
    }
  }
}

/** What a round unit reads from and writes back to its target (failure is set on the target). */
export interface UnitTarget {
  label: string;
  failure?: string;
  skipped?: string;
  router?: ServerHandle;
}

/**
 * A round unit over `t`: its label (with `labelSuffix`), failure, skipped and router are
 * read from `t` when asked (a failure the rounds set lands on `t`); `run` gives what to run.
 */
export function unitOf(
  t: UnitTarget,
  run: Pick<RoundUnit, 'ready' | 'warm' | 'measure'>,
  labelSuffix = '',
): RoundUnit {
  return {
    get label() {
      return t.label + labelSuffix;
    },
    get failure() {
      return t.failure;
    },
    set failure(why: string | undefined) {
      t.failure = why;
    },
    get skipped() {
      return t.skipped;
    },
    get router() {
      return t.router;
    },
    ...run,
  };
}

/** A wrk target as a round unit: each run is kept in `t.runs`. */
export function wrkUnit(t: Target, wrk: WrkSettings, warmSeconds = 1): RoundUnit {
  return unitOf(t, {
    ready: () => t.url !== undefined,
    warm: async () => {
      await measureRun(t.url!, t.router?.pid, { ...wrk, seconds: warmSeconds });
    },
    measure: async () => {
      const m = await measureRun(t.url!, t.router?.pid, wrk);
      t.runs.push(m);
      return (
        `${fmt(m.wrk.requestsPerSecond)} req/s, p99 ${fmt(m.wrk.latencyMs.p99, 2)} ms` +
        (t.router ? `, ${fmt(m.cpuUsPerRequest, 1)} µs CPU/req (user ${fmt(m.cpuUserUsPerRequest, 1)})` : '')
      );
    },
  });
}

/**
 * A 1 s warm-up run per target, then `rounds` alternating rounds of one wrk run per target
 * (see `alternate`). Targets with a failure, a skip or no URL are left out.
 */
export async function runAlternatingRounds(
  targets: readonly Target[],
  opts: { rounds: number; wrk: WrkSettings; log: (line: string) => void },
): Promise<void> {
  await alternate(
    targets.map((t) => wrkUnit(t, opts.wrk)),
    opts,
  );
}

/** Prints each failure (and skip) after the tables; 1 when there was a failure, else 0 (the exit code). */
export function reportFailures<T extends { failure?: string; skipped?: string }>(
  items: readonly T[],
  name: (item: T) => string,
): number {
  for (const t of items) if (t.failure) console.log(`\n${name(t)}: FAILED — ${t.failure}`);
  for (const t of items) if (t.skipped && !t.failure) console.log(`\n${name(t)}: skipped — ${t.skipped}`);
  return items.some((t) => t.failure) ? 1 : 0;
}

/** `{ date, wrk, rounds, out }` as indented JSON to `path` (its directory is created). */
export function writeResultJson(path: string, wrk: WrkSettings, rounds: number, out: unknown[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ date: new Date().toISOString(), wrk, rounds, out }, null, 2)}\n`);
}

/**
 * Runs a bench's `main()` (its result is the exit code; 1 when it throws, with the error
 * printed) and always stops every process the harness started.
 */
export async function runBench(main: () => Promise<number>): Promise<void> {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(err);
  } finally {
    await stopAllProcesses();
  }
  process.exitCode = code;
}
