/**
 * sslrouter side by side: full TLS handshakes per second through {uWSGI sslrouter | uwrouter
 * sslrouter} → one uWSGI python hello node on `--http-socket` (2 processes), with an RSA-2048
 * and with an ECDSA P-256 certificate (the same files for both routers), measured with
 * `openssl s_time -new -www /` (bench/lib/handshakes.ts); targets alternate over the rounds;
 * the table shows medians, each router's CPU per handshake (user and system) and RSS, with the
 * ratio uwrouter / uWSGI for the same certificate.
 *
 *   node bench/sslrouter-bench.ts [--rounds 3] [--seconds 5] [--clients 4] [--entry src|dist]
 *                                 [--json FILE]
 */
import { freePort } from '../test/interop/harness/index.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import type { BenchContext } from './lib/context.ts';
import {
  benchCerts,
  CERT_KINDS,
  type CertKind,
  type HandshakeTarget,
  handshakeSection,
} from './lib/handshakes.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import type { Section } from './lib/summary.ts';

export function sslrouterSection(
  ctx: BenchContext,
  opts: { clients: number; seconds: number; certs?: readonly CertKind[] },
): Section {
  const targets: HandshakeTarget[] = [];
  for (const cert of opts.certs ?? CERT_KINDS) {
    for (const role of ['uwsgi', 'uwrouter'] as const) {
      targets.push({
        id: `sslrouter-${cert === 'RSA-2048' ? 'rsa' : 'ecdsa'}${role === 'uwsgi' ? '/uwsgi' : ''}`,
        label: `${role === 'uwsgi' ? "uWSGI's sslrouter" : 'uwrouter sslrouter'}, ${cert}`,
        role,
        cert,
        runs: [],
        launch: async () => {
          const f = benchCerts().files[cert];
          const port = await freePort();
          const node = await ctx.httpSocketNode();
          const args = ['--sslrouter', `127.0.0.1:${port},${f.crt},${f.key}`, '--sslrouter-to', node.address];
          return role === 'uwsgi' ? startUwsgiRouter('sslrouter', args) : ctx.uwrouter(args);
        },
      });
    }
  }
  return handshakeSection({
    id: 'sslrouter',
    title: 'sslrouter → --http-socket node, full handshakes',
    path: 'sslrouter handshakes',
    targets,
    clients: opts.clients,
    seconds: Math.min(opts.seconds, 10),
  });
}

if (import.meta.main)
  await runWrkBenchMain('sslrouter bench', (ctx, opt) => ({
    sections: [sslrouterSection(ctx, { clients: opt.clients, seconds: opt.wrk.seconds })],
  }));
