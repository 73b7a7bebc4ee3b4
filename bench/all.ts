/**
 * `npm run bench`: every router against its peers in one alternating run on the same
 * backends (issue 11 part 1). One uWSGI python node (uwsgi protocol), one on --http-socket
 * and one Node.js http node serve every topology; wrk topologies, TLS handshake clients and
 * 100 MiB transfers alternate round by round; websocket tunnels and subscription bursts are
 * measured alone afterwards. Prints each path's table (req/s, p50/p99, CPU µs per request
 * user and system apart, RSS, ratios), then one summary of uwrouter against each peer and
 * the issue's goals; writes everything as JSON (bench/out/) and, with `--results`, the
 * summary into bench/RESULTS.md. uwrouter runs from the entry given (bench/run.sh: dist when
 * it builds) with `npm start`'s node flags; CPU, RSS and PSS are read from /proc over each
 * router's whole process tree (a uWSGI master and its gateways, a uwrouter primary and its
 * workers).
 *
 *   node bench/all.ts [--quick] [--only ID,…] [--rounds 3] [--seconds 5] [--threads 2]
 *     [--conns 50] [--clients 4] [--tunnels 10000] [--rates 10000,50000,100000] [--mib 100]
 *     [--entry src|dist] [--json FILE] [--results]
 *     [--profile] [--profile-only] [--profile-scenario ID] [--profile-seconds 10]
 *     [--node-flags="--single-threaded-gc --max-semi-space-size=2"]
 *
 * IDs: http-uwsgi, fastrouter, http-node, http-processes, rawrouter, https-ka, raw-transfer,
 * https-handshakes, sslrouter, websocket-tunnels, subscription-intake. `--quick` (about a
 * minute): uwrouter and its main peer on the HTTP router (keepalive), fastrouter, HTTP node,
 * rawrouter and ECDSA HTTPS handshake paths, 2 rounds of 2 s.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/interop/harness/index.ts';
import { fastrouterScenario } from './fastrouter-bench.ts';
import { httpNodeScenario, httpProcessesScenario, httpUwsgiScenario } from './http-router-bench.ts';
import { httpsHandshakeSection, httpsKeepaliveScenario } from './https-bench.ts';
import { BenchContext, npmStartNodeFlags } from './lib/context.ts';
import { goalsTable } from './lib/goals.ts';
import { measureRun } from './lib/measure.ts';
import { type Plan, planComparisons, planJson, printPlan, reportPlanFailures, runPlan } from './lib/plan.ts';
import { profileReport, readProfiles, selfTimes } from './lib/profile.ts';
import { writeResultsSummary } from './lib/results-md.ts';
import { defaultEntry, loadLabel, log, runBench, type WrkSettings, wrkLabel } from './lib/rounds.ts';
import { versionsLine } from './lib/run-wrk-bench.ts';
import { narrowScenario, topologiesOf, type WrkScenario } from './lib/scenario.ts';
import { fmt, median } from './lib/stats.ts';
import { summaryTable } from './lib/summary.ts';
import { rawrouterScenario, rawTransferSection } from './rawrouter-bench.ts';
import { sslrouterSection } from './sslrouter-bench.ts';
import { intakeSection } from './subscription-intake-bench.ts';
import { tunnelSection } from './websocket-idle-bench.ts';

const { values: o } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    threads: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    clients: { type: 'string', default: '4' },
    tunnels: { type: 'string', default: '10000' },
    rates: { type: 'string', default: '10000,50000,100000' },
    mib: { type: 'string', default: '100' },
    entry: { type: 'string' },
    json: { type: 'string' },
    results: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-only': { type: 'boolean', default: false },
    'profile-scenario': { type: 'string', default: 'http-uwsgi-ka' },
    'node-flags': { type: 'string' },
    'profile-seconds': { type: 'string', default: '10' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (o.help) {
  process.stdout.write(`npm run bench -- [options]   (node bench/all.ts [options])
  --quick                 a one-minute subset (uwrouter and its main peer on the main paths)
  --only ID,...           only these paths: http-uwsgi, fastrouter, http-node, http-processes,
                          rawrouter, https-ka, raw-transfer, https-handshakes, sslrouter,
                          websocket-tunnels, subscription-intake
  --rounds N              alternating rounds (3; --quick 2)
  --seconds N             seconds per wrk run (5; --quick 2)
  --threads N --conns N   wrk threads and connections (2, 50)
  --clients N             openssl s_time clients for handshakes (4)
  --tunnels N             idle websocket tunnels (10000)
  --rates R,...           subscription intake rates, new keys/s (10000,50000,100000)
  --mib N                 size of the rawrouter transfer (100)
  --entry src|dist        what uwrouter runs (bench/run.sh: dist when it builds)
  --node-flags="F ..."    node flags for uwrouter instead of npm start's (to compare V8 settings)
  --json FILE             where the JSON results go (default bench/out/)
  --results               write the summary into bench/RESULTS.md
  --profile               profile uwrouter on one path (--profile-scenario, --profile-seconds)
                          and print its top self-time frames grouped; --profile-only skips the rest
`);
  process.exit(0);
}

const rounds = Number(o.rounds ?? (o.quick ? 2 : 3));
const wrk: WrkSettings = {
  threads: Number(o.threads),
  conns: Number(o.conns),
  seconds: Number(o.seconds ?? (o.quick ? 2 : 5)),
};
const clients = Number(o.clients);

/** The topologies `--quick` keeps: uwrouter and its first peer on the main paths. */
const QUICK_TOPOLOGIES = new Set([
  'http-uwsgi-ka',
  'http-uwsgi-ka/uwsgi',
  'fastrouter',
  'fastrouter/uwsgi',
  'http-node',
  'http-node/nginx',
  'rawrouter',
  'rawrouter/uwsgi',
]);

