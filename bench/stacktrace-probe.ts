/**
 * Probe (issue 11 part 2): does V8's `--stack-trace-limit` change the rawrouter's CPU per
 * connection? Peers resetting, refused retries and the like build Error objects whose stack
 * is captured at creation. wrk → uwrouter rawrouter (dist) → uWSGI hello node closing every
 * connection, once with Node's default limit (10) and once with each limit given, in
 * alternating rounds. node bench/stacktrace-probe.ts [--rounds 3] [--seconds 5] [--limits 0,3]
 */
import { freePort } from '../test/interop/harness/index.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode } from '../test/interop/harness/uwsgi.ts';
import { summarize } from './lib/measure.ts';
import {
  benchOptions,
  checkHelloWorld,
  log,
  runAlternatingRounds,
  runBench,
  type Target,
  wrkLabel,
} from './lib/rounds.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';

const opt = benchOptions();
const limitsArg = process.argv.indexOf('--limits');
const limits = (limitsArg > 0 ? process.argv[limitsArg + 1] : '0,3').split(',').map(Number);

async function main(): Promise<number> {
  log(`stack-trace-limit probe: ${opt.rounds} rounds × ${wrkLabel(opt.wrk)}`);
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2, protocol: 'http' });
  const targets: Target[] = [];
  for (const limit of [undefined, ...limits]) {
    const port = await freePort();
    const nodeArgs = ['--single-threaded-gc', '--max-semi-space-size=8'];
    if (limit !== undefined) nodeArgs.push(`--stack-trace-limit=${limit}`);
    const t: Target = {
      label: limit === undefined ? 'default (10)' : `--stack-trace-limit=${limit}`,
      runs: [],
    };
    t.router = await startUwrouter(['--rawrouter', `127.0.0.1:${port}`, '--rawrouter-to', node.address], {
      entry: 'dist',
      nodeArgs,
    });
    t.url = `http://127.0.0.1:${port}/`;
    targets.push(t);
  }
  for (const t of targets) await checkHelloWorld(t);
  await runAlternatingRounds(targets, { rounds: opt.rounds, wrk: opt.wrk, log });
  const sums = targets.map((t) => summarize(t.runs));
  console.log(
    markdownTable(
      ['router', 'req/s', 'CPU µs/req', 'CPU × default'],
      targets.map((t, i) => [
        t.label,
        fmt(sums[i].requestsPerSecond),
        fmt(sums[i].cpuUsPerRequest, 1),
        ratio(sums[i].cpuUsPerRequest, sums[0].cpuUsPerRequest),
      ]),
    ),
  );
  return 0;
}

await runBench(main);
