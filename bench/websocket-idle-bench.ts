/**
 * Idle websocket tunnels: how much router memory does one open tunnel cost? Opens N
 * (default 10,000) websockets through uwrouter (`--http-websockets`) to
 *  - `http`: a Node.js `ws` server as an HTTP node (`--http-to http://…`), and
 *  - `uwsgi`: a raw TCP uwsgi node (a tiny Node.js server that answers the handshake from
 *    the uwsgi vars, like uwsgi.websocket_handshake, then holds the connection and echoes
 *    small frames),
 * in batches, lets them sit idle, and reports (RSS after − RSS before) / N for the router
 * process (goal < 10 KiB per tunnel). For reference, `pipe`: the same through a bare
 * Node.js `net` pipe proxy (two sockets piped, nothing else) — the floor for a Node hop. Then closes everything and checks the router's
 * `active_sessions` went back to 0.
 *
 * Each tunnel costs the router two descriptors (client + node): the router process needs
 * 2N + a few fds. N is sized down (with a message) when `ulimit -n` is too low.
 *
 *   node bench/websocket-idle-bench.ts [--tunnels 10000] [--batch 500] [--node http,uwsgi,pipe]
 *                                      [--entry src|dist]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freePort, REPO_ROOT, rawRequest, tmpDir } from '../test/interop/harness/index.ts';
import { asServer, type ServerHandle, startServerProcess } from '../test/interop/harness/server-process.ts';
import { startUwrouter } from '../test/interop/harness/uwrouter.ts';
import { procRssBytes } from './lib/proc.ts';
import { log, reportFailures, runBench } from './lib/rounds.ts';
import { fmt, markdownTable } from './lib/stats.ts';

const { values: opt } = parseArgs({
  options: {
    tunnels: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '500' },
    node: { type: 'string', default: 'http,uwsgi,pipe' },
    entry: { type: 'string', default: 'src' },
  },
});

/** The soft fd limit children inherit (`ulimit -n`; also the hard one, for the message). */
function fdLimits(): { soft: number; hard: number } {
  const read = (flag: string) =>
    Number(execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim()) || 1024;
  return { soft: read('-Sn'), hard: read('-Hn') };
}

const WS_MODULE = join(REPO_ROOT, 'node_modules', 'ws', 'wrapper.mjs');

/** A `ws` echo server in its own process (an HTTP node). */
async function startWsNode(): Promise<ServerHandle> {
  const dir = tmpDir('ws-node');
  const port = await freePort();
  const script = join(dir, 'ws-node.mjs');
  writeFileSync(
    script,
    `import { createServer } from 'node:http';
import { WebSocketServer } from ${JSON.stringify(WS_MODULE)};
const server = createServer((req, res) => res.end('ws node'));
server.keepAliveTimeout = 600000;
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
server.listen(${port}, '127.0.0.1');
`,
  );
  return asServer(
    await startServerProcess('ws-node', process.execPath, [script], { cwd: dir, ready: { port } }),
    { port, dir },
  );
}

/** A raw TCP uwsgi node: reads the uwsgi packet, answers 101 from HTTP_SEC_WEBSOCKET_KEY, echoes. */
async function startUwsgiWsNode(): Promise<ServerHandle> {
  const dir = tmpDir('uwsgi-ws-node');
  const port = await freePort();
  const script = join(dir, 'uwsgi-ws-node.mjs');
  writeFileSync(
    script,
    `import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
createServer((s) => {
  let buf = Buffer.alloc(0);
  let upgraded = false;
  s.on('error', () => {});
  s.on('data', (d) => {
    if (upgraded) {
      // echo a small client frame (one frame per read, payload < 126) unmasked
      const len = d[1] & 0x7f;
      const mask = d.subarray(2, 6);
      const payload = Buffer.from(d.subarray(6, 6 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      return s.write(Buffer.concat([Buffer.from([d[0], len]), payload]));
    }
    buf = Buffer.concat([buf, d]);
    if (buf.length < 4 || buf.length < 4 + buf.readUInt16LE(1)) return;
    const end = 4 + buf.readUInt16LE(1);
    let p = 4, key = '';
    while (p < end) {
      const kl = buf.readUInt16LE(p); const k = buf.toString('latin1', p + 2, p + 2 + kl); p += 2 + kl;
      const vl = buf.readUInt16LE(p); const v = buf.toString('latin1', p + 2, p + 2 + vl); p += 2 + vl;
      if (k === 'HTTP_SEC_WEBSOCKET_KEY') key = v;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    s.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
      'Sec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
    upgraded = true;
    buf = null;
  });
}).listen(${port}, '127.0.0.1');
`,
  );
  return asServer(
    await startServerProcess('uwsgi-ws-node', process.execPath, [script], { cwd: dir, ready: { port } }),
    { port, dir },
  );
}

