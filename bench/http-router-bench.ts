/**
 * HTTP router side by side, one run, same machine:
 *  - uwsgi nodes: wrk → {uWSGI HTTP router | uwrouter --http} → one uWSGI python hello node
 *    (2 processes), without and with --http-keepalive;
 *  - HTTP nodes: wrk → {nginx proxy_pass (upstream keepalive) | HAProxy (http mode) |
 *    uwrouter --http-to http://…} → one Node.js `http` hello server, plus wrk → that server
 *    directly for reference.
 * Every proxy runs as one process/thread (uWSGI: 1 gateway; nginx: 1 worker; HAProxy:
 * nbthread 1; uwrouter: 1 process). wrk runs alternate between topologies for N rounds;
 * medians are shown with ratios measured in the same run (absolute figures vary 10–20%
 * between runs, and the machine may be shared).
 *
 *   node bench/http-router-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                   [--entry src|dist] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tmpDir } from '../test/interop/harness/index.ts';
import { nginxProxyPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { asServer, type ServerHandle, startServerProcess } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type Summary, summarize } from './lib/measure.ts';
import {
  benchOptions,
  checkHelloWorld,
  log,
  reportFailures,
  runAlternatingRounds,
  runBench,
  type Target,
  writeResultJson,
  wrkLabel,
} from './lib/rounds.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';

const opt = benchOptions({ entry: 'src', json: true });
const { rounds, wrk: wrkOpts } = opt;
const entry = opt.entry!;

interface Topology extends Target {
  group: 'uwsgi' | 'http';
}

function firstLines(err: unknown, n = 8): string {
  return (err as Error).message.split('\n').slice(0, n).join('\n  ');
}

/** A Node.js http hello server in its own process (so it never shares the bench's loop). */
async function startNodeHello(): Promise<ServerHandle> {
  const dir = tmpDir('node-hello');
  const port = await freePort();
  const script = join(dir, 'hello.mjs');
  writeFileSync(
    script,
    `import { createServer } from 'node:http';
const body = Buffer.from('Hello World');
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.listen(${port}, '127.0.0.1');
`,
  );
  const p = await startServerProcess('node-hello', process.execPath, [script], {
    cwd: dir,
    ready: { port },
  });
  return asServer(p, { port, dir });
}

