/**
 * What the request log costs (--log-requests / --req-logger): uwrouter --http with
 * --http-keepalive, to an HTTP node (the router's fastest path, where a line per request
 * weighs most) and to a uWSGI python node, without a request log, with uWSGI-shaped lines
 * to a file, and with JSON lines to a file. wrk runs alternate between the topologies for N
 * rounds; medians and ratios to "no request log" are from the same run.
 *
 *   node bench/request-log-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                   [--entry src|dist] [--json FILE]
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tmpDir } from '../test/interop/harness/index.ts';
import { asServer, type ServerHandle, startServerProcess } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode } from '../test/interop/harness/uwsgi.ts';
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
server.listen(${port}, '127.0.0.1');
`,
  );
  const p = await startServerProcess('node-hello', process.execPath, [script], { cwd: dir, ready: { port } });
  return asServer(p, { port, dir });
}

interface Topology extends Target {
  file?: string;
}

async function main(): Promise<number> {
  log(`request log bench: ${rounds} rounds × ${wrkLabel(wrkOpts)}, node ${process.version}, entry ${entry}`);
  const hello = await startNodeHello();
  const uwsgi = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  const dir = tmpDir('request-log-bench');
  const all: Topology[] = [];
  const add = async (label: string, node: string, extra: string[], file?: string): Promise<void> => {
    const t: Topology = { label, runs: [], file };
    try {
      const args = [
        '--http',
        `127.0.0.1:${await freePort()}`,
        '--http-keepalive',
        '--http-to',
        node,
        ...extra,
      ];
      t.router = await startUwrouter(args, { entry });
      t.url = `http://127.0.0.1:${t.router.port}/`;
    } catch (err) {
      t.failure = `did not start: ${(err as Error).message.split('\n')[0]}`;
    }
    all.push(t);
  };
  const httpNode = `http://127.0.0.1:${hello.port}`;
  for (const [group, node] of [
    ['HTTP node', httpNode],
    ['uwsgi node', uwsgi.address],
  ] as const) {
    const slug = group.replace(' ', '-');
    await add(`${group}: no request log`, node, []);
    const plain = join(dir, `${slug}-plain.log`);
    await add(`${group}: --req-logger file (uWSGI lines)`, node, ['--req-logger', `file:${plain}`], plain);
    const json = join(dir, `${slug}-json.log`);
    await add(
      `${group}: --req-logger file --log-format json`,
      node,
      ['--req-logger', `file:${json}`, '--log-format', 'json'],
      json,
    );
  }
  for (const t of all) await checkHelloWorld(t);
  await runAlternatingRounds(all, { rounds, wrk: wrkOpts, log });
  const sums = new Map<Topology, Summary>(all.map((t) => [t, summarize(t.runs)]));
  const base = (t: Topology) => all[all.indexOf(t) - (all.indexOf(t) % 3)];
  console.log(`\nuwrouter --http --http-keepalive, median of ${rounds} (${wrkLabel(wrkOpts)})\n`);
  console.log(
    markdownTable(
      ['topology', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s × no log', 'CPU × no log', 'log MiB'],
      all.map((t) => {
        const m = sums.get(t)!;
        const b = sums.get(base(t))!;
        if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
        const size = t.file ? (statSync(t.file, { throwIfNoEntry: false })?.size ?? 0) / 1048576 : 0;
        return [
          t.label,
          fmt(m.requestsPerSecond),
          fmt(m.p50Ms, 2),
          fmt(m.p99Ms, 2),
          fmt(m.cpuUsPerRequest, 1),
          ratio(m.requestsPerSecond, b.requestsPerSecond),
          ratio(m.cpuUsPerRequest, b.cpuUsPerRequest),
          t.file ? fmt(size, 1) : '—',
        ];
      }),
    ),
  );
  const code = reportFailures(all, (t) => t.label);
  if (opt.json) {
    writeResultJson(
      opt.json,
      wrkOpts,
      rounds,
      all.map((t) => ({ label: t.label, failure: t.failure, summary: sums.get(t) })),
    );
  }
  return code;
}

await runBench(main);
