/**
 * sslrouter side by side: full TLS handshakes per second through {uWSGI sslrouter | uwrouter
 * sslrouter} → one uWSGI python hello node on `--http-socket` (2 processes), with an RSA-2048
 * and with an ECDSA P-256 certificate (the same files for both routers). The client is
 * `openssl s_time -new -www /`: a new connection and a full handshake for every request (no
 * session resumption; wrk would resume: it keeps its SSL object across reconnects), reading
 * the node's answer so both routers connect the node. `--clients` s_time processes run in
 * parallel; targets alternate over the rounds; the table shows medians and each router's CPU
 * per handshake and RSS, with the ratio uwrouter / uWSGI for the same certificate.
 *
 *   node bench/sslrouter-bench.ts [--rounds 3] [--seconds 5] [--clients 4] [--entry src|dist]
 *                                 [--json FILE]
 */
import { parseArgs } from 'node:util';
import { freePort } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { TestCerts } from '../test/tls/test-certs.ts';
import { procCpuSeconds, procRssBytes } from './lib/proc.ts';
import { defaultEntry, log, reportFailures, runBench, writeResultJson } from './lib/rounds.ts';
import { sTime } from './lib/s-time.ts';
import { fmt, markdownTable, median, ratio } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '4' },
    entry: { type: 'string' },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const seconds = Math.min(Number(values.seconds), 10); // bounded runs
const clients = Number(values.clients);

interface Run {
  handshakesPerSecond: number;
  cpuUsPerHandshake: number;
  rssBytes: number;
  /** bytes of the node's answer read per connection (0 = nothing came back) */
  bytesPerConnection: number;
}

interface Target {
  label: string;
  cert: 'RSA-2048' | 'ECDSA P-256';
  role: 'uwsgi' | 'uwrouter';
  port?: number;
  router?: ServerHandle;
  failure?: string;
  runs: Run[];
}

async function measure(t: Target, secs: number): Promise<Run> {
  const pid = t.router!.pid;
  const cpu0 = procCpuSeconds(pid, { tree: true });
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => sTime(t.port!, secs)));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = procCpuSeconds(pid, { tree: true }) - cpu0;
  const connections = results.reduce((n, r) => n + r.connections, 0);
  return {
    handshakesPerSecond: connections / elapsed,
    cpuUsPerHandshake: connections > 0 ? (cpu / connections) * 1e6 : Number.NaN,
    rssBytes: procRssBytes(pid, { tree: true }),
    bytesPerConnection: Math.min(...results.map((r) => r.bytes)),
  };
}

async function main(): Promise<number> {
  log(`sslrouter bench: ${rounds} rounds × ${clients} × openssl s_time -new -www / -time ${seconds}`);
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2, protocol: 'http' });
  const certs = new TestCerts('bench-ssl');
  const ca = certs.ca();
  const files = {
    'RSA-2048': certs.leaf(ca, 'localhost', { kind: 'rsa', names: ['127.0.0.1'], stem: 'bench-rsa' }),
    'ECDSA P-256': certs.leaf(ca, 'localhost', { kind: 'ecdsa', names: ['127.0.0.1'], stem: 'bench-ecdsa' }),
  } as const;
  const entry = values.entry || defaultEntry();
  const targets: Target[] = [];
  for (const cert of ['RSA-2048', 'ECDSA P-256'] as const) {
    const f = files[cert];
    const uwsgi: Target = { label: `uWSGI sslrouter, ${cert}`, cert, role: 'uwsgi', runs: [] };
    uwsgi.port = await freePort();
    uwsgi.router = await startUwsgiRouter('sslrouter', [
      '--sslrouter',
      `127.0.0.1:${uwsgi.port},${f.crt},${f.key}`,
      '--sslrouter-to',
      node.address,
    ]);
    const ours: Target = {
      label: `uwrouter sslrouter (${entry}), ${cert}`,
      cert,
      role: 'uwrouter',
      runs: [],
    };
    try {
      ours.port = await freePort();
      ours.router = await startUwrouter(
        ['--sslrouter', `127.0.0.1:${ours.port},${f.crt},${f.key}`, '--sslrouter-to', node.address],
        { entry },
      );
    } catch (err) {
      ours.failure = `did not start: ${(err as Error).message.split('\n')[0]}`;
    }
    targets.push(uwsgi, ours);
  }
  const runnable = () => targets.filter((t) => t.router && !t.failure);
  for (const t of runnable()) {
    const warm = await measure(t, 1).catch((e: Error) => {
      t.failure = e.message;
      return null;
    });
    if (warm && warm.bytesPerConnection === 0) t.failure = 'no answer from the node came back';
  }
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? runnable() : runnable().reverse();
    for (const t of order) {
      try {
        const r = await measure(t, seconds);
        t.runs.push(r);
        log(
          `round ${round} ${t.label}: ${fmt(r.handshakesPerSecond)} handshakes/s, ${fmt(r.cpuUsPerHandshake, 1)} µs CPU each`,
        );
      } catch (err) {
        t.failure = (err as Error).message;
      }
      if (t.router && !t.router.isRunning()) t.failure = 'the router exited during the run';
    }
  }
  const med = (t: Target, k: keyof Run) => median(t.runs.map((r) => r[k]));
  const rows = targets.map((t) => {
    if (t.runs.length === 0) return [t.label, 'FAILED', '', '', ''];
    const base = targets.find((b) => b.cert === t.cert && b.role === 'uwsgi')!;
    return [
      t.label,
      fmt(med(t, 'handshakesPerSecond')),
      fmt(med(t, 'cpuUsPerHandshake'), 1),
      fmt(Math.max(...t.runs.map((r) => r.rssBytes)) / 1048576, 1),
      base.runs.length > 0 ? ratio(med(t, 'handshakesPerSecond'), med(base, 'handshakesPerSecond')) : '—',
    ];
  });
  console.log(
    `\nsslrouter, full handshakes (openssl s_time -new -www /, ${clients} clients in parallel, ${seconds} s runs), median of ${rounds}; ` +
      'router CPU and RSS include its child processes\n',
  );
  console.log(
    markdownTable(
      ['topology', 'handshakes/s', 'router CPU µs/handshake', 'router RSS MiB', '× uWSGI (same cert)'],
      rows,
    ),
  );
  for (const cert of ['RSA-2048', 'ECDSA P-256'] as const) {
    const [u, w] = [
      targets.find((t) => t.cert === cert && t.role === 'uwsgi')!,
      targets.find((t) => t.cert === cert && t.role === 'uwrouter')!,
    ];
    if (u.runs.length && w.runs.length) {
      console.log(
        `\n${cert}: uwrouter / uWSGI: handshakes/s ${ratio(med(w, 'handshakesPerSecond'), med(u, 'handshakesPerSecond'))}, ` +
          `CPU/handshake ${ratio(med(w, 'cpuUsPerHandshake'), med(u, 'cpuUsPerHandshake'))}, ` +
          `RSS ${ratio(Math.max(...w.runs.map((r) => r.rssBytes)), Math.max(...u.runs.map((r) => r.rssBytes)))}`,
      );
    }
  }
  const code = reportFailures(targets, (t) => t.label);
  if (values.json) {
    writeResultJson(
      values.json,
      { threads: clients, conns: clients, seconds },
      rounds,
      targets.map((t) => ({ label: t.label, role: t.role, cert: t.cert, failure: t.failure, runs: t.runs })),
    );
  }
  return code;
}

await runBench(main);
