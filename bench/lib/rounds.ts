/**
 * What the side-by-side benches share: their command-line options, the warm-up plus N
 * alternating measured rounds over the topologies that can run, the JSON result file, and
 * the `main()` wrapper that always stops the started processes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { httpGet } from '../../test/interop/harness/index.ts';
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
}

/**
 * `[--rounds 3] [--seconds 5] [--threads 2] [--conns 50] [--entry …]`, plus `[--json FILE]`
 * when `json` is set. `entry` is the default of `--entry` (none when omitted).
 */
export function benchOptions(opts: { entry?: string; json?: boolean } = {}): BenchOptions {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      threads: { type: 'string', default: '2' },
      conns: { type: 'string', default: '50' },
      entry: opts.entry !== undefined ? { type: 'string', default: opts.entry } : { type: 'string' },
      ...(opts.json ? { json: { type: 'string' as const } } : {}),
    },
  });
  const v = values as Record<string, string | undefined>;
  return {
    rounds: Number(v.rounds),
    wrk: { threads: Number(v.threads), conns: Number(v.conns), seconds: Number(v.seconds) },
    entry: v.entry,
    json: v.json,
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
  runs: Measurement[];
}

/** Sets `t.failure` unless `t.url` answers 200 "Hello World". */
export async function checkHelloWorld(t: Target): Promise<void> {
  if (!t.url) return;
  try {
    const res = await httpGet(t.url, { timeoutMs: 5000 });
    if (res.status !== 200 || res.text !== 'Hello World') {
      t.failure = `answered ${res.status} ${JSON.stringify(res.text.slice(0, 80))}, not 200 "Hello World"`;
    }
  } catch (err) {
    t.failure = `no answer: ${(err as Error).message}`;
  }
}

/**
 * A 1 s warm-up run per target (JIT, connection pools; not counted), then `rounds` rounds of
 * one measured run per target, the order reversed every other round so no target always runs
 * right after another. Targets with a failure or no URL are skipped; a failed wrk run or a
 * router that exited marks the target failed. Each run is logged.
 */
export async function runAlternatingRounds(
  targets: readonly Target[],
  opts: { rounds: number; wrk: WrkSettings; log: (line: string) => void },
): Promise<void> {
  const runnable = () => targets.filter((t) => t.url && !t.failure);
  for (const t of runnable()) await measureRun(t.url!, t.router?.pid, { ...opts.wrk, seconds: 1 });
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? runnable() : runnable().reverse();
    for (const t of order) {
      try {
        const m = await measureRun(t.url!, t.router?.pid, opts.wrk);
        t.runs.push(m);
        opts.log(
          `round ${round} ${t.label}: ${fmt(m.wrk.requestsPerSecond)} req/s, p99 ${fmt(m.wrk.latencyMs.p99, 2)} ms` +
            (t.router ? `, ${fmt(m.cpuUsPerRequest, 1)} µs CPU/req` : ''),
        );
      } catch (err) {
        t.failure = `wrk failed: ${(err as Error).message.split('\n')[0]}`;
      }
      if (t.router && !t.router.isRunning()) t.failure = 'the router exited during the run';
    }
  }
}

/** Prints each failure after the tables; 1 when there was one, else 0 (the exit code). */
export function reportFailures<T extends { failure?: string }>(
  items: readonly T[],
  name: (item: T) => string,
): number {
  for (const t of items) if (t.failure) console.log(`\n${name(t)}: FAILED — ${t.failure}`);
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
