/**
 * Idle websocket tunnels: how much router memory does one open tunnel cost? Opens N
 * (default 10,000) websockets through a router with websockets on, to
 *  - `http`: uwrouter → a Node.js `ws` server as an HTTP node (`--http-to http://…`),
 *  - `uwsgi`: uwrouter → a raw TCP uwsgi node (bench/peers/uwsgi-ws-node.ts: answers the
 *    handshake from the uwsgi vars, like uwsgi.websocket_handshake, then holds the connection
 *    and echoes small frames),
 *  - `uwsgi-router`: uWSGI's HTTP router (`--http-websockets`) → the same raw uwsgi node,
 *  - `pipe`: a bare Node.js `net` pipe proxy → the ws node (two sockets piped, nothing else):
 *    the floor for a Node hop,
 * in batches, lets them sit idle, and reports (RSS after − RSS before) / N for the router's
 * process tree (goal < 10 KiB per tunnel). Then closes everything and checks the router's
 * `active_sessions` went back to 0.
 *
 * Each tunnel costs the router two descriptors (client + node): the router process needs
 * 2N + a few fds. N is sized down (with a message) when `ulimit -n` is too low.
 *
 *   node bench/websocket-idle-bench.ts [--tunnels 10000] [--batch 500]
 *                                      [--node http,uwsgi,uwsgi-router,pipe] [--entry src|dist]
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { freePort, rawRequest } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import type { BenchContext } from './lib/context.ts';
import { startPipeProxy, startUwsgiWsNode, startWsNode } from './lib/peers.ts';
import { procMemoryBytes } from './lib/proc.ts';
import { log } from './lib/rounds.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import { fmt, markdownTable } from './lib/stats.ts';
import type { Comparison, Section } from './lib/summary.ts';

export type TunnelKind = 'http' | 'uwsgi' | 'uwsgi-router' | 'pipe';

const LABELS: Record<TunnelKind, string> = {
  http: 'uwrouter → HTTP node (Node.js ws)',
  uwsgi: 'uwrouter → uwsgi node (raw TCP)',
  'uwsgi-router': "uWSGI's HTTP router → uwsgi node (raw TCP)",
  pipe: 'reference: Node.js net pipe → ws node',
};

/** The soft fd limit children inherit (`ulimit -n`; also the hard one, for the message). */
function fdLimits(): { soft: number; hard: number } {
  const read = (flag: string) =>
    Number(execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim()) || 1024;
  return { soft: read('-Sn'), hard: read('-Hn') };
}

/** How many tunnels fit the fd limit (router: 2 per tunnel + ~100; this process and the node: 1). */
export function tunnelsThatFit(wanted: number): number {
  const { soft, hard } = fdLimits();
  const n = Math.min(wanted, Math.floor((soft - 200) / 2));
  if (n < wanted) {
    log(
      `websocket tunnels: ulimit -n is ${soft} (hard ${hard}); the router needs 2 fds per tunnel, ` +
        `so ${wanted} tunnels do not fit: measuring ${n} instead (raise the limit, e.g. ulimit -n ${2 * wanted + 200}, for the full count)`,
    );
  }
  return n;
}

async function activeSessions(statsPort: number): Promise<number> {
  const doc = JSON.parse((await rawRequest(statsPort, '', { timeoutMs: 5000 })).toString()) as {
    active_sessions: number;
  };
  return doc.active_sessions;
}

