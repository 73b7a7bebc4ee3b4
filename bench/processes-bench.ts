/**
 * Router processes side by side (issue 10 part 2 and 4): the HTTP router with 1 and with 2
 * processes, uWSGI's (`--http-processes N`) and uwrouter's (`--http-processes N`: a primary
 * and N workers), in front of the same uWSGI python hello node, without and with
 * --http-keepalive; wrk runs alternate between them for N rounds. Then, for each router,
 * failed requests while it reloads 10 times under wrk load (uwrouter: SIGHUP to the primary,
 * each reload awaited; uWSGI: SIGHUP to the master), the accept balance between uwrouter's
 * workers (connections each accepted, from its stats) and the resident memory of each
 * process.
 *
 *   node bench/processes-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                 [--entry src|dist] [--json FILE] [--reloads 10]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, pollUntil, readStatsJson, tmpDir } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { childPids, startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type Summary, summarize } from './lib/measure.ts';
import { procMemoryBytes } from './lib/proc.ts';
import {
  checkHelloWorld,
  defaultEntry,
  log,
  reportFailures,
  runAlternatingRounds,
  runBench,
  type Target,
  type WrkSettings,
  writeResultJson,
  wrkLabel,
} from './lib/rounds.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';
import { runWrk, type WrkResult, wrkErrorCount } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    entry: { type: 'string', default: defaultEntry() },
    json: { type: 'string' },
    reloads: { type: 'string', default: '10' },
  },
});
const rounds = Number(values.rounds);
const wrkOpts: WrkSettings = {
  threads: Number(values.threads),
  conns: Number(values.conns),
  seconds: Number(values.seconds),
};
const entry = values.entry as string;
const reloads = Number(values.reloads);

interface Topology extends Target {
  router?: ServerHandle;
  kind: 'uwsgi' | 'uwrouter';
  processes: number;
  keepalive: boolean;
  statsPort?: number;
}

interface ReloadResult {
  label: string;
  reloads: number;
  wrk?: WrkResult;
  failure?: string;
}

async function startTopology(t: Topology, node: string): Promise<void> {
  const port = await freePort();
  const args = ['--http', `127.0.0.1:${port}`, '--http-to', node, '--http-processes', String(t.processes)];
  if (t.keepalive) args.push('--http-keepalive');
  try {
    if (t.kind === 'uwsgi') t.router = await startUwsgiRouter('http', args);
    else {
      t.statsPort = await freePort();
      t.router = await startUwrouter([...args, '--http-stats', `127.0.0.1:${t.statsPort}`], {
        entry,
        readyPattern: /generation 1 serving/,
      });
    }
    t.url = `http://127.0.0.1:${port}/`;
  } catch (err) {
    t.failure = `did not start: ${(err as Error).message.split('\n').slice(0, 6).join('\n  ')}`;
  }
}

/** wrk for long enough while `reload()` runs `reloads` times, one after another. */
async function underReloads(
  label: string,
  url: string,
  reload: (i: number) => Promise<void>,
): Promise<ReloadResult> {
  const out: ReloadResult = { label, reloads: 0 };
  const load = runWrk(url, { threads: 1, conns: 16, seconds: 6 + reloads * 2.5, allowLong: true });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 1; i <= reloads; i++) {
      await reload(i);
      out.reloads = i;
      await new Promise((r) => setTimeout(r, 300));
    }
    out.wrk = await load;
  } catch (err) {
    out.failure = (err as Error).message.split('\n')[0];
    await load.catch(() => undefined);
  }
  return out;
}

