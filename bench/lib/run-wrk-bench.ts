/** The command line of a per-path wrk bench (bench/*-bench.ts run on its own). */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { BenchContext, npmStartNodeFlags } from './context.ts';
import { asPlan, type Plan, planJson, printPlan, reportPlanFailures, runPlan } from './plan.ts';
import {
  type BenchOptions,
  benchOptions,
  defaultEntry,
  loadLabel,
  log,
  runBench,
  writeResultJson,
  wrkLabel,
} from './rounds.ts';
import type { WrkScenario } from './scenario.ts';

/** The first line a tool prints for its version (nginx and HAProxy differ in stdout/stderr). */
export function toolVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim() || '?';
}

/** node, uWSGI, nginx, HAProxy versions and the machine, in one line. */
export function versionsLine(): string {
  return (
    `node ${process.version}, uWSGI ${toolVersion('uwsgi', ['--version'])}, ${toolVersion('nginx', ['-v'])}, ` +
    `${toolVersion('haproxy', ['-v']).replace(/ - https.*/, '')}; ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB`
  );
}

/**
 * `[--rounds 3] [--seconds 5] [--threads 2] [--conns 50] [--entry src|dist] [--json FILE]`:
 * starts the plan's topologies, runs alternating rounds over all of them, prints each
 * scenario's table; uwrouter runs with `npm start`'s node flags.
 */
export async function runWrkBenchMain(
  name: string,
  build: (ctx: BenchContext, opt: BenchOptions) => WrkScenario[] | Partial<Plan>,
  extra: Record<string, string> = {},
): Promise<void> {
  const opt = benchOptions({ entry: defaultEntry(), json: true, extra });
  await runBench(async () => {
    const ctx = new BenchContext({ entry: opt.entry!, nodeFlags: npmStartNodeFlags() });
    log(`${name}: ${opt.rounds} rounds × ${wrkLabel(opt.wrk)}; ${versionsLine()}`);
    log(`uwrouter: node ${ctx.nodeFlags.join(' ')} ${ctx.entry} (${loadLabel()})`);
    const plan = asPlan(build(ctx, opt));
    await runPlan(plan, { rounds: opt.rounds, wrk: opt.wrk, log });
    printPlan(
      plan,
      `Median of ${opt.rounds} (${wrkLabel(opt.wrk)}); CPU and memory are the router's process tree (RSS counts a page shared by its processes once per process, PSS divides it among them; private: Private_Clean + Private_Dirty); ${loadLabel()} at the end.`,
    );
    const code = reportPlanFailures(plan);
    if (opt.json) writeResultJson(opt.json, opt.wrk, opt.rounds, [planJson(plan)]);
    return code;
  });
}