function openTunnel(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 20000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

interface TunnelResult {
  node: TunnelKind;
  label: string;
  tunnels: number;
  before: number;
  after: number;
  /** PSS of the tree with all open (shared pages divided among its processes) */
  pssAfter: number;
  afterClose: number;
  perTunnel: number;
  openSeconds: number;
  failure?: string;
}

async function startRouter(
  ctx: BenchContext,
  kind: TunnelKind,
  node: ServerHandle,
  port: number,
  statsPort: number,
): Promise<ServerHandle> {
  if (kind === 'pipe') return startPipeProxy(node.port!);
  const args = [
    '--http',
    `127.0.0.1:${port}`,
    '--http-to',
    kind === 'http' ? `http://${node.address}` : node.address,
    '--http-websockets',
    '--http-timeout',
    '600',
    '--http-stats',
    `127.0.0.1:${statsPort}`,
  ];
  return kind === 'uwsgi-router'
    ? startUwsgiRouter('http', [...args, '--listen', '1024'])
    : ctx.uwrouter([...args, '--listen', '1024']);
}

async function runOne(ctx: BenchContext, kind: TunnelKind, n: number, batch: number): Promise<TunnelResult> {
  const node = kind === 'http' || kind === 'pipe' ? await startWsNode() : await startUwsgiWsNode();
  const [port, statsPort] = await Promise.all([freePort(), freePort()]);
  const router = await startRouter(ctx, kind, node, port, statsPort);
  const url = `ws://127.0.0.1:${kind === 'pipe' ? router.port : port}/idle`;
  const open: WebSocket[] = [];
  // the pipe proxy has no stats: it holds what the clients hold
  const sessions = (): Promise<number> =>
    kind === 'pipe' ? Promise.resolve(open.length) : activeSessions(statsPort);
  const result: TunnelResult = {
    node: kind,
    label: LABELS[kind],
    tunnels: 0,
    before: 0,
    after: 0,
    pssAfter: 0,
    afterClose: 0,
    perTunnel: Number.NaN,
    openSeconds: 0,
  };
  try {
    // warm-up: a round trip and 100 tunnels opened and closed, so code paths are loaded
    const warm = await Promise.all(Array.from({ length: 100 }, () => openTunnel(url)));
    const echoed = await new Promise<string>((resolve, reject) => {
      warm[0]!.once('message', (d) => resolve(String(d)));
      warm[0]!.once('error', reject);
      warm[0]!.send('ping');
    });
    if (echoed !== 'ping') throw new Error(`echo through the tunnel gave ${JSON.stringify(echoed)}`);
    for (const ws of warm) ws.terminate();
    const deadline0 = Date.now() + 20000;
    while ((await sessions()) !== 0 && Date.now() < deadline0) await sleep(100);
    await sleep(1000);
    result.before = procMemoryBytes(router.pid).rss;

    const t0 = Date.now();
    for (let i = 0; i < n; i += batch) {
      const size = Math.min(batch, n - i);
      const got = await Promise.allSettled(Array.from({ length: size }, () => openTunnel(url)));
      for (const g of got) if (g.status === 'fulfilled') open.push(g.value);
      const failed = got.filter((g) => g.status === 'rejected');
      if (failed.length > 0) {
        result.failure = `${failed.length} of a batch failed to open at ${open.length}: ${String((failed[0] as PromiseRejectedResult).reason)}`;
        break;
      }
      if ((i / batch) % 4 === 3) log(`  ${kind}: ${open.length} tunnels open`);
    }
    result.openSeconds = (Date.now() - t0) / 1000;
    result.tunnels = open.length;
    const shown = await sessions();
    if (shown < open.length) result.failure ??= `router shows ${shown} sessions for ${open.length} tunnels`;
    await sleep(3000); // idle
    const mem = procMemoryBytes(router.pid);
    result.after = mem.rss;
    result.pssAfter = mem.pss;
    result.perTunnel = open.length > 0 ? (result.after - result.before) / open.length : Number.NaN;
    // still alive after idling: a round trip on the last tunnel
    const last = open[open.length - 1];
    if (last) {
      const back = await Promise.race([
        new Promise<string>((resolve) => {
          last.once('message', (d) => resolve(String(d)));
          last.send('still here');
        }),
        sleep(5000).then(() => 'timeout'),
      ]);
      if (back !== 'still here') result.failure ??= `the last tunnel did not echo (${back})`;
    }
  } catch (err) {
    result.failure = (err as Error).message.split('\n')[0];
  } finally {
    for (const ws of open) ws.terminate();
    open.length = 0;
    const deadline = Date.now() + 30000;
    let left = -1;
    while (Date.now() < deadline) {
      left = await sessions().catch(() => -1);
      if (left === 0) break;
      await sleep(200);
    }
    if (left !== 0) result.failure ??= `active_sessions still ${left} 30 s after closing`;
    result.afterClose = procMemoryBytes(router.pid).rss;
    await router.stop();
    await node.stop();
  }
  return result;
}

/** Idle tunnels of each kind, one kind after another, measured alone after the rounds. */
export function tunnelSection(
  ctx: BenchContext,
  opts: { tunnels: number; batch: number; kinds: readonly TunnelKind[] },
): Section {
  const results: TunnelResult[] = [];
  let n = opts.tunnels;
  const find = (k: TunnelKind) => results.find((r) => r.node === k && !r.failure && r.tunnels > 0);
  const fig = (r: TunnelResult) => ({
    label: r.label,
    value: r.perTunnel / 1024,
    rssBytes: r.after,
    pssBytes: r.pssAfter,
  });
  return {
    id: 'websocket-tunnels',
    async run() {
      n = tunnelsThatFit(opts.tunnels);
      for (const kind of opts.kinds) {
        log(`websocket tunnels, ${kind}: ${n} in batches of ${opts.batch}`);
        results.push(await runOne(ctx, kind, n, opts.batch));
      }
    },
    print() {
      const mib = (b: number) => fmt(b / 1048576, 1);
      console.log(
        `\n### websocket tunnels, idle\n\n${n} websockets opened through each router in batches of ${opts.batch}, idle 3 s; KiB per tunnel = (RSS with all open − RSS before) / tunnels, the router's process tree (goal < 10 KiB).\n`,
      );
      console.log(
        markdownTable(
          [
            'router',
            'tunnels',
            'open s',
            'RSS before MiB',
            'RSS open MiB',
            'PSS open MiB',
            'KiB / tunnel',
            'RSS after close MiB',
          ],
          results.map((r) => [
            r.label,
            fmt(r.tunnels),
            fmt(r.openSeconds, 1),
            mib(r.before),
            mib(r.after),
            mib(r.pssAfter),
            fmt(r.perTunnel / 1024, 2),
            mib(r.afterClose),
          ]),
        ),
      );
    },
    comparisons() {
      const out: Comparison[] = [];
      const pair = (ours: TunnelKind, peer: TunnelKind, path: string) => {
        const a = find(ours);
        const b = find(peer);
        if (a && b) out.push({ path, unit: 'KiB/tunnel', higherIsBetter: false, ours: fig(a), peer: fig(b) });
      };
      pair('uwsgi', 'uwsgi-router', 'websocket tunnel, idle, uwsgi node');
      pair('http', 'pipe', 'websocket tunnel, idle, HTTP node');
      return out;
    },
    items: () => results,
    json: () => results,
  };
}

if (import.meta.main)
  await runWrkBenchMain(
    'websocket idle bench',
    (ctx, opt) => ({
      sections: [
        tunnelSection(ctx, {
          tunnels: Number(opt.extra.tunnels),
          batch: Number(opt.extra.batch),
          kinds: opt.extra.node!.split(',') as TunnelKind[],
        }),
      ],
    }),
    { tunnels: '10000', batch: '500', node: 'http,uwsgi,uwsgi-router,pipe' },
  );
