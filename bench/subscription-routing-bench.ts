/**
 * Subscription routing side by side: nginx uwsgi_pass → {uwrouter | uWSGI} fastrouter, each
 * with a static `--fastrouter-to` node and with a subscribed pool, all to the same uWSGI
 * python hello node (2 processes, subscribed to both subscription servers). wrk runs
 * alternate between the four topologies for N rounds; the table shows medians and ratios
 * measured in the same run (absolute figures vary 10–20% between runs).
 *
 *   node bench/subscription-routing-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                            [--entry src|dist]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpGet } from '../test/interop/harness/index.ts';
import { nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type Summary, summarize } from './lib/measure.ts';
import {
  benchOptions,
  defaultEntry,
  log,
  reportFailures,
  runAlternatingRounds,
  runBench,
  type Target,
  wrkLabel,
} from './lib/rounds.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';

const opt = benchOptions();
const { rounds, wrk: wrkOpts } = opt;
const KEY = 'bench.example.com';

type Topology = Target;

/** nginx in front of a router; the subscription topologies route by UWSGI_FASTROUTER_KEY. */
async function nginxInFront(upstream: string, keyed: boolean): Promise<string> {
  const port = await freePort();
  await startNginx(
    nginxUwsgiPassConf(port, upstream, keyed ? { location: `uwsgi_param UWSGI_FASTROUTER_KEY ${KEY};` } : {}),
  );
  return `http://127.0.0.1:${port}/`;
}

async function untilHello(t: Topology): Promise<void> {
  const deadline = Date.now() + 15000;
  for (;;) {
    const res = await httpGet(t.url!, { timeoutMs: 3000 }).catch(() => undefined);
    if (res?.status === 200 && res.text === 'Hello World') return;
    if (Date.now() > deadline) {
      t.failure = `no "Hello World" through it (last: ${res?.status ?? 'no answer'})`;
      return;
    }
    await sleep(100);
  }
}

async function main(): Promise<number> {
  const entry = opt.entry ?? defaultEntry();
  log(`subscription routing bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}, uwrouter from ${entry}`);
  const [nodePort, uwrSub, uwsgiSub] = await Promise.all([freePort(), freePort(), freePort()]);
  const nodeAddr = `127.0.0.1:${nodePort}`;

  const mk = (label: string): Topology => ({ label, runs: [] });
  const uwrStatic = mk('nginx → uwrouter --fastrouter-to → node');
  const uwrSubbed = mk('nginx → uwrouter subscribed pool → node');
  const uwsgiStatic = mk('nginx → uWSGI fastrouter --fastrouter-to → node');
  const uwsgiSubbed = mk('nginx → uWSGI fastrouter subscription → node');
  const all = [uwrStatic, uwrSubbed, uwsgiStatic, uwsgiSubbed];

  const ports = await Promise.all(all.map(() => freePort()));
  const starts: Array<[Topology, () => Promise<ServerHandle>, boolean]> = [
    [
      uwrStatic,
      () => startUwrouter(['--fastrouter', `127.0.0.1:${ports[0]}`, '--fastrouter-to', nodeAddr], { entry }),
      false,
    ],
    [
      uwrSubbed,
      () =>
        startUwrouter(
          [
            '--fastrouter',
            `127.0.0.1:${ports[1]}`,
            '--fastrouter-subscription-server',
            `127.0.0.1:${uwrSub}`,
          ],
          { entry },
        ),
      true,
    ],
    [
      uwsgiStatic,
      () =>
        startUwsgiRouter('fastrouter', [
          '--fastrouter',
          `127.0.0.1:${ports[2]}`,
          '--fastrouter-to',
          nodeAddr,
        ]),
      false,
    ],
    [
      uwsgiSubbed,
      () =>
        startUwsgiRouter('fastrouter', [
          '--fastrouter',
          `127.0.0.1:${ports[3]}`,
          '--fastrouter-subscription-server',
          `127.0.0.1:${uwsgiSub}`,
        ]),
      true,
    ],
  ];
  for (const [t, start, keyed] of starts) {
    try {
      t.router = await start();
      t.url = await nginxInFront(t.router.address, keyed);
    } catch (err) {
      t.failure = `did not start: ${(err as Error).message.split('\n').slice(0, 6).join('\n  ')}`;
    }
  }
  // one node for all four, subscribed to both subscription servers
  await startUwsgiNode({
    app: 'hello.py',
    processes: 2,
    port: nodePort,
    args: ['--subscribe-to', `127.0.0.1:${uwrSub}:${KEY}`, '--subscribe-to', `127.0.0.1:${uwsgiSub}:${KEY}`],
  });
  log(`node: uWSGI python hello, 2 processes, ${nodeAddr}, subscribed as ${KEY}`);
  for (const t of all) if (!t.failure) await untilHello(t);
  // every runnable topology has a router, so each round's line shows its CPU/req
  await runAlternatingRounds(all, { rounds, wrk: wrkOpts, log });

  const sums = new Map<Topology, Summary>(all.map((t) => [t, summarize(t.runs)]));
  const pairOf = new Map<Topology, Topology>([
    [uwrStatic, uwsgiStatic],
    [uwrSubbed, uwsgiSubbed],
    [uwsgiStatic, uwsgiStatic],
    [uwsgiSubbed, uwsgiSubbed],
  ]);
  const rows = all.map((t) => {
    const s = sums.get(t)!;
    if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
    const ref = sums.get(pairOf.get(t)!)!;
    return [
      t.label,
      fmt(s.requestsPerSecond),
      fmt(s.p50Ms, 2),
      fmt(s.p99Ms, 2),
      fmt(s.errors),
      fmt(s.cpuUsPerRequest, 1),
      ratio(s.requestsPerSecond, ref.requestsPerSecond),
      ratio(s.cpuUsPerRequest, ref.cpuUsPerRequest),
    ];
  });
  console.log(
    `\nsubscription routing, median of ${rounds} (${wrkLabel(wrkOpts)}; ` +
      'ratios against the uWSGI fastrouter with the same mapper)\n',
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
        'req/s × uWSGI',
        'CPU/req × uWSGI',
      ],
      rows,
    ),
  );
  const a = sums.get(uwrSubbed)!;
  const b = sums.get(uwrStatic)!;
  const c = sums.get(uwsgiSubbed)!;
  const d = sums.get(uwsgiStatic)!;
  console.log(
    `\nsubscribed pool / static node: uwrouter req/s ${ratio(a.requestsPerSecond, b.requestsPerSecond)}, ` +
      `CPU/req ${ratio(a.cpuUsPerRequest, b.cpuUsPerRequest)}; uWSGI req/s ${ratio(c.requestsPerSecond, d.requestsPerSecond)}, ` +
      `CPU/req ${ratio(c.cpuUsPerRequest, d.cpuUsPerRequest)}`,
  );
  return reportFailures(all, (t) => t.label);
}

await runBench(main);
