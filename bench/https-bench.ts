/**
 * The HTTPS router side by side with uWSGI's (`uwsgi --plugin http --https`), both in front
 * of the same uWSGI python hello node (2 processes, uwsgi protocol), in one alternating run:
 *
 * 1. full handshakes per second with an RSA-2048 and with an ECDSA P-256 certificate (the
 *    same files for both routers): `openssl s_time -new -www /` clients in parallel, a new
 *    connection and a full handshake for every request (wrk would resume sessions), and each
 *    router's CPU per handshake;
 * 2. keepalive HTTPS requests per second: `wrk` over TLS (its connections stay open and do
 *    one handshake each), both routers with `--http-keepalive`, ECDSA certificate;
 * 3. memory with N names (default 10,000) in `--sni-dir` after asking for every name once,
 *    with uwrouter's default LRU bound (`--ssl-contexts-max 1000`), plain and with the V8
 *    flags `npm start` uses, and, for reference, uWSGI's `--sni-dir` (which keeps every
 *    context it loads).
 *
 *   node bench/https-bench.ts [--rounds 3] [--seconds 5] [--clients 4] [--threads 2]
 *                             [--conns 50] [--names 10000] [--entry src|dist] [--json FILE]
 */
import { mkdirSync } from 'node:fs';
import { connect } from 'node:tls';
import { parseArgs } from 'node:util';
import { freePort } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { startUwsgiNode, startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { makeSniDir, sniDirName } from '../test/interop/sni-dir-certs.ts';
import { TestCerts } from '../test/tls/test-certs.ts';
import { type Measurement, measureRun } from './lib/measure.ts';
import { procCpuSeconds, procRssBytes } from './lib/proc.ts';
import { defaultEntry, log, reportFailures, runBench, writeResultJson } from './lib/rounds.ts';
import { sTime } from './lib/s-time.ts';
import { fmt, markdownTable, median, ratio } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    names: { type: 'string', default: '10000' },
    entry: { type: 'string' },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const seconds = Math.min(Number(values.seconds), 10); // bounded runs
const clients = Number(values.clients);
const wrk = { threads: Number(values.threads), conns: Number(values.conns), seconds: Math.min(seconds, 5) };
const names = Number(values.names);

type CertKind = 'RSA-2048' | 'ECDSA P-256';

interface HandshakeRun {
  handshakesPerSecond: number;
  cpuUsPerHandshake: number;
  rssBytes: number;
  bytesPerConnection: number;
}

interface Target {
  label: string;
  role: 'uwsgi' | 'uwrouter';
  cert: CertKind;
  port: number;
  router?: ServerHandle;
  failure?: string;
  handshakes: HandshakeRun[];
  keepalive: Measurement[];
}

async function measureHandshakes(t: Target, secs: number): Promise<HandshakeRun> {
  const pid = t.router!.pid;
  const cpu0 = procCpuSeconds(pid, { tree: true });
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => sTime(t.port, secs)));
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

/** One handshake asking for `name` and a request; resolves at the close with whether its own certificate came. */
function touch(port: number, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    let ok = false;
    const s = connect({ port, host: '127.0.0.1', servername: name, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      ok = s.getPeerCertificate().subject?.CN === name;
      s.end('GET / HTTP/1.0\r\n\r\n');
    });
    s.resume();
    s.on('error', () => undefined);
    s.once('close', () => resolve(ok));
  });
}

interface SniDirResult {
  label: string;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  wrong: number;
  seconds: number;
  failure?: string;
}

/** Every name of the directory asked for once (8 at a time); the router's RSS before and after. */
async function sniDirMemory(label: string, router: ServerHandle, port: number): Promise<SniDirResult> {
  await new Promise((r) => setTimeout(r, 500));
  const rssBeforeBytes = procRssBytes(router.pid, { tree: true });
  const started = performance.now();
  let next = 0;
  let wrong = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names) if (!(await touch(port, sniDirName(next++)))) wrong++;
    }),
  );
  return {
    label,
    rssBeforeBytes,
    rssAfterBytes: procRssBytes(router.pid, { tree: true }),
    wrong,
    seconds: (performance.now() - started) / 1000,
  };
}