async function startHaproxy(upstreamPort: number): Promise<ServerHandle> {
  const dir = tmpDir('haproxy');
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  maxconn 4096
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server node1 127.0.0.1:${upstreamPort}
`,
  );
  const p = await startServerProcess('haproxy', 'haproxy', ['-f', cfg, '-db'], {
    cwd: dir,
    ready: { port },
  });
  return asServer(p, { port, dir });
}

/** The first line a tool prints for its version (nginx and HAProxy differ in stdout/stderr). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim() || '?';
}

async function main(): Promise<number> {
  log(`HTTP router bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}`);
  log(
    `node ${process.version}, uWSGI ${version('uwsgi', ['--version'])}, ${version('nginx', ['-v'])}, ` +
      `${version('haproxy', ['-v'])}, uwrouter entry ${entry}`,
  );
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  const hello = await startNodeHello();
  log(`uwsgi node: python hello, 2 processes, ${node.address}; HTTP node: Node.js http, ${hello.address}`);

  const topo = (label: string, group: Topology['group']): Topology => ({ label, group, runs: [] });
  const uwsgiPlain = topo('uWSGI HTTP router → uwsgi node', 'uwsgi');
  const uwrPlain = topo('uwrouter --http → uwsgi node', 'uwsgi');
  const uwsgiKa = topo('uWSGI HTTP router --http-keepalive → uwsgi node', 'uwsgi');
  const uwrKa = topo('uwrouter --http --http-keepalive → uwsgi node', 'uwsgi');
  const direct = topo('wrk → Node.js http node (direct)', 'http');
  const nginx = topo('nginx proxy_pass (upstream keepalive) → Node.js node', 'http');
  const haproxy = topo('HAProxy (http mode) → Node.js node', 'http');
  const uwrHttp = topo('uwrouter --http-keepalive --http-to http:// → Node.js node', 'http');
  direct.url = `http://127.0.0.1:${hello.port}/`;

  const start = async (t: Topology, fn: () => Promise<ServerHandle>) => {
    try {
      t.router = await fn();
      t.url = `http://127.0.0.1:${t.router.port}/`;
    } catch (err) {
      t.failure = `did not start: ${firstLines(err)}`;
    }
  };
  const uwsgiArgs = async (ka: boolean) => [
    '--http',
    `127.0.0.1:${await freePort()}`,
    '--http-to',
    node.address,
    ...(ka ? ['--http-keepalive'] : []),
  ];
  await start(uwsgiPlain, async () => startUwsgiRouter('http', await uwsgiArgs(false)));
  await start(uwsgiKa, async () => startUwsgiRouter('http', await uwsgiArgs(true)));
  await start(uwrPlain, async () => startUwrouter(await uwsgiArgs(false), { entry }));
  await start(uwrKa, async () => startUwrouter(await uwsgiArgs(true), { entry }));
  await start(nginx, async () => {
    const port = await freePort();
    return startNginx(nginxProxyPassConf(port, hello.address, { keepalive: 64 }));
  });
  await start(haproxy, () => startHaproxy(hello.port!));
  await start(uwrHttp, async () =>
    startUwrouter(
      [
        '--http',
        `127.0.0.1:${await freePort()}`,
        '--http-keepalive',
        '--http-to',
        `http://127.0.0.1:${hello.port}`,
      ],
      { entry },
    ),
  );

  const all = [uwsgiPlain, uwrPlain, uwsgiKa, uwrKa, direct, nginx, haproxy, uwrHttp];
  for (const t of all) await checkHelloWorld(t);
  await runAlternatingRounds(all, { rounds, wrk: wrkOpts, log });

  const sums = new Map<Topology, Summary>(all.map((t) => [t, summarize(t.runs)]));
  const s = (t: Topology) => sums.get(t)!;
  const table = (ts: Topology[], base: Topology, baseName: string) =>
    markdownTable(
      [
        'topology',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'router CPU µs/req',
        'router RSS MiB',
        `req/s × ${baseName}`,
      ],
      ts.map((t) => {
        const m = s(t);
        if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
        return [
          t.label,
          fmt(m.requestsPerSecond),
          fmt(m.p50Ms, 2),
          fmt(m.p99Ms, 2),
          fmt(m.errors),
          t.router ? fmt(m.cpuUsPerRequest, 1) : '—',
          t.router ? fmt(m.rssBytes / 1048576, 1) : '—',
          ratio(m.requestsPerSecond, s(base).requestsPerSecond),
        ];
      }),
    );
  const head = `median of ${rounds} (${wrkLabel(wrkOpts)}; router CPU and RSS include child processes)`;
  console.log(`\nHTTP router → uwsgi node, ${head}\n`);
  console.log(table([uwsgiPlain, uwrPlain, uwsgiKa, uwrKa], uwsgiPlain, 'uWSGI plain'));
  console.log(`\nHTTP proxies → Node.js http node, ${head}\n`);
  console.log(table([direct, nginx, haproxy, uwrHttp], nginx, 'nginx'));

  const goal = (name: string, value: number, target: number, higherIsBetter: boolean) => {
    const ok = Number.isFinite(value) && (higherIsBetter ? value >= target : value <= target);
    return `- ${name}: ${Number.isFinite(value) ? `${value.toFixed(2)}×` : '—'} (goal ${higherIsBetter ? '≥' : '≤'} ${target}×) ${Number.isFinite(value) ? (ok ? 'met' : 'NOT met') : ''}`;
  };
  const r = (a: Topology, b: Topology, k: 'requestsPerSecond' | 'cpuUsPerRequest') => s(a)[k] / s(b)[k];
  console.log('\nRatios (same run):\n');
  console.log(
    goal('uwrouter / uWSGI req/s, no keepalive', r(uwrPlain, uwsgiPlain, 'requestsPerSecond'), 1.0, true),
  );
  console.log(
    goal('uwrouter / uWSGI req/s, --http-keepalive', r(uwrKa, uwsgiKa, 'requestsPerSecond'), 1.0, true),
  );
  console.log(
    goal('uwrouter / uWSGI CPU/req, no keepalive', r(uwrPlain, uwsgiPlain, 'cpuUsPerRequest'), 1.2, false),
  );
  console.log(
    goal('uwrouter / uWSGI CPU/req, --http-keepalive', r(uwrKa, uwsgiKa, 'cpuUsPerRequest'), 1.2, false),
  );
  console.log(goal('uwrouter / nginx req/s, HTTP node', r(uwrHttp, nginx, 'requestsPerSecond'), 0.8, true));
  console.log(
    `- uwrouter / HAProxy req/s, HTTP node: ${ratio(s(uwrHttp).requestsPerSecond, s(haproxy).requestsPerSecond)}`,
  );
  console.log(
    `- uwrouter / nginx CPU/req, HTTP node: ${ratio(s(uwrHttp).cpuUsPerRequest, s(nginx).cpuUsPerRequest)}`,
  );
  const code = reportFailures(all, (t) => t.label);

  if (opt.json) {
    const out = all.map((t) => ({
      label: t.label,
      group: t.group,
      failure: t.failure,
      summary: sums.get(t),
    }));
    writeResultJson(opt.json, wrkOpts, rounds, out);
  }
  return code;
}

await runBench(main);
