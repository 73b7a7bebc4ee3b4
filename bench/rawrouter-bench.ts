/**
 * Rawrouter side by side:
 *  - connection per request: wrk → {uWSGI rawrouter | uwrouter rawrouter | HAProxy tcp mode}
 *    → one uWSGI python hello node on `--http-socket` (2 processes), plus wrk → node directly.
 *    The node closes every connection after its answer, so each request is a new TCP
 *    connection through the relay: accept, node connect, relay, close (the whole hot path);
 *  - bulk: MiB/s and CPU per MiB through the same relays for a 100 MiB answer (a Node.js node
 *    writing 100 MiB to each connection), three transfers in a row per run.
 * Runs alternate between the topologies for N rounds; medians and same-run ratios.
 *
 *   node bench/rawrouter-bench.ts [--rounds 3] [--seconds 5] [--threads 2] [--conns 50]
 *                                 [--entry src|dist] [--json FILE]
 */
import { freePort } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import { type BenchContext, firstLines } from './lib/context.ts';
import { startBlobNode, startHaproxyTcp } from './lib/peers.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import type { Role, WrkScenario } from './lib/scenario.ts';
import { topology } from './lib/scenario.ts';
import { fmt, markdownTable, ratio } from './lib/stats.ts';
import type { Comparison, Section } from './lib/summary.ts';
import { summarizeTransfers, type TransferTarget, transferUnit } from './lib/transfer.ts';

/** A relay of each kind to `node` (`host:port`), listening on a free port. */
async function relay(
  ctx: BenchContext,
  kind: Role,
  node: string,
  nodeArgs?: string[],
): Promise<ServerHandle> {
  if (kind === 'peer') return startHaproxyTcp(node);
  const port = await freePort();
  const args = ['--rawrouter', `127.0.0.1:${port}`, '--rawrouter-to', node];
  return kind === 'uwsgi' ? startUwsgiRouter('rawrouter', args) : ctx.uwrouter(args, { nodeArgs });
}

const LABEL: Record<'uwsgi' | 'uwrouter' | 'peer', string> = {
  uwsgi: "uWSGI's rawrouter",
  uwrouter: 'uwrouter rawrouter',
  peer: 'HAProxy tcp mode',
};

/** Connection per request through each relay. */
export function rawrouterScenario(ctx: BenchContext): WrkScenario {
  const node = async () => (await ctx.httpSocketNode()).address;
  const direct = topology('rawrouter/direct', 'wrk → node (no relay)', 'reference', async () => ({
    url: `http://${await node()}/`,
  }));
  const make = (kind: 'uwsgi' | 'uwrouter' | 'peer') =>
    topology(
      kind === 'uwrouter' ? 'rawrouter' : `rawrouter/${kind === 'uwsgi' ? 'uwsgi' : 'haproxy'}`,
      `wrk → ${LABEL[kind]} → node`,
      kind,
      async (nodeArgs) => {
        const r = await relay(ctx, kind, await node(), nodeArgs);
        return { router: r, url: `http://127.0.0.1:${r.port}/` };
      },
      kind === 'uwrouter' ? { path: 'rawrouter, connection per request' } : { short: LABEL[kind] },
    );
  const uwsgi = make('uwsgi');
  const uwr = make('uwrouter');
  const haproxy = make('peer');
  return {
    id: 'rawrouter',
    title: 'rawrouter, connection per request',
    about:
      'wrk → relay → one uWSGI python hello node on --http-socket (2 processes), which closes every connection: one TCP connection per request through the relay.',
    topologies: [direct, uwsgi, uwr, haproxy],
    base: uwsgi,
    pairs: [
      [uwr, uwsgi],
      [uwr, haproxy],
    ],
    notes: () => [
      '"errors" are wrk read errors: the node closes every connection after its answer (one per request).',
    ],
  };
}

/** MiB/s and CPU per MiB for a `mib` MiB answer through each relay. */
export function rawTransferSection(ctx: BenchContext, opts: { mib: number; transfers: number }): Section {
  const blob = () => ctx.shared(`blob-${opts.mib}`, () => startBlobNode(opts.mib));
  const targets: TransferTarget[] = (['reference', 'uwsgi', 'uwrouter', 'peer'] as const).map((role) => ({
    id: role === 'uwrouter' ? 'raw-transfer' : `raw-transfer/${role}`,
    label: role === 'reference' ? 'node directly (no relay)' : LABEL[role],
    role,
    runs: [],
  }));
  const byRole = (r: Role) => targets.find((t) => t.role === r)!;
  const fig = (t: TransferTarget) => {
    const s = summarizeTransfers(t.runs);
    return {
      label: t.label,
      value: s.mibPerSecond,
      cpuUser: s.cpuUserUsPerMiB,
      cpuSystem: s.cpuSystemUsPerMiB,
      rssBytes: s.rssBytes,
      pssBytes: s.pssBytes,
    };
  };
  return {
    id: 'raw-transfer',
    async start() {
      for (const t of targets) {
        try {
          const node = await blob();
          if (t.role === 'reference') t.port = node.port;
          else {
            t.router = await relay(ctx, t.role, node.address);
            t.port = t.router.port;
          }
        } catch (err) {
          t.failure = `did not start: ${firstLines(err)}`;
        }
      }
    },
    units: () => targets.map((t) => transferUnit(t, opts.mib, opts.transfers)),
    print() {
      console.log(
        `\n### rawrouter, bulk transfer\n\nThe bench reads a ${opts.mib} MiB answer through each relay from a Node.js node (${opts.transfers} transfers in a row per run; median of the runs); CPU per MiB, RSS and PSS of the relay's process tree.\n`,
      );
      const base = summarizeTransfers(byRole('uwsgi').runs);
      console.log(
        markdownTable(
          ['relay', 'MiB/s', 'CPU µs/MiB', 'user', 'sys', 'RSS MiB', 'PSS MiB', "MiB/s × uWSGI's"],
          targets.map((t) => {
            if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
            const s = summarizeTransfers(t.runs);
            const own = t.role !== 'reference';
            return [
              t.label,
              fmt(s.mibPerSecond),
              own ? fmt(s.cpuUserUsPerMiB + s.cpuSystemUsPerMiB) : '—',
              own ? fmt(s.cpuUserUsPerMiB) : '—',
              own ? fmt(s.cpuSystemUsPerMiB) : '—',
              own ? fmt(s.rssBytes / 1048576, 1) : '—',
              own ? fmt(s.pssBytes / 1048576, 1) : '—',
              ratio(s.mibPerSecond, base.mibPerSecond),
            ];
          }),
        ),
      );
    },
    comparisons() {
      const ours = byRole('uwrouter');
      return [byRole('uwsgi'), byRole('peer')]
        .filter((p) => ours.runs.length > 0 && p.runs.length > 0)
        .map(
          (p): Comparison => ({
            path: `rawrouter, ${opts.mib} MiB transfer`,
            unit: 'MiB/s',
            cpuUnit: 'µs/MiB',
            higherIsBetter: true,
            ours: fig(ours),
            peer: fig(p),
          }),
        );
    },
    items: () => targets,
    json: () =>
      targets.map((t) => ({ id: t.id, label: t.label, role: t.role, failure: t.failure, runs: t.runs })),
  };
}

if (import.meta.main)
  await runWrkBenchMain('rawrouter bench', (ctx) => ({
    scenarios: [rawrouterScenario(ctx)],
    sections: [rawTransferSection(ctx, { mib: 100, transfers: 3 })],
  }));