async function reloadsOfUwrouter(node: string, keepalive: boolean): Promise<ReloadResult> {
  const dir = tmpDir('processes-bench');
  const file = join(dir, 'router.ini');
  const port = await freePort();
  const lines = ['[uwsgi]', `http = 127.0.0.1:${port}`, `http-to = ${node}`, 'http-processes = 2'];
  if (keepalive) lines.push('http-keepalive = true');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await startUwrouter(['--ini', file], { entry, readyPattern: /generation 1 serving/ });
  const label = `uwrouter --http-processes 2${keepalive ? ' --http-keepalive' : ''}, SIGHUP`;
  const res = await underReloads(label, `http://127.0.0.1:${port}/`, async (i) => {
    process.kill(r.pid, 'SIGHUP');
    await pollUntil(
      `generation ${i + 1}`,
      () => (r.logs().includes(`generation ${i + 1} serving`) ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
  });
  await r.stop();
  return res;
}

async function reloadsOfUwsgi(node: string, keepalive: boolean): Promise<ReloadResult> {
  const port = await freePort();
  const args = ['--http', `127.0.0.1:${port}`, '--http-to', node, '--http-processes', '2'];
  if (keepalive) args.push('--http-keepalive');
  const r = await startUwsgiRouter('http', args);
  const spawned = () => (r.logs().match(/spawned uWSGI http 1 /g) ?? []).length;
  const label = `uWSGI --http-processes 2${keepalive ? ' --http-keepalive' : ''}, SIGHUP`;
  const res = await underReloads(label, `http://127.0.0.1:${port}/`, async () => {
    const before = spawned();
    process.kill(r.pid, 'SIGHUP');
    await pollUntil('the gateway respawned', () => (spawned() > before ? true : undefined), {
      timeoutMs: 30_000,
    });
  });
  await r.stop();
  return res;
}

async function main(): Promise<number> {
  log(
    `processes bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}, ${reloads} reloads, uwrouter entry ${entry}`,
  );
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  log(`node: uWSGI python hello.py, 2 processes, ${node.address}`);
  const all: Topology[] = [];
  for (const keepalive of [false, true]) {
    for (const kind of ['uwsgi', 'uwrouter'] as const) {
      for (const processes of [1, 2]) {
        const name = kind === 'uwsgi' ? 'uWSGI HTTP router' : 'uwrouter --http';
        const label = `${name} --http-processes ${processes}${keepalive ? ' --http-keepalive' : ''}`;
        all.push({ label, kind, processes, keepalive, runs: [] });
      }
    }
  }
  for (const t of all) await startTopology(t, node.address);
  for (const t of all) await checkHelloWorld(t);
  await runAlternatingRounds(all, { rounds, wrk: wrkOpts, log });

  const sums = new Map<Topology, Summary>(all.map((t) => [t, summarize(t.runs)]));
  const s = (t: Topology) => sums.get(t) as Summary;
  const find = (kind: Topology['kind'], processes: number, keepalive: boolean) =>
    all.find((t) => t.kind === kind && t.processes === processes && t.keepalive === keepalive) as Topology;
  console.log(
    `\nHTTP router → uWSGI hello node, median of ${rounds} (${wrkLabel(wrkOpts)}; CPU, RSS and PSS: the router's process tree)\n`,
  );
  console.log(
    markdownTable(
      ['topology', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', 'RSS MiB', 'PSS MiB', '× 1 process'],
      all.map((t) => {
        const m = s(t);
        if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', '', ''];
        const one = s(find(t.kind, 1, t.keepalive));
        return [
          t.label,
          fmt(m.requestsPerSecond),
          fmt(m.p50Ms, 2),
          fmt(m.p99Ms, 2),
          fmt(m.errors),
          fmt(m.cpuUsPerRequest, 1),
          fmt(m.rssBytes / 1048576, 1),
          fmt(m.pssBytes / 1048576, 1),
          ratio(m.requestsPerSecond, one.requestsPerSecond),
        ];
      }),
    ),
  );
  console.log('\nRatios (same run):\n');
  for (const keepalive of [false, true]) {
    const ka = keepalive ? ', --http-keepalive' : '';
    const two = (kind: Topology['kind']) =>
      s(find(kind, 2, keepalive)).requestsPerSecond / s(find(kind, 1, keepalive)).requestsPerSecond;
    const u = two('uwrouter');
    console.log(
      `- uwrouter 2 processes / 1${ka}: ${fmt(u, 2)}× (goal ≥ 1.6×) ${u >= 1.6 ? 'met' : 'NOT met'}`,
    );
    console.log(`- uWSGI 2 processes / 1${ka}: ${fmt(two('uwsgi'), 2)}×`);
    console.log(
      `- uwrouter / uWSGI with 2 processes${ka}: ${ratio(s(find('uwrouter', 2, keepalive)).requestsPerSecond, s(find('uwsgi', 2, keepalive)).requestsPerSecond)}`,
    );
  }

  // accept balance and memory, read while the routers still run
  console.log('\nuwrouter with 2 workers: accepted connections per worker and resident memory per process\n');
  const balanceRows: string[][] = [];
  const balance: Array<Record<string, unknown>> = [];
  for (const t of all.filter((x) => x.kind === 'uwrouter' && x.router && x.statsPort)) {
    const st = await readStatsJson<{ uwrouter: { processes: Array<{ pid: number; accepted: number }> } }>(
      t.statsPort as number,
    );
    const acc = st.uwrouter.processes.map((p) => p.accepted);
    const mem = [t.router!.pid, ...childPids(t.router!.pid)].map((pid) =>
      procMemoryBytes(pid, { tree: false }),
    );
    const rss = mem.map((m) => m.rss / 1048576);
    const pss = mem.map((m) => m.pss / 1048576);
    const even = acc.length > 1 ? Math.min(...acc) / Math.max(...acc) : 1;
    balance.push({ label: t.label, accepted: acc, rssMiB: rss, pssMiB: pss });
    balanceRows.push([
      t.label,
      acc.map((a) => fmt(a)).join(' / '),
      acc.length > 1 ? fmt(even, 2) : '—',
      rss.map((m) => fmt(m, 1)).join(' / '),
      pss.map((m) => fmt(m, 1)).join(' / '),
    ]);
  }
  console.log(
    markdownTable(
      [
        'topology',
        'accepted per worker',
        'min/max',
        'RSS MiB (primary / workers)',
        'PSS MiB (primary / workers)',
      ],
      balanceRows,
    ),
  );
  const code = reportFailures(all, (t) => t.label);
  for (const t of all) await t.router?.stop();

  const reloadResults: ReloadResult[] = [];
  if (reloads > 0) {
    for (const keepalive of [false, true]) {
      reloadResults.push(await reloadsOfUwrouter(node.address, keepalive));
      reloadResults.push(await reloadsOfUwsgi(node.address, keepalive));
    }
    console.log(
      `\nFailed requests while the router reloads ${reloads} times under wrk -t1 -c16 (goal for uwrouter: 0)\n`,
    );
    console.log(
      markdownTable(
        ['router', 'reloads', 'requests', 'connect', 'read', 'write', 'timeout', 'non-2xx', 'failed'],
        reloadResults.map((r) => {
          const e = r.wrk?.errors;
          return r.wrk && e
            ? [
                r.label,
                String(r.reloads),
                fmt(r.wrk.requests),
                fmt(e.connect),
                fmt(e.read),
                fmt(e.write),
                fmt(e.timeout),
                fmt(e.non2xx3xx),
                fmt(wrkErrorCount(r.wrk)),
              ]
            : [r.label, String(r.reloads), `FAILED: ${r.failure ?? ''}`, '', '', '', '', '', ''];
        }),
      ),
    );
  }
  await node.stop();
  if (values.json) {
    const out = all.map((t) => ({ label: t.label, failure: t.failure, summary: sums.get(t) }));
    writeResultJson(values.json, wrkOpts, rounds, [
      ...out,
      { balance },
      { reloads: reloadResults.map((r) => ({ ...r, wrk: r.wrk && { ...r.wrk, raw: undefined } })) },
    ]);
  }
  return code;
}

await runBench(main);
