/**
 * Resumed against full TLS handshakes per second, on the node that made the session and on
 * another node (issue 9 parts 4, 5; goal: resumed ≥ 5× full, cross-node within 10% of
 * same-node). Two uwrouter HTTPS processes A and B (ECDSA P-256 certificate, a dead backend:
 * every request is a 502 and the close) share:
 *
 * - `--ssl-ticket-keys` (TLS 1.3 and TLS 1.2 tickets), or
 * - a UDP-synced cache sealed with `secret=` and `--ssl-sessions-use-cache` (TLS 1.2 session
 *   ids, `-no_ticket`).
 *
 * `openssl s_time -new` (full) and `-reuse` (one full handshake, then resumption of that
 * session on every connection) clients in parallel, through a relay in this process that
 * reads each ClientHello: "same node" sends every connection to A; "cross node" sends the
 * hellos offering no session to A and those resuming one to B, so B resumes what A made.
 * The relay is in every path (full handshakes too), so the ratios compare like with like;
 * s_time's per-connection marks (`r` = resumed) are counted to check resumption happened.
 *
 * Throughput on a shared machine is noisy: the nodes' CPU per connection (A and B together,
 * every connection is a handshake, a request and a 502) is printed beside it.
 *
 *   node bench/tls-sessions-bench.ts [--rounds 3] [--seconds 5] [--clients 2] [--cert ecdsa|rsa]
 *                                    [--handshake-only] [--entry src|dist]
 *
 * `--handshake-only`: no request, s_time closes after the handshake (TLS 1.2 rows only),
 * so the per-connection cost of the HTTP path does not hide the handshake's.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readClientHello } from '../src/protocol/tls-client-hello-reader.ts';
import { offersTls13 } from '../src/tls/ticket-keys.ts';
import { freePort, type ServerHandle, startUwrouter, tmpDir } from '../test/interop/harness/index.ts';
import { TestCerts } from '../test/tls/test-certs.ts';
import { procCpuSeconds } from './lib/proc.ts';
import { defaultEntry, log, runBench } from './lib/rounds.ts';
import { fmt, markdownTable, median, ratio } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '2' },
    cert: { type: 'string', default: 'ecdsa' },
    'handshake-only': { type: 'boolean', default: false },
    entry: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const seconds = Math.min(Number(values.seconds), 10); // bounded runs
const clients = Number(values.clients);
const certKind = values.cert === 'rsa' ? 'rsa' : 'ecdsa';
/** no request: s_time closes after the handshake (TLS 1.2 only: a TLS 1.3 ticket comes after it) */
const handshakeOnly = values['handshake-only'] === true;

interface STimeRun {
  connections: number;
  resumed: number;
}

/** `openssl s_time -new|-reuse -www / FLAGS…`: connections made and how many s_time marked resumed. */
function sTime(port: number, mode: '-new' | '-reuse', flags: string[], secs: number): Promise<STimeRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'openssl',
      [
        's_time',
        '-connect',
        `127.0.0.1:${port}`,
        mode,
        ...(handshakeOnly ? [] : ['-www', '/']),
        '-time',
        String(secs),
        ...flags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    p.stderr.on('data', () => {});
    const kill = setTimeout(() => p.kill('SIGKILL'), (secs + 20) * 1000);
    p.on('close', () => {
      clearTimeout(kill);
      const m = /(\d+) connections in \d+ real seconds/.exec(out);
      if (!m) return reject(new Error(`s_time printed no summary: ${out.slice(-300)}`));
      // s_time prints one mark per connection on lines of their own: 'r' when the session was reused
      const marks = (out.slice(0, m.index).match(/^[r*]+$/gm) ?? []).join('');
      resolve({ connections: Number(m[1]), resumed: (marks.match(/r/g) ?? []).length });
    });
  });
}

/** Does this hello offer a session to resume (a PSK, a ticket, or a TLS 1.2 session id)? */
function offersSession(hello: Buffer): boolean {
  const r = readClientHello(hello);
  if (r.state !== 'done') return false;
  const h = r.hello;
  if (h.pskIdentities.length > 0) return true;
  if (offersTls13(h)) return false; // its legacy session id is random (middlebox compatibility)
  return (h.sessionTicket?.length ?? 0) > 0 || h.sessionId.length > 0;
}