async function main(): Promise<number> {
  log(
    `https bench: ${rounds} rounds × (${clients} × openssl s_time -new, wrk -t${wrk.threads} -c${wrk.conns} -d${wrk.seconds}s), ${names} sni-dir names`,
  );
  const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
  const certs = new TestCerts('bench-https');
  const ca = certs.ca();
  const files: Record<CertKind, { crt: string; key: string }> = {
    'RSA-2048': certs.leaf(ca, 'localhost', { kind: 'rsa', names: ['127.0.0.1'], stem: 'bench-rsa' }),
    'ECDSA P-256': certs.leaf(ca, 'localhost', { kind: 'ecdsa', names: ['127.0.0.1'], stem: 'bench-ecdsa' }),
  };
  const entry = values.entry || defaultEntry();
  const targets: Target[] = [];
  for (const cert of ['RSA-2048', 'ECDSA P-256'] as const) {
    const f = files[cert];
    for (const role of ['uwsgi', 'uwrouter'] as const) {
      const t: Target = {
        label: role === 'uwsgi' ? `uWSGI HTTPS router, ${cert}` : `uwrouter HTTPS (${entry}), ${cert}`,
        role,
        cert,
        port: await freePort(),
        handshakes: [],
        keepalive: [],
      };
      const args = [
        '--https',
        `127.0.0.1:${t.port},${f.crt},${f.key}`,
        '--http-to',
        node.address,
        '--http-keepalive',
      ];
      try {
        t.router =
          role === 'uwsgi' ? await startUwsgiRouter('http', args) : await startUwrouter(args, { entry });
      } catch (err) {
        t.failure = `did not start: ${(err as Error).message.split('\n')[0]}`;
      }
      targets.push(t);
    }
  }
  const runnable = () => targets.filter((t) => t.router && !t.failure);
  const url = (t: Target) => `https://127.0.0.1:${t.port}/`;
  for (const t of runnable()) {
    const warm = await measureHandshakes(t, 1).catch((e: Error) => {
      t.failure = e.message;
      return null;
    });
    if (warm && warm.bytesPerConnection === 0) t.failure = 'no answer from the node came back';
    if (t.cert === 'ECDSA P-256')
      await measureRun(url(t), t.router!.pid, { ...wrk, seconds: 1 }).catch(() => null);
  }
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? runnable() : runnable().reverse();
    for (const t of order) {
      try {
        const h = await measureHandshakes(t, seconds);
        t.handshakes.push(h);
        log(
          `round ${round} ${t.label}: ${fmt(h.handshakesPerSecond)} handshakes/s, ${fmt(h.cpuUsPerHandshake, 1)} µs CPU each`,
        );
        if (t.cert === 'ECDSA P-256') {
          const k = await measureRun(url(t), t.router!.pid, wrk);
          t.keepalive.push(k);
          log(
            `round ${round} ${t.label}: keepalive ${fmt(k.wrk.requestsPerSecond)} req/s, ${fmt(k.cpuUsPerRequest, 1)} µs CPU/req`,
          );
        }
      } catch (err) {
        t.failure = (err as Error).message.split('\n')[0];
      }
      if (t.router && !t.router.isRunning()) t.failure = 'the router exited during the run';
    }
  }
  // memory: every sni-dir name once, uwrouter (default LRU bound) and uWSGI
  for (const t of targets) await t.router?.stop();
  log(`making ${names} sni-dir certificates…`);
  const dir = certs.path('sni-dir');
  mkdirSync(dir);
  makeSniDir(dir, names);
  const sni: SniDirResult[] = [];
  const NPM_START_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=8'];
  for (const role of ['uwrouter', 'uwrouter-npm-start', 'uwsgi'] as const) {
    const port = await freePort();
    const f = files['ECDSA P-256'];
    const args = [
      '--https',
      `127.0.0.1:${port},${f.crt},${f.key}`,
      '--http-to',
      node.address,
      '--sni-dir',
      dir,
    ];
    const label =
      role === 'uwsgi'
        ? 'uWSGI HTTPS router --sni-dir'
        : role === 'uwrouter'
          ? `uwrouter HTTPS (${entry}) --sni-dir, --ssl-contexts-max 1000`
          : `same, node ${NPM_START_FLAGS.join(' ')} (npm start's flags)`;
    try {
      const router =
        role === 'uwsgi'
          ? await startUwsgiRouter('http', args)
          : await startUwrouter(args, {
              entry,
              ...(role === 'uwrouter' ? {} : { nodeArgs: NPM_START_FLAGS }),
            });
      const r = await sniDirMemory(label, router, port);
      sni.push(r);
      log(`${label}: RSS ${fmt(r.rssBeforeBytes / 1048576, 1)} → ${fmt(r.rssAfterBytes / 1048576, 1)} MiB`);
      await router.stop();
    } catch (err) {
      sni.push({
        label,
        rssBeforeBytes: Number.NaN,
        rssAfterBytes: Number.NaN,
        wrong: 0,
        seconds: 0,
        failure: (err as Error).message.split('\n')[0],
      });
    }
  }

  const med = (xs: number[]) => median(xs);
  const base = (t: Target) => targets.find((b) => b.cert === t.cert && b.role === 'uwsgi')!;
  console.log(
    `\nHTTPS router, full handshakes (openssl s_time -new -www /, ${clients} clients in parallel, ${seconds} s runs), median of ${rounds}; router CPU and RSS include child processes\n`,
  );
  console.log(
    markdownTable(
      ['topology', 'handshakes/s', 'router CPU µs/handshake', 'router RSS MiB', '× uWSGI (same cert)'],
      targets.map((t) => {
        if (t.handshakes.length === 0) return [t.label, 'FAILED', '', '', ''];
        const hs = med(t.handshakes.map((r) => r.handshakesPerSecond));
        const b = base(t);
        return [
          t.label,
          fmt(hs),
          fmt(med(t.handshakes.map((r) => r.cpuUsPerHandshake)), 1),
          fmt(Math.max(...t.handshakes.map((r) => r.rssBytes)) / 1048576, 1),
          b.handshakes.length ? ratio(hs, med(b.handshakes.map((r) => r.handshakesPerSecond))) : '—',
        ];
      }),
    ),
  );
  const ka = targets.filter((t) => t.cert === 'ECDSA P-256');
  console.log(
    `\nkeepalive HTTPS (wrk -t${wrk.threads} -c${wrk.conns} -d${wrk.seconds}s, --http-keepalive, ECDSA P-256), median of ${rounds}\n`,
  );
  console.log(
    markdownTable(
      ['topology', 'req/s', 'p99 ms', 'router CPU µs/req', 'errors', '× uWSGI'],
      ka.map((t) => {
        if (t.keepalive.length === 0) return [t.label, 'FAILED', '', '', '', ''];
        const rps = med(t.keepalive.map((m) => m.wrk.requestsPerSecond));
        const b = base(t);
        return [
          t.label,
          fmt(rps),
          fmt(med(t.keepalive.map((m) => m.wrk.latencyMs.p99)), 2),
          fmt(med(t.keepalive.map((m) => m.cpuUsPerRequest)), 1),
          String(
            t.keepalive.reduce(
              (n, m) => n + m.wrk.errors.non2xx3xx + m.wrk.errors.read + m.wrk.errors.connect,
              0,
            ),
          ),
          b.keepalive.length ? ratio(rps, med(b.keepalive.map((m) => m.wrk.requestsPerSecond))) : '—',
        ];
      }),
    ),
  );
  console.log(
    `\n--sni-dir with ${names} names, each asked for once (a full handshake and a request each, 8 at a time)\n`,
  );
  console.log(
    markdownTable(
      ['router', 'RSS before MiB', 'RSS after MiB', 'wrong certificates', 'seconds'],
      sni.map((r) =>
        r.failure
          ? [r.label, 'FAILED', '', '', '']
          : [
              r.label,
              fmt(r.rssBeforeBytes / 1048576, 1),
              fmt(r.rssAfterBytes / 1048576, 1),
              String(r.wrong),
              fmt(r.seconds, 1),
            ],
      ),
    ),
  );
  let code = reportFailures(targets, (t) => t.label);
  for (const r of sni) if (r.failure) console.log(`\n${r.label}: FAILED — ${r.failure}`);
  if (sni.some((r) => r.failure)) code = 1;
  if (values.json) {
    writeResultJson(values.json, { threads: wrk.threads, conns: wrk.conns, seconds }, rounds, [
      ...targets.map((t) => ({
        label: t.label,
        role: t.role,
        cert: t.cert,
        failure: t.failure,
        handshakes: t.handshakes,
        keepalive: t.keepalive.map((m) => ({ ...m, wrk: { ...m.wrk, raw: undefined } })),
      })),
      ...sni,
    ]);
  }
  return code;
}

await runBench(main);
