/**
 * The HTTPS router side by side with uWSGI's (`uwsgi --plugin http --https`), both in front
 * of the same uWSGI python hello node (2 processes, uwsgi protocol), in one alternating run:
 *
 * 1. full handshakes per second with an RSA-2048 and with an ECDSA P-256 certificate (the
 *    same files for both routers), `openssl s_time -new` clients (bench/lib/handshakes.ts),
 *    and each router's CPU per handshake;
 * 2. keepalive HTTPS requests per second: `wrk` over TLS (its connections stay open and do
 *    one handshake each), both routers with `--http-keepalive`, ECDSA certificate;
 * 3. (this command only, after the rounds) memory with N names (default 10,000) in
 *    `--sni-dir` after asking for every name once, with uwrouter's default LRU bound
 *    (`--ssl-contexts-max 1000`), plain and with the V8 flags `npm start` uses, and, for
 *    reference, uWSGI's `--sni-dir` (which keeps every context it loads). `--names 0` skips it.
 *
 *   node bench/https-bench.ts [--rounds 3] [--seconds 5] [--clients 4] [--threads 2]
 *                             [--conns 50] [--names 10000] [--entry src|dist] [--json FILE]
 */
import { mkdirSync } from 'node:fs';
import { connect } from 'node:tls';
import { freePort } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { makeSniDir, sniDirName } from '../test/interop/sni-dir-certs.ts';
import type { BenchContext } from './lib/context.ts';
import {
  benchCerts,
  CERT_KINDS,
  type CertKind,
  type HandshakeTarget,
  handshakeSection,
} from './lib/handshakes.ts';
import { procMemoryBytes } from './lib/proc.ts';
import { log } from './lib/rounds.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import { topology, type WrkScenario } from './lib/scenario.ts';
import { fmt, markdownTable } from './lib/stats.ts';
import type { Section } from './lib/summary.ts';

/** `--https ADDR,CRT,KEY --http-to NODE --http-keepalive [more]`, uWSGI's or uwrouter's. */
async function httpsRouter(
  ctx: BenchContext,
  role: 'uwsgi' | 'uwrouter',
  cert: CertKind,
  more: string[] = [],
  nodeArgs?: string[],
): Promise<ServerHandle> {
  const f = benchCerts().files[cert];
  const port = await freePort();
  const node = await ctx.uwsgiNode();
  const args = [
    '--https',
    `127.0.0.1:${port},${f.crt},${f.key}`,
    '--http-to',
    node.address,
    '--http-keepalive',
    ...more,
  ];
  return role === 'uwsgi' ? startUwsgiRouter('http', args) : ctx.uwrouter(args, { nodeArgs });
}

/** Full handshakes through the HTTPS routers, RSA and ECDSA. */
export function httpsHandshakeSection(
  ctx: BenchContext,
  opts: { clients: number; seconds: number; certs?: readonly CertKind[] },
): Section {
  const targets: HandshakeTarget[] = [];
  for (const cert of opts.certs ?? CERT_KINDS) {
    for (const role of ['uwsgi', 'uwrouter'] as const) {
      targets.push({
        id: `https-${cert === 'RSA-2048' ? 'rsa' : 'ecdsa'}${role === 'uwsgi' ? '/uwsgi' : ''}`,
        label: `${role === 'uwsgi' ? "uWSGI's HTTPS router" : 'uwrouter HTTPS'}, ${cert}`,
        role,
        cert,
        runs: [],
        launch: () => httpsRouter(ctx, role, cert),
      });
    }
  }
  return handshakeSection({
    id: 'https-handshakes',
    title: 'HTTPS router → uwsgi node, full handshakes',
    path: 'HTTPS router handshakes',
    targets,
    clients: opts.clients,
    seconds: Math.min(opts.seconds, 10),
  });
}