const ALL_IDS = [
  'http-uwsgi',
  'fastrouter',
  'http-node',
  'http-processes',
  'rawrouter',
  'https-ka',
  'raw-transfer',
  'https-handshakes',
  'sslrouter',
  'websocket-tunnels',
  'subscription-intake',
];

/** Every wrk scenario (none started yet). */
function allScenarios(ctx: BenchContext): WrkScenario[] {
  const httpUwsgi = httpUwsgiScenario(ctx);
  // nginx uwsgi_pass → node is the reference of both uwsgi-node paths: one topology
  const reference = httpUwsgi.topologies.find((t) => t.role === 'reference')!;
  return [
    httpUwsgi,
    fastrouterScenario(ctx, reference),
    httpNodeScenario(ctx),
    httpProcessesScenario(ctx, httpUwsgi),
    rawrouterScenario(ctx),
    httpsKeepaliveScenario(ctx),
  ];
}

function buildPlan(ctx: BenchContext): Plan {
  const quickIds = ['http-uwsgi', 'fastrouter', 'http-node', 'rawrouter', 'https-handshakes'];
  const wanted = new Set(o.only ? o.only.split(',') : o.quick ? quickIds : ALL_IDS);
  for (const id of wanted)
    if (!ALL_IDS.includes(id)) throw new Error(`--only: no scenario "${id}" (${ALL_IDS.join(', ')})`);
  let scenarios = allScenarios(ctx).filter((s) => wanted.has(s.id));
  if (o.quick) scenarios = scenarios.flatMap((s) => narrowScenario(s, QUICK_TOPOLOGIES) ?? []);
  const seconds = wrk.seconds;
  const sections = [
    rawTransferSection(ctx, { mib: Number(o.mib), transfers: 3 }),
    httpsHandshakeSection(ctx, { clients, seconds, ...(o.quick ? { certs: ['ECDSA P-256'] as const } : {}) }),
    sslrouterSection(ctx, { clients, seconds }),
    tunnelSection(ctx, {
      tunnels: Number(o.tunnels),
      batch: 500,
      kinds: ['http', 'uwsgi', 'uwsgi-router', 'pipe'],
    }),
    intakeSection(ctx, { rates: o.rates.split(',').map(Number), rounds: Math.min(rounds, 3) }),
  ].filter((s) => wanted.has(s.id));
  return { scenarios, sections };
}

