/**
 * HTTP router side by side, one run, same machine:
 *  - uwsgi nodes: wrk → {uWSGI HTTP router | uwrouter --http} → one uWSGI python hello node
 *    (2 processes), without and with --http-keepalive, and nginx uwsgi_pass → the same node
 *    for reference;
 *  - HTTP nodes: wrk → {nginx proxy_pass (upstream keepalive) | HAProxy (http mode) |
 *    node-http-proxy | @fastify/http-proxy | uwrouter --http-to http://…} → one Node.js
 *    `http` hello server, plus wrk → that server directly;
 *  - processes: `--http-processes 2` against 1 for uWSGI's router and uwrouter's.
 * Every proxy runs as one process/thread unless told (uWSGI: 1 gateway; nginx: 1 worker;
 * HAProxy: nbthread 1; uwrouter: 1 process). wrk runs alternate between topologies for N
 * rounds; medians are shown with ratios measured in the same run.
 *
 *   node bench/http-router-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                   [--entry src|dist] [--json FILE]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/interop/harness/index.ts';
import { nginxProxyPassConf, nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import type { BenchContext } from './lib/context.ts';
import { startHaproxyHttp, startNodeProxy } from './lib/peers.ts';
import { processTree } from './lib/proc.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import { summaryOf, type Topology, topology, type WrkScenario } from './lib/scenario.ts';
import { ratio } from './lib/stats.ts';

const url = (port: number | undefined) => `http://127.0.0.1:${port}/`;

/** `--http ADDR --http-to NODE [--http-keepalive] [--http-processes N]` on a free port. */
async function httpArgs(node: string, keepalive: boolean, processes?: number): Promise<string[]> {
  return [
    '--http',
    `127.0.0.1:${await freePort()}`,
    '--http-to',
    node,
    ...(keepalive ? ['--http-keepalive'] : []),
    ...(processes !== undefined ? ['--http-processes', String(processes)] : []),
  ];
}

function uwsgiHttp(ctx: BenchContext, keepalive: boolean, processes?: number): Topology['launch'] {
  return async () => {
    const r = await startUwsgiRouter(
      'http',
      await httpArgs((await ctx.uwsgiNode()).address, keepalive, processes),
    );
    return { router: r, url: url(r.port) };
  };
}

function uwrouterHttp(ctx: BenchContext, keepalive: boolean, processes?: number): Topology['launch'] {
  return async (nodeArgs) => {
    const r = await ctx.uwrouter(await httpArgs((await ctx.uwsgiNode()).address, keepalive, processes), {
      nodeArgs,
    });
    return { router: r, url: url(r.port) };
  };
}

/** nginx uwsgi_pass → the uwsgi node: what a router in between is compared with. */
export function nginxUwsgiPass(ctx: BenchContext): Topology {
  return topology('nginx-uwsgi-pass', 'nginx uwsgi_pass → uwsgi node (no router)', 'reference', async () => {
    const port = await freePort();
    const r = await startNginx(nginxUwsgiPassConf(port, (await ctx.uwsgiNode()).address));
    return { router: r, url: url(port) };
  });
}

/** HTTP router → uwsgi node, with and without keepalive, and nginx uwsgi_pass for reference. */
export function httpUwsgiScenario(ctx: BenchContext, reference: Topology = nginxUwsgiPass(ctx)): WrkScenario {
  const uwsgiPlain = topology(
    'http-uwsgi/uwsgi',
    "uWSGI's HTTP router → uwsgi node",
    'uwsgi',
    uwsgiHttp(ctx, false),
    { short: "uWSGI's HTTP router" },
  );
  const uwrPlain = topology(
    'http-uwsgi',
    'uwrouter --http → uwsgi node',
    'uwrouter',
    uwrouterHttp(ctx, false),
    {
      path: 'HTTP router → uwsgi node, no keepalive',
    },
  );
  const uwsgiKa = topology(
    'http-uwsgi-ka/uwsgi',
    "uWSGI's HTTP router --http-keepalive → uwsgi node",
    'uwsgi',
    uwsgiHttp(ctx, true),
    { short: "uWSGI's HTTP router" },
  );
  const uwrKa = topology(
    'http-uwsgi-ka',
    'uwrouter --http --http-keepalive → uwsgi node',
    'uwrouter',
    uwrouterHttp(ctx, true),
    { path: 'HTTP router → uwsgi node, keepalive' },
  );
  return {
    id: 'http-uwsgi',
    title: 'HTTP router → uwsgi node',
    about:
      'wrk → router → one uWSGI python hello node (2 processes); nginx uwsgi_pass to the same node for reference.',
    topologies: [uwsgiPlain, uwrPlain, uwsgiKa, uwrKa, reference],
    base: uwsgiPlain,
    pairs: [
      [uwrPlain, uwsgiPlain],
      [uwrKa, uwsgiKa],
    ],
    notes: () => [
      "uWSGI's router without keepalive closes after each response without `Connection: close` " +
        "(uWSGI issue #2112): wrk counts a read error for each, and reconnects; uwrouter's errors should be 0.",
    ],
  };
}

/**
 * `--http-processes 2` beside 1 (the 1-process topologies of `oneProcess`, shared with it),
 * uWSGI's and uwrouter's. A uwrouter build that runs one process whatever the option says is
 * skipped.
 */