/** Keep-alive HTTPS (wrk over TLS, ECDSA P-256), both routers with --http-keepalive. */
export function httpsKeepaliveScenario(ctx: BenchContext): WrkScenario {
  const make = (role: 'uwsgi' | 'uwrouter') =>
    topology(
      role === 'uwsgi' ? 'https-ka/uwsgi' : 'https-ka',
      `${role === 'uwsgi' ? "uWSGI's HTTPS router" : 'uwrouter HTTPS'} --http-keepalive, ECDSA P-256 → uwsgi node`,
      role,
      async (nodeArgs) => {
        const r = await httpsRouter(ctx, role, 'ECDSA P-256', [], nodeArgs);
        return { router: r, url: `https://127.0.0.1:${r.port}/` };
      },
      role === 'uwsgi' ? { short: "uWSGI's HTTPS router" } : { path: 'HTTPS router → uwsgi node, keepalive' },
    );
  const uwsgi = make('uwsgi');
  const uwr = make('uwrouter');
  return {
    id: 'https-ka',
    title: 'HTTPS router → uwsgi node, keepalive',
    about: 'wrk over TLS (one handshake per connection) → router → the uWSGI python hello node.',
    topologies: [uwsgi, uwr],
    base: uwsgi,
    pairs: [[uwr, uwsgi]],
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
  /** PSS of the tree after (shared pages divided among its processes) */
  pssAfterBytes: number;
  wrong: number;
  seconds: number;
  failure?: string;
}

/** Every name of the directory asked for once (8 at a time); the router's RSS before and after. */
async function sniDirMemory(label: string, router: ServerHandle, names: number): Promise<SniDirResult> {
  await new Promise((r) => setTimeout(r, 500));
  const rssBeforeBytes = procMemoryBytes(router.pid).rss;
  const started = performance.now();
  let next = 0;
  let wrong = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names) if (!(await touch(router.port!, sniDirName(next++)))) wrong++;
    }),
  );
  const after = procMemoryBytes(router.pid);
  return {
    label,
    rssBeforeBytes,
    rssAfterBytes: after.rss,
    pssAfterBytes: after.pss,
    wrong,
    seconds: (performance.now() - started) / 1000,
  };
}

/** `--sni-dir` with `names` names: RSS after each was asked for once (measured alone). */
export function sniDirSection(ctx: BenchContext, names: number): Section {
  const results: SniDirResult[] = [];
  const kinds = ['uwrouter', 'uwrouter-no-flags', 'uwsgi'] as const;
  const label = (k: (typeof kinds)[number]) =>
    k === 'uwsgi'
      ? "uWSGI's HTTPS router --sni-dir"
      : k === 'uwrouter'
        ? `uwrouter HTTPS --sni-dir, --ssl-contexts-max 1000, node ${ctx.nodeFlags.join(' ')}`
        : 'same, node without flags';
  return {
    id: 'sni-dir',
    async run() {
      log(`making ${names} sni-dir certificates…`);
      const dir = benchCerts().dir.path('sni-dir');
      mkdirSync(dir);
      makeSniDir(dir, names);
      for (const kind of kinds) {
        try {
          const f = benchCerts().files['ECDSA P-256'];
          const port = await freePort();
          const node = await ctx.uwsgiNode();
          const args = [
            '--https',
            `127.0.0.1:${port},${f.crt},${f.key}`,
            '--http-to',
            node.address,
            '--sni-dir',
            dir,
          ];
          const router =
            kind === 'uwsgi'
              ? await startUwsgiRouter('http', args)
              : kind === 'uwrouter'
                ? await ctx.uwrouter(args)
                : await ctx.uwrouterWithout(args);
          const r = await sniDirMemory(label(kind), router, names);
          results.push(r);
          log(
            `${r.label}: RSS ${fmt(r.rssBeforeBytes / 1048576, 1)} → ${fmt(r.rssAfterBytes / 1048576, 1)} MiB`,
          );
          await router.stop();
        } catch (err) {
          results.push({
            label: label(kind),
            rssBeforeBytes: Number.NaN,
            rssAfterBytes: Number.NaN,
            pssAfterBytes: Number.NaN,
            wrong: 0,
            seconds: 0,
            failure: (err as Error).message.split('\n')[0],
          });
        }
      }
    },
    print() {
      console.log(
        `\n### HTTPS --sni-dir memory\n\n${names} names, each asked for once (a full handshake and a request each, 8 at a time)\n`,
      );
      console.log(
        markdownTable(
          ['router', 'RSS before MiB', 'RSS after MiB', 'PSS after MiB', 'wrong certificates', 'seconds'],
          results.map((r) =>
            r.failure
              ? [r.label, 'FAILED', '', '', '', '']
              : [
                  r.label,
                  fmt(r.rssBeforeBytes / 1048576, 1),
                  fmt(r.rssAfterBytes / 1048576, 1),
                  fmt(r.pssAfterBytes / 1048576, 1),
                  String(r.wrong),
                  fmt(r.seconds, 1),
                ],
          ),
        ),
      );
    },
    comparisons: () => [],
    items: () => results,
    json: () => results,
  };
}

if (import.meta.main)
  await runWrkBenchMain(
    'https bench',
    (ctx, opt) => {
      const names = Number(opt.extra.names);
      return {
        scenarios: [httpsKeepaliveScenario(ctx)],
        sections: [
          httpsHandshakeSection(ctx, { clients: opt.clients, seconds: opt.wrk.seconds }),
          ...(names > 0 ? [sniDirSection(ctx, names)] : []),
        ],
      };
    },
    { names: '10000' },
  );