/**
 * Reference: the least a Node.js hop can hold per tunnel — `net` sockets piped both ways
 * (no HTTP parsing, no timers), in front of the same ws node.
 */
async function startPipeProxy(target: number): Promise<ServerHandle> {
  const dir = tmpDir('pipe-proxy');
  const port = await freePort();
  const script = join(dir, 'pipe-proxy.mjs');
  writeFileSync(
    script,
    `import { connect, createServer } from 'node:net';
createServer((c) => {
  const u = connect(${target}, '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
}).listen({ port: ${port}, host: '127.0.0.1', backlog: 1024 });
`,
  );
  return asServer(
    await startServerProcess('pipe-proxy', process.execPath, [script], { cwd: dir, ready: { port } }),
    { port, dir },
  );
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

const LABELS: Record<Kind, string> = {
  http: 'uwrouter → HTTP node (Node.js ws)',
  uwsgi: 'uwrouter → uwsgi node (raw TCP)',
  pipe: 'reference: Node.js net pipe → ws node',
};

interface Result {
  node: string;
  tunnels: number;
  before: number;
  after: number;
  afterClose: number;
  perTunnel: number;
  openSeconds: number;
  failure?: string;
}

type Kind = 'http' | 'uwsgi' | 'pipe';

async function runOne(kind: Kind, n: number, batch: number): Promise<Result> {
  const node = kind === 'uwsgi' ? await startUwsgiWsNode() : await startWsNode();
  const [port, statsPort] = await Promise.all([freePort(), freePort()]);
  const router =
    kind === 'pipe'
      ? await startPipeProxy(node.port!)
      : await startUwrouter(
          [
            '--http',
            `127.0.0.1:${port}`,
            '--http-to',
            kind === 'uwsgi' ? node.address : `http://${node.address}`,
            '--http-websockets',
            '--http-timeout',
            '600',
            '--http-stats',
            `127.0.0.1:${statsPort}`,
            '--listen',
            '1024',
          ],
          { entry: opt.entry },
        );
  const url = `ws://127.0.0.1:${kind === 'pipe' ? router.port : port}/idle`;
  const open: WebSocket[] = [];
  // the pipe proxy has no stats: it holds what the clients hold
  const sessions = (): Promise<number> =>
    kind === 'pipe' ? Promise.resolve(open.length) : activeSessions(statsPort);
  const result: Result = {
    node: kind,
    tunnels: 0,
    before: 0,
    after: 0,
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
    result.before = procRssBytes(router.pid, { tree: false });

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
    result.after = procRssBytes(router.pid, { tree: false });
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
    result.afterClose = procRssBytes(router.pid, { tree: false });
    await router.stop();
    await node.stop();
  }
  return result;
}

async function main(): Promise<number> {
  const wanted = Number(opt.tunnels);
  const batch = Number(opt.batch);
  const { soft, hard } = fdLimits();
  // router: 2 fds per tunnel + ~100 for itself; this process and the node: 1 per tunnel
  const fit = Math.floor((soft - 200) / 2);
  const n = Math.min(wanted, fit);
  if (n < wanted) {
    log(
      `websocket idle bench: ulimit -n is ${soft} (hard ${hard}); the router needs 2 fds per tunnel, ` +
        `so ${wanted} tunnels do not fit: measuring ${n} instead (raise the limit, e.g. ulimit -n ${2 * wanted + 200}, for the full count)`,
    );
  }
  log(
    `websocket idle bench: ${n} tunnels in batches of ${batch}, nodes: ${opt.node}, uwrouter entry ${opt.entry}`,
  );
  const results: Result[] = [];
  for (const kind of opt.node!.split(',') as Kind[]) {
    log(`${kind} node:`);
    results.push(await runOne(kind, n, batch));
  }
  const mib = (b: number) => fmt(b / 1048576, 1);
  console.log(
    `\nIdle websocket tunnels through uwrouter (router process RSS; goal < 10 KiB per tunnel${n < wanted ? `; ${n} tunnels, not ${wanted}: ulimit -n ${soft}` : ''})\n`,
  );
  console.log(
    markdownTable(
      [
        'node',
        'tunnels',
        'open s',
        'RSS before MiB',
        'RSS open MiB',
        'KiB / tunnel',
        'RSS after close MiB',
        'goal',
      ],
      results.map((r) => [
        LABELS[r.node as Kind],
        fmt(r.tunnels),
        fmt(r.openSeconds, 1),
        mib(r.before),
        mib(r.after),
        fmt(r.perTunnel / 1024, 2),
        mib(r.afterClose),
        r.perTunnel / 1024 < 10 ? 'met' : 'NOT met',
      ]),
    ),
  );
  return reportFailures(results, (r) => r.node);
}

await runBench(main);