/** A TCP relay: each connection goes to `first` or, when its hello offers a session and `resumed` is set, to `resumed`. */
async function relay(target: { first: number; resumed: number }): Promise<{ port: number; server: Server }> {
  const server = createServer((client: Socket) => {
    let head = Buffer.alloc(0);
    let up: Socket | null = null;
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const r = readClientHello(head);
      if (r.state === 'need-more' && head.length < 16_384) return;
      client.off('data', onData);
      client.pause();
      // no Nagle on either side: a held last segment would cost each handshake a delayed ACK
      client.setNoDelay(true);
      up = connect(
        { port: offersSession(head) ? target.resumed : target.first, host: '127.0.0.1', noDelay: true },
        () => {
          up!.write(head);
          client.pipe(up!);
          up!.pipe(client);
          client.resume();
        },
      );
      up.on('error', () => client.destroy());
      up.on('close', () => client.destroy());
    };
    client.on('data', onData);
    client.on('error', () => up?.destroy());
    client.on('close', () => up?.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

interface Setup {
  label: string;
  flags: string[];
  a: ServerHandle;
  b: ServerHandle;
  aPort: number;
  bPort: number;
}

interface Row {
  setup: Setup;
  full: number[];
  same: number[];
  cross: number[];
  /** CPU µs per connection, A and B together */
  fullCpu: number[];
  sameCpu: number[];
  crossCpu: number[];
  /** resumed / all connections, cross node, every round */
  crossResumed: number[];
}

/** Connections per second, the share s_time saw resumed, and the nodes' CPU per connection. */
async function measure(
  port: number,
  mode: '-new' | '-reuse',
  flags: string[],
  secs: number,
  nodes: ServerHandle[],
) {
  const cpu = () => nodes.reduce((n, h) => n + procCpuSeconds(h.pid), 0);
  const cpu0 = cpu();
  const t0 = performance.now();
  const runs = await Promise.all(Array.from({ length: clients }, () => sTime(port, mode, flags, secs)));
  const elapsed = (performance.now() - t0) / 1000;
  const connections = runs.reduce((n, r) => n + r.connections, 0);
  const resumed = runs.reduce((n, r) => n + r.resumed, 0);
  return {
    perSecond: connections / elapsed,
    resumedShare: connections ? resumed / connections : 0,
    cpuUs: connections ? ((cpu() - cpu0) / connections) * 1e6 : Number.NaN,
  };
}

async function main(): Promise<number> {
  const entry = values.entry || defaultEntry();
  log(`tls sessions bench: ${rounds} rounds × ${clients} openssl s_time clients × ${seconds} s (${entry})`);
  const certs = new TestCerts('bench-tls-sessions');
  const ca = certs.ca();
  const leaf = certs.leaf(ca, 'localhost', { kind: certKind, names: ['127.0.0.1'] });
  const dir = tmpDir('bench-tls-sessions');
  const keyFile = join(dir, 'tickets.key');
  writeFileSync(keyFile, randomBytes(48), { mode: 0o600 });
  const syncKey = join(dir, 'sync.key');
  writeFileSync(syncKey, randomBytes(32).toString('hex'), { mode: 0o600 });
  const dead = await freePort();
  const node = async (args: string[]) => {
    const port = await freePort();
    const h = await startUwrouter(
      ['--https', `127.0.0.1:${port},${leaf.crt},${leaf.key}`, '--http-to', `127.0.0.1:${dead}`, ...args],
      { entry },
    );
    return { h, port };
  };
  const [ua, ub] = [await freePort(), await freePort()];
  const cache = (own: number, peer: number) => [
    '--cache2',
    `name=ssl,items=20000,blocksize=4096,udp=127.0.0.1:${own},nodes=127.0.0.1:${peer},secret=${syncKey}`,
    '--ssl-sessions-use-cache=ssl',
  ];
  const ta = await node(['--ssl-ticket-keys', keyFile]);
  const tb = await node(['--ssl-ticket-keys', keyFile, '--http-timeout', '20']);
  const ca_ = await node(cache(ua, ub));
  const cb = await node([...cache(ub, ua), '--http-timeout', '20']);
  const setups: Setup[] = [
    {
      label: 'TLS 1.3, --ssl-ticket-keys',
      flags: ['-tls1_3'],
      a: ta.h,
      b: tb.h,
      aPort: ta.port,
      bPort: tb.port,
    },
    {
      label: 'TLS 1.2, --ssl-ticket-keys',
      flags: ['-tls1_2'],
      a: ta.h,
      b: tb.h,
      aPort: ta.port,
      bPort: tb.port,
    },
    {
      // no ticket keys: the nodes give TLS 1.2 clients no tickets, so s_time resumes by id
      label: 'TLS 1.2 session ids, UDP-synced cache (secret=)',
      flags: ['-tls1_2'],
      a: ca_.h,
      b: cb.h,
      aPort: ca_.port,
      bPort: cb.port,
    },
  ];
  const rows: Row[] = setups
    .filter((s) => !handshakeOnly || !s.flags.includes('-tls1_3'))
    .map((setup) => ({
      setup,
      full: [],
      same: [],
      cross: [],
      fullCpu: [],
      sameCpu: [],
      crossCpu: [],
      crossResumed: [],
    }));
  const relays: Server[] = [];
  try {
    for (const row of rows) {
      const s = row.setup;
      const same = await relay({ first: s.aPort, resumed: s.aPort });
      const cross = await relay({ first: s.aPort, resumed: s.bPort });
      relays.push(same.server, cross.server);
      // warm-up: both nodes, every path
      const both = [s.a, s.b];
      await measure(same.port, '-new', s.flags, 1, both);
      await measure(cross.port, '-reuse', s.flags, 1, both);
      for (let round = 1; round <= rounds; round++) {
        const full = await measure(same.port, '-new', s.flags, seconds, both);
        const sameNode = await measure(same.port, '-reuse', s.flags, seconds, both);
        const crossNode = await measure(cross.port, '-reuse', s.flags, seconds, both);
        row.full.push(full.perSecond);
        row.same.push(sameNode.perSecond);
        row.cross.push(crossNode.perSecond);
        row.crossResumed.push(crossNode.resumedShare);
        row.fullCpu.push(full.cpuUs);
        row.sameCpu.push(sameNode.cpuUs);
        row.crossCpu.push(crossNode.cpuUs);
        log(
          `round ${round} ${s.label}: full ${fmt(full.perSecond)}/s, resumed same node ${fmt(sameNode.perSecond)}/s (${fmt(sameNode.resumedShare * 100, 1)}% r), cross node ${fmt(crossNode.perSecond)}/s (${fmt(crossNode.resumedShare * 100, 1)}% r)`,
        );
      }
      if (!s.a.isRunning() || !s.b.isRunning()) throw new Error(`${s.label}: a node exited during the run`);
    }
  } finally {
    for (const r of relays) r.close();
    await Promise.all([ta.h.stop(), tb.h.stop(), ca_.h.stop(), cb.h.stop()]);
  }
  console.log(
    `\nHandshakes per second through the relay (${certKind === 'rsa' ? 'RSA-2048' : 'ECDSA P-256'}, openssl s_time${handshakeOnly ? ', handshakes only' : ' -www /'}, ${clients} clients in parallel, ${seconds} s runs, median of ${rounds}); "resumed" = share of s_time's connections marked resumed\n`,
  );
  console.log(
    markdownTable(
      [
        'setup',
        'full/s',
        'resumed same node/s',
        'resumed cross node/s',
        'same ÷ full',
        'cross ÷ same',
        'node CPU µs per connection: full / same / cross',
        'cross resumed',
      ],
      rows.map((r) => {
        const [full, same, cross] = [median(r.full), median(r.same), median(r.cross)];
        return [
          r.setup.label,
          fmt(full),
          fmt(same),
          fmt(cross),
          ratio(same, full),
          ratio(cross, same),
          `${fmt(median(r.fullCpu))} / ${fmt(median(r.sameCpu))} / ${fmt(median(r.crossCpu))}`,
          `${fmt(Math.min(...r.crossResumed) * 100, 1)}%`,
        ];
      }),
    ),
  );
  return 0;
}

await runBench(main);
