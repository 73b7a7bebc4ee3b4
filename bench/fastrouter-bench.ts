/**
 * Fastrouter side by side: nginx uwsgi_pass → {uWSGI fastrouter | uwrouter fastrouter} → one
 * uWSGI python hello node (2 processes), plus nginx → node directly for reference. wrk runs
 * alternate between the topologies for N rounds; the table shows medians and the ratio
 * uwrouter / uWSGI measured in the same run (absolute figures vary 10–20% between runs).
 *
 *   node bench/fastrouter-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                  [--entry src|dist] [--json FILE]
 */
import { freePort } from '../test/interop/harness/index.ts';
import { nginxUwsgiPassConf, startNginx } from '../test/interop/harness/nginx.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { nginxUwsgiPass } from './http-router-bench.ts';
import type { BenchContext } from './lib/context.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import { type Topology, topology, type WrkScenario } from './lib/scenario.ts';

/** nginx uwsgi_pass in front of `upstream` (a router); the router is the measured process. */
async function behindNginx(router: Topology['router']): Promise<{ router: Topology['router']; url: string }> {
  const port = await freePort();
  await startNginx(nginxUwsgiPassConf(port, router!.address));
  return { router, url: `http://127.0.0.1:${port}/` };
}

/** nginx → fastrouter → uwsgi node, uWSGI's and uwrouter's; `reference` is nginx → node. */
export function fastrouterScenario(
  ctx: BenchContext,
  reference: Topology = nginxUwsgiPass(ctx),
): WrkScenario {
  const uwsgi = topology(
    'fastrouter/uwsgi',
    "nginx → uWSGI's fastrouter → uwsgi node",
    'uwsgi',
    async () => {
      const node = await ctx.uwsgiNode();
      const port = await freePort();
      return behindNginx(
        await startUwsgiRouter('fastrouter', [
          '--fastrouter',
          `127.0.0.1:${port}`,
          '--fastrouter-to',
          node.address,
        ]),
      );
    },
    { short: "uWSGI's fastrouter" },
  );
  const uwr = topology(
    'fastrouter',
    'nginx → uwrouter fastrouter → uwsgi node',
    'uwrouter',
    async (nodeArgs) => {
      const node = await ctx.uwsgiNode();
      const port = await freePort();
      return behindNginx(
        await ctx.uwrouter(['--fastrouter', `127.0.0.1:${port}`, '--fastrouter-to', node.address], {
          nodeArgs,
        }),
      );
    },
    { path: 'nginx → fastrouter → uwsgi node' },
  );
  return {
    id: 'fastrouter',
    title: 'nginx → fastrouter → uwsgi node',
    about:
      "wrk → nginx uwsgi_pass (1 worker) → router → one uWSGI python hello node (2 processes); CPU and RSS are the router's (nginx's in the reference).",
    topologies: [reference, uwsgi, uwr],
    base: uwsgi,
    pairs: [[uwr, uwsgi]],
  };
}

if (import.meta.main) await runWrkBenchMain('fastrouter bench', (ctx) => [fastrouterScenario(ctx)]);