export function httpProcessesScenario(ctx: BenchContext, oneProcess: WrkScenario): WrkScenario {
  const find = (id: string) => oneProcess.topologies.find((t) => t.id === id)!;
  const twoProcesses: NonNullable<Topology['check']> = async (s) => {
    // a primary and 2 workers, or 2 processes; give the workers a moment to start
    for (let i = 0; i < 50 && processTree(s.router!.pid).length < 2; i++) await sleep(100);
    const n = processTree(s.router!.pid).length;
    return n < 2
      ? 'this build runs one process whatever --http-processes says (it warns so at start-up)'
      : undefined;
  };
  const make = (keepalive: boolean) => {
    const ka = keepalive ? ' --http-keepalive' : '';
    const suffix = keepalive ? '-ka' : '';
    return [
      topology(
        `http-uwsgi${suffix}-2p/uwsgi`,
        `uWSGI's HTTP router --http-processes 2${ka} → uwsgi node`,
        'uwsgi',
        uwsgiHttp(ctx, keepalive, 2),
        { short: "uWSGI's HTTP router, 2 processes" },
      ),
      topology(
        `http-uwsgi${suffix}-2p`,
        `uwrouter --http --http-processes 2${ka} → uwsgi node`,
        'uwrouter',
        uwrouterHttp(ctx, keepalive, 2),
        {
          check: twoProcesses,
          path: `HTTP router → uwsgi node, 2 processes, ${keepalive ? 'keepalive' : 'no keepalive'}`,
        },
      ),
    ] as const;
  };
  const [uwsgi2, uwr2] = make(false);
  const [uwsgi2Ka, uwr2Ka] = make(true);
  const scale = (two: Topology, one: Topology) =>
    ratio(summaryOf(two).requestsPerSecond, summaryOf(one).requestsPerSecond);
  return {
    id: 'http-processes',
    title: 'HTTP router, 2 processes against 1',
    about:
      "The same node; CPU and memory are the router's whole process tree (uWSGI: master + gateways; uwrouter: primary + workers).",
    topologies: [
      find('http-uwsgi/uwsgi'),
      uwsgi2,
      find('http-uwsgi'),
      uwr2,
      find('http-uwsgi-ka/uwsgi'),
      uwsgi2Ka,
      find('http-uwsgi-ka'),
      uwr2Ka,
    ],
    base: find('http-uwsgi/uwsgi'),
    pairs: [
      [uwr2, uwsgi2],
      [uwr2Ka, uwsgi2Ka],
    ],
    notes: () => [
      `scaling 1 → 2 processes, no keepalive: uWSGI ${scale(uwsgi2, find('http-uwsgi/uwsgi'))}, ` +
        `uwrouter ${scale(uwr2, find('http-uwsgi'))} (goal ≥ 1.6×)`,
      `scaling 1 → 2 processes, --http-keepalive: uWSGI ${scale(uwsgi2Ka, find('http-uwsgi-ka/uwsgi'))}, ` +
        `uwrouter ${scale(uwr2Ka, find('http-uwsgi-ka'))} (goal ≥ 1.6×)`,
    ],
  };
}

/** HTTP proxies → the Node.js http node. */
export function httpNodeScenario(ctx: BenchContext): WrkScenario {
  const hello = () => ctx.nodeHello();
  const direct = topology(
    'http-node/direct',
    'wrk → Node.js http node (no proxy)',
    'reference',
    async () => ({
      url: url((await hello()).port),
    }),
  );
  const nginx = topology(
    'http-node/nginx',
    'nginx proxy_pass (upstream keepalive) → Node.js node',
    'peer',
    async () => {
      const port = await freePort();
      const r = await startNginx(nginxProxyPassConf(port, (await hello()).address, { keepalive: 64 }));
      return { router: r, url: url(port) };
    },
    { short: 'nginx proxy_pass (upstream keepalive)' },
  );
  const haproxy = topology(
    'http-node/haproxy',
    'HAProxy (http mode) → Node.js node',
    'peer',
    async () => {
      const r = await startHaproxyHttp((await hello()).address);
      return { router: r, url: url(r.port) };
    },
    { short: 'HAProxy http mode' },
  );
  const nodeProxy = (kind: 'http-proxy' | '@fastify/http-proxy') =>
    topology(
      `http-node/${kind.replace('@fastify/', 'fastify-')}`,
      `${kind} → Node.js node`,
      'peer',
      async () => {
        const r = await startNodeProxy(kind, (await hello()).port!);
        return { router: r, url: url(r.port) };
      },
      { short: kind },
    );
  const httpProxy = nodeProxy('http-proxy');
  const fastify = nodeProxy('@fastify/http-proxy');
  const uwr = topology(
    'http-node',
    'uwrouter --http-keepalive --http-to http:// → Node.js node',
    'uwrouter',
    async (nodeArgs) => {
      const port = await freePort();
      const r = await ctx.uwrouter(
        ['--http', `127.0.0.1:${port}`, '--http-keepalive', '--http-to', `http://${(await hello()).address}`],
        { nodeArgs },
      );
      return { router: r, url: url(port) };
    },
    { path: 'HTTP router → HTTP node, keepalive' },
  );
  return {
    id: 'http-node',
    title: 'HTTP router → HTTP node',
    about:
      'wrk → proxy → one Node.js `http` hello server (own process, keep-alive); every proxy keeps its node connections open.',
    topologies: [direct, nginx, haproxy, httpProxy, fastify, uwr],
    base: nginx,
    pairs: [
      [uwr, nginx],
      [uwr, haproxy],
      [uwr, httpProxy],
      [uwr, fastify],
    ],
  };
}

/** The scenarios of this file, for its own command line. */
export function httpRouterScenarios(ctx: BenchContext): WrkScenario[] {
  const uwsgi = httpUwsgiScenario(ctx);
  return [uwsgi, httpNodeScenario(ctx), httpProcessesScenario(ctx, uwsgi)];
}

if (import.meta.main) await runWrkBenchMain('HTTP router bench', httpRouterScenarios);
