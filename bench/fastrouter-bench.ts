/**
 * Fastrouter side by side: nginx uwsgi_pass → {uWSGI fastrouter | uwrouter fastrouter} → one
 * uWSGI python hello node (2 processes), plus nginx → node directly for reference. wrk runs
 * alternate between the topologies for N rounds; the table shows medians and the ratio
 * uwrouter / uWSGI measured in the same run (absolute figures vary 10–20% between runs).
 *
 *   node bench/fastrouter-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                  [--entry src|dist] [--json FILE]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, httpGet } from '../test/interop/harness/index.ts';
import { nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { stopAllProcesses } from '../test/interop/harness/process-registry.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwrouter, uwrouterEntry } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type Measurement, measureRun, type Summary, summarize } from './lib/measure.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    entry: { type: 'string' },
    json: { type: 'string' },
  },
});
const rounds = Number(opt.rounds);
const wrkOpts = { threads: Number(opt.threads), conns: Number(opt.conns), seconds: Number(opt.seconds) };

interface Topology {
  label: string;
  role: 'reference' | 'uwsgi' | 'uwrouter';
  url?: string;
  /** the router process whose CPU/RSS is measured (none for the reference line) */
  router?: ServerHandle;
  /** why it could not run */
  failure?: string;
  runs: Measurement[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function checkAnswers(t: Topology): Promise<void> {
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

async function nginxInFront(upstream: string): Promise<string> {
  const port = await freePort();
  await startNginx(nginxUwsgiPassConf(port, upstream));
  return `http://127.0.0.1:${port}/`;
}

/** `--entry src|dist|PATH`; by default the build when there is one. */
function pickEntry(): string {
  if (opt.entry) return opt.entry;
  return existsSync(uwrouterEntry('dist')) ? 'dist' : 'src';
}

async function main(): Promise<number> {
  log(
    `fastrouter bench: ${rounds} rounds × wrk -t${wrkOpts.threads} -c${wrkOpts.conns} -d${wrkOpts.seconds}s`,
  );
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  log(`node: uWSGI python hello, 2 processes, ${node.address}`);

  const direct: Topology = { label: 'nginx → node (direct)', role: 'reference', runs: [] };
  direct.url = await nginxInFront(node.address);

  const uwsgi: Topology = { label: 'nginx → uWSGI fastrouter → node', role: 'uwsgi', runs: [] };
  const uwsgiPort = await freePort();
  uwsgi.router = await startUwsgiRouter('fastrouter', [
    '--fastrouter',
    `127.0.0.1:${uwsgiPort}`,
    '--fastrouter-to',
    node.address,
  ]);
  uwsgi.url = await nginxInFront(uwsgi.router.address);

  const entry = pickEntry();
  const uwr: Topology = {
    label: `nginx → uwrouter fastrouter (${entry}) → node`,
    role: 'uwrouter',
    runs: [],
  };
  try {
    const port = await freePort();
    uwr.router = await startUwrouter(['--fastrouter', `127.0.0.1:${port}`, '--fastrouter-to', node.address], {
      entry,
    });
    uwr.url = await nginxInFront(uwr.router.address);
  } catch (err) {
    uwr.failure = `did not start: ${(err as Error).message.split('\n').slice(0, 8).join('\n  ')}`;
  }

  const all = [direct, uwsgi, uwr];
  for (const t of all) await checkAnswers(t);
  const runnable = () => all.filter((t) => t.url && !t.failure);

  // warm-up (JIT, connection pools), not counted
  for (const t of runnable()) await measureRun(t.url!, t.router?.pid, { ...wrkOpts, seconds: 1 });

  for (let round = 1; round <= rounds; round++) {
    // alternate the order so neither router always runs right after the other
    const order = round % 2 === 1 ? runnable() : runnable().reverse();
    for (const t of order) {
      try {
        const m = await measureRun(t.url!, t.router?.pid, wrkOpts);
        t.runs.push(m);
        log(
          `round ${round} ${t.label}: ${fmt(m.wrk.requestsPerSecond)} req/s, p99 ${fmt(m.wrk.latencyMs.p99, 2)} ms` +
            (t.router ? `, ${fmt(m.cpuUsPerRequest, 1)} µs CPU/req` : ''),
        );
      } catch (err) {
        t.failure = `wrk failed: ${(err as Error).message.split('\n')[0]}`;
      }
      if (t.router && !t.router.isRunning()) t.failure = `the router exited during the run`;
    }
  }

  const sums = new Map<Topology, Summary>(all.map((t) => [t, summarize(t.runs)]));
  const base = sums.get(uwsgi)!;
  const rows = all.map((t) => {
    const s = sums.get(t)!;
    if (t.failure && t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
    return [
      t.label,
      fmt(s.requestsPerSecond),
      fmt(s.p50Ms, 2),
      fmt(s.p99Ms, 2),
      fmt(s.errors),
      t.router ? fmt(s.cpuUsPerRequest, 1) : '—',
      t.router ? fmt(s.rssBytes / 1048576, 1) : '—',
      ratio(s.requestsPerSecond, base.requestsPerSecond),
    ];
  });
  console.log(
    `\nfastrouter, median of ${rounds} (wrk -t${wrkOpts.threads} -c${wrkOpts.conns} -d${wrkOpts.seconds}s; ` +
      `router CPU and RSS include its child processes)\n`,
  );
  console.log(
    markdownTable(
      [
        'topology',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'router CPU µs/req',
        'router RSS MiB',
        'req/s × uWSGI',
      ],
      rows,
    ),
  );
  const w = sums.get(uwr)!;
  if (uwr.runs.length > 0) {
    console.log(
      `\nuwrouter / uWSGI: req/s ${ratio(w.requestsPerSecond, base.requestsPerSecond)}, ` +
        `p99 ${ratio(w.p99Ms, base.p99Ms)}, CPU/req ${ratio(w.cpuUsPerRequest, base.cpuUsPerRequest)}, ` +
        `RSS ${ratio(w.rssBytes, base.rssBytes)}`,
    );
  }
  for (const t of all) if (t.failure) console.log(`\n${t.label}: FAILED — ${t.failure}`);

  if (opt.json) {
    mkdirSync(dirname(opt.json), { recursive: true });
    const out = all.map((t) => ({ label: t.label, role: t.role, failure: t.failure, summary: sums.get(t) }));
    writeFileSync(
      opt.json,
      `${JSON.stringify({ date: new Date().toISOString(), wrk: wrkOpts, rounds, out }, null, 2)}\n`,
    );
  }
  return all.some((t) => t.failure) ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
} finally {
  await stopAllProcesses();
}
process.exitCode = code;
