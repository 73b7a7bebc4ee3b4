/**
 * Fastrouter side by side: nginx uwsgi_pass → {uWSGI fastrouter | uwrouter fastrouter} → one
 * uWSGI python hello node (2 processes), plus nginx → node directly for reference. wrk runs
 * alternate between the topologies for N rounds; the table shows medians and the ratio
 * uwrouter / uWSGI measured in the same run (absolute figures vary 10–20% between runs).
 *
 *   node bench/fastrouter-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                  [--entry src|dist] [--json FILE]
 */
import { freePort } from '../test/interop/harness/index.ts';
import { nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type Summary, summarize } from './lib/measure.ts';
import {
  benchOptions,
  checkHelloWorld,
  defaultEntry,
  log,
  reportFailures,
  runAlternatingRounds,
  runBench,
  type Target,
  writeResultJson,
  wrkLabel,
} from './lib/rounds.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';

const opt = benchOptions({ json: true });
const { rounds, wrk: wrkOpts } = opt;

interface Topology extends Target {
  role: 'reference' | 'uwsgi' | 'uwrouter';
}

async function nginxInFront(upstream: string): Promise<string> {
  const port = await freePort();
  await startNginx(nginxUwsgiPassConf(port, upstream));
  return `http://127.0.0.1:${port}/`;
}

async function main(): Promise<number> {
  log(`fastrouter bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}`);
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

  // `--entry src|dist|PATH`; by default the build when there is one
  const entry = opt.entry || defaultEntry();
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
  for (const t of all) await checkHelloWorld(t);
  await runAlternatingRounds(all, { rounds, wrk: wrkOpts, log });

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
    `\nfastrouter, median of ${rounds} (${wrkLabel(wrkOpts)}; ` +
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
  const code = reportFailures(all, (t) => t.label);

  if (opt.json) {
    const out = all.map((t) => ({ label: t.label, role: t.role, failure: t.failure, summary: sums.get(t) }));
    writeResultJson(opt.json, wrkOpts, rounds, out);
  }
  return code;
}

await runBench(main);
