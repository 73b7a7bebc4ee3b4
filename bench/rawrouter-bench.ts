/**
 * Rawrouter side by side: wrk → {uWSGI rawrouter | uwrouter rawrouter} → one uWSGI python
 * hello node on `--http-socket` (2 processes), plus wrk → node directly for reference. The
 * node closes every connection after its answer, so each request is a new TCP connection
 * through the relay: accept, node connect, relay, close (the rawrouter's whole hot path).
 * wrk runs alternate between the topologies for N rounds; the table shows medians and the
 * ratio uwrouter / uWSGI measured in the same run.
 *
 *   node bench/rawrouter-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                 [--entry src|dist] [--json FILE]
 */
import { freePort } from '../test/interop/harness/index.ts';
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

async function main(): Promise<number> {
  log(`rawrouter bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}`);
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2, protocol: 'http' });
  log(`node: uWSGI python hello, 2 processes, --http-socket ${node.address}`);

  const direct: Topology = { label: 'wrk → node (direct)', role: 'reference', runs: [] };
  direct.url = `http://${node.address}/`;

  const uwsgi: Topology = { label: 'wrk → uWSGI rawrouter → node', role: 'uwsgi', runs: [] };
  const uwsgiPort = await freePort();
  uwsgi.router = await startUwsgiRouter('rawrouter', [
    '--rawrouter',
    `127.0.0.1:${uwsgiPort}`,
    '--rawrouter-to',
    node.address,
  ]);
  uwsgi.url = `http://127.0.0.1:${uwsgiPort}/`;

  const entry = opt.entry || defaultEntry();
  const uwr: Topology = { label: `wrk → uwrouter rawrouter (${entry}) → node`, role: 'uwrouter', runs: [] };
  try {
    const port = await freePort();
    uwr.router = await startUwrouter(['--rawrouter', `127.0.0.1:${port}`, '--rawrouter-to', node.address], {
      entry,
    });
    uwr.url = `http://127.0.0.1:${port}/`;
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
    `\nrawrouter, median of ${rounds} (${wrkLabel(wrkOpts)}; one TCP connection per request; ` +
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
  // wrk counts a read error each time the node closes a connection after its answer (one per
  // request here); anything else (connect, write, timeout, non-2xx) is a real failure
  const realErrors = (t: Topology) =>
    t.runs.reduce(
      (n, r) => n + r.wrk.errors.connect + r.wrk.errors.write + r.wrk.errors.timeout + r.wrk.errors.non2xx3xx,
      0,
    );
  console.log(
    `\n"errors" are wrk read errors: the node closes every connection. Other errors: ${all
      .map((t) => `${t.label.replace(/^wrk → /, '')} ${realErrors(t)}`)
      .join(', ')}`,
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