/** uwrouter under --cpu-prof for one scenario's topology; prints the grouped self times. */
async function profile(ctx: BenchContext): Promise<string> {
  const id = o['profile-scenario'];
  const choices = topologiesOf(allScenarios(ctx)).filter((x) => x.role === 'uwrouter');
  const t = choices.find((x) => x.id === id);
  if (!t) throw new Error(`--profile-scenario: no "${id}"; one of ${choices.map((x) => x.id).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'uwr-profile-'));
  const secs = Math.min(Number(o['profile-seconds']), 30);
  log(
    `profile: ${t.label} under --cpu-prof (${secs} s of ${wrkLabel(wrk).replace(/-d\d+s/, `-d${secs}s`)}), profiles in ${dir}`,
  );
  const started = await t.launch(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  await measureRun(started.url, started.router?.pid, { ...wrk, seconds: 1 });
  const m = await measureRun(started.url, started.router?.pid, { ...wrk, seconds: secs, allowLong: true });
  // the profile is written when node exits normally: SIGTERM stops uwrouter gracefully
  await started.router!.stop('SIGTERM', 15000);
  const profiles = readProfiles(dir);
  if (profiles.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  const report =
    `### CPU profile: ${t.label}\n\n${fmt(m.wrk.requestsPerSecond)} req/s, ${fmt(m.cpuUsPerRequest, 1)} µs CPU/req ` +
    `(user ${fmt(m.cpuUserUsPerRequest, 1)}) while profiled (the profiler costs some); ${profiles.length} profile(s) in ${dir}; ` +
    `${profileReport(selfTimes(profiles))}`;
  console.log(`\n${report}`);
  return report;
}

function gitCommit(): string {
  const run = (args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    const dirty =
      run(['status', '--porcelain', '--untracked-files=no']) !== '' ? ' (with uncommitted changes)' : '';
    return `${run(['rev-parse', '--short', 'HEAD'])}${dirty}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(): Promise<number> {
  const entry = o.entry ?? defaultEntry();
  const flags = o['node-flags'];
  const nodeFlags = flags === undefined ? npmStartNodeFlags() : flags.split(/\s+/).filter((f) => f !== '');
  const ctx = new BenchContext({ entry, nodeFlags });
  const loads: number[] = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
  sampler.unref();
  const started = new Date();
  const plan = buildPlan(ctx);
  log(
    `bench: ${o.quick ? 'quick, ' : ''}${rounds} rounds × ${wrkLabel(wrk)}, ${clients} TLS clients; ${versionsLine()}`,
  );
  log(`uwrouter: node ${ctx.nodeFlags.join(' ')} ${entry} (${loadLabel()}); commit ${gitCommit()}`);
  let code = 0;
  let profileText: string | undefined;
  if (!o['profile-only']) {
    await runPlan(plan, { rounds, wrk, log });
    printPlan(
      plan,
      `Median of ${rounds} (${wrkLabel(wrk)}); CPU and memory are the router's process tree (RSS counts a page shared by its processes once per process, PSS divides it among them; private: Private_Clean + Private_Dirty).`,
    );
    code = reportPlanFailures(plan);
  }
  if (o.profile || o['profile-only']) {
    try {
      profileText = await profile(ctx);
    } catch (err) {
      console.log(`\nprofile: FAILED — ${(err as Error).message}`);
      code = 1;
    }
  }
  clearInterval(sampler);
  loads.push(loadavg()[0]!);
  const comparisons = planComparisons(plan);
  const minutes = (Date.now() - started.getTime()) / 60000;
  const head = {
    date: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: gitCommit(),
    machine: versionsLine(),
    uwrouter: `node ${ctx.nodeFlags.join(' ')} ${entry}/cli…`,
    load: `1-min load average ${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)} (median ${fmt(median(loads), 2)}) on ${cpus().length} cores`,
    settings: `${o.quick ? '--quick: ' : ''}${rounds} alternating round${rounds === 1 ? '' : 's'}, ${wrkLabel(wrk)}, ${clients} openssl s_time clients; ${fmt(minutes, 1)} min`,
  };
  if (comparisons.length > 0 && !o['profile-only']) {
    console.log(`\n## Summary (${head.date}, ${head.commit})\n\n${head.machine}; ${head.load}\n`);
    console.log(summaryTable(comparisons));
    const goals = goalsTable(plan);
    if (goals) console.log(`\nThe issue's goals, this run:\n\n${goals}`);
  }
  const jsonPath =
    o.json ??
    join(REPO_ROOT, 'bench', 'out', `bench-${head.date.replace(/[:]/g, '').replace(/Z$/, '')}.json`);
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ ...head, loads, rounds, wrk, clients, quick: o.quick, ...planJson(plan), profile: profileText }, null, 2)}\n`,
  );
  log(`results: ${jsonPath}`);
  if (o.results && !o['profile-only']) {
    writeResultsSummary({
      head,
      comparisons: summaryTable(comparisons),
      goals: goalsTable(plan),
      profile: profileText,
      jsonPath,
    });
    log('bench/RESULTS.md: summary written');
  }
  return code;
}

await runBench(main);
