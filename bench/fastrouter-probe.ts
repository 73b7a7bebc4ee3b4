/**
 * A quick probe of the fastrouter hot path while tuning it: nginx → uwrouter fastrouter →
 * uWSGI node (and, with --uwsgi, nginx → uWSGI fastrouter → the same node), N alternating
 * wrk runs, CPU µs/request, RSS and PSS of the router. Optional views into one run:
 * `--strace` (syscall counts per request, strace -c -f), `--cpu-prof DIR` (V8 profile).
 *
 *   node bench/fastrouter-probe.ts [--runs 3] [--seconds 5] [--entry src|dist] [--uwsgi]
 *        [--node-arg=--max-semi-space-size=16 …] [--router-arg=--fastrouter-timeout=60 …]
 *        [--variant LABEL=ENTRY[,NAME=VALUE|,--node-flag]… …] [--strace] [--cpu-prof DIR]
 *
 * Each `--variant` starts one more uwrouter (its own entry script, environment and node
 * flags) behind its own nginx; runs alternate over all of them, so variants are compared
 * within one run (the machine is shared: absolute figures drift 10–20% between runs).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { procStat } from '../src/process/proc-stat.ts';
import { freePort } from '../test/interop/harness/index.ts';
import { nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { stopAllProcesses } from '../test/interop/harness/process-registry.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { measureRun } from './lib/measure.ts';
import { processTree } from './lib/proc.ts';
import { fmt } from './lib/stats.ts';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    conns: { type: 'string', default: '50' },
    entry: { type: 'string', default: 'src' },
    uwsgi: { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'router-arg': { type: 'string', multiple: true, default: [] },
    strace: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'show-logs': { type: 'boolean', default: false },
    variant: { type: 'string', multiple: true, default: [] },
  },
});
const wrkOpts = { threads: 2, conns: Number(opt.conns), seconds: Number(opt.seconds) };

/** [user, system] CPU seconds and minor page faults of a process tree. */
function userSys(pid: number): [number, number, number] {
  let u = 0;
  let s = 0;
  let faults = 0;
  for (const p of processTree(pid)) {
    const f = procStat(p);
    if (f === undefined) continue; // gone
    u += Number(f[11]) / 100;
    s += Number(f[12]) / 100;
    faults += Number(f[7]);
  }
  return [u, s, faults];
}

async function nginxInFront(upstream: string): Promise<string> {
  const port = await freePort();
  await startNginx(nginxUwsgiPassConf(port, upstream));
  return `http://127.0.0.1:${port}/`;
}

async function straceRun(url: string, pid: number): Promise<void> {
  const pids = processTree(pid).flatMap((p) => ['-p', String(p)]);
  const st = spawn('strace', ['-c', '-f', ...pids], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  st.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((r) => setTimeout(r, 500));
  const m = await measureRun(url, undefined, wrkOpts);
  st.kill('SIGINT');
  await new Promise((r) => st.once('close', r));
  const n = m.wrk.requests;
  process.stdout.write(`strace -c over ${n} requests (calls per request):\n`);
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    const calls = Number(f[3]);
    if (f.length >= 5 && Number.isFinite(calls) && calls > 0) {
      const name = f[f.length - 1];
      process.stdout.write(`  ${name!.padEnd(16)} ${(calls / n).toFixed(2)}\n`);
    }
  }
}

async function main(): Promise<void> {
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  const port = await freePort();
  const nodeArgs = [...opt['node-arg']];
  if (opt['cpu-prof']) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`);
  const uwr: ServerHandle = await startUwrouter(
    ['--fastrouter', `127.0.0.1:${port}`, '--fastrouter-to', node.address, ...opt['router-arg']],
    { entry: opt.entry, nodeArgs },
  );
  const targets: Array<[string, string, ServerHandle]> = [['uwrouter', await nginxInFront(uwr.address), uwr]];
  if (opt.uwsgi) {
    const uport = await freePort();
    const r = await startUwsgiRouter('fastrouter', [
      '--fastrouter',
      `127.0.0.1:${uport}`,
      '--fastrouter-to',
      node.address,
    ]);
    targets.push(['uWSGI', await nginxInFront(r.address), r]);
  }
  for (const v of opt.variant) {
    const [label, spec] = v.split('=', 2) as [string, string];
    const [entry, ...extra] = (v.slice(label.length + 1) || spec).split(',');
    const env: Record<string, string> = {};
    const flags: string[] = [];
    for (const x of extra) {
      if (x.startsWith('--')) flags.push(x);
      else env[x.slice(0, x.indexOf('='))] = x.slice(x.indexOf('=') + 1);
    }
    const vport = await freePort();
    const r = await startUwrouter(
      ['--fastrouter', `127.0.0.1:${vport}`, '--fastrouter-to', node.address, ...opt['router-arg']],
      { entry, env, nodeArgs: flags },
    );
    targets.push([label, await nginxInFront(r.address), r]);
  }
  for (const [, url, r] of targets) await measureRun(url, r.pid, { ...wrkOpts, seconds: 1 });
  for (let i = 0; i < Number(opt.runs); i++) {
    for (const [name, url, r] of i % 2 ? [...targets].reverse() : targets) {
      const [u0, s0, f0] = userSys(r.pid);
      const m = await measureRun(url, r.pid, wrkOpts);
      const [u1, s1, f1] = userSys(r.pid);
      const per = (x: number) => fmt((x / m.wrk.requests) * 1e6, 1);
      process.stdout.write(
        `${name.padEnd(10)} ${fmt(m.wrk.requestsPerSecond).padStart(7)} req/s  ${fmt(m.cpuUsPerRequest, 1).padStart(5)} µs/req ` +
          `(usr ${per(u1 - u0)} sys ${per(s1 - s0)}) ${fmt((f1 - f0) / m.wrk.requests, 2)} faults/req  ` +
          `p99 ${fmt(m.wrk.latencyMs.p99, 2)} ms  RSS ${fmt(m.rssBytes / 1048576, 1)} MiB  PSS ${fmt(m.pssBytes / 1048576, 1)} MiB\n`,
      );
    }
  }
  if (opt.strace)
    for (const [name, url, r] of targets) {
      process.stdout.write(`${name}: `);
      await straceRun(url, r.pid);
    }
  if (opt['show-logs'])
    process.stdout.write(`--- uwrouter output (last 3000 chars) ---\n${uwr.logs().slice(-3000)}\n`);
}

try {
  await main();
} finally {
  await stopAllProcesses();
}
