/**
 * The TLS front on a plain TCP server, as a router uses it, with everything recorded: the
 * handshakes handed over (each answered with one line naming the server name), the log
 * lines, the counted codes. Plus raw clients (bytes in, wait for the close) and a relay that
 * splits the client's first flight where a test says.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { ListenerTls } from '../../src/tls/listener-tls.ts';
import type { TlsResumption } from '../../src/tls/resumption.ts';
import type { SniRegistry } from '../../src/tls/sni-registry.ts';
import { TlsFront, type TlsFrontOptions, type TlsHandshakeResult } from '../../src/tls/tls-front.ts';
import { TlsFrontStats } from '../../src/tls/tls-front-stats.ts';
import { parseTlsListen } from '../../src/tls/tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../../src/tls/tls-settings.ts';
import { captureLogger } from './registry-harness.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

export interface FrontServer {
  port: number;
  listenerTls: ListenerTls;
  front: TlsFront;
  stats: TlsFrontStats;
  secured: TlsHandshakeResult[];
  lines: string[];
  counted: string[];
  /** every socket the server accepted (to check that they all closed) */
  accepted: Socket[];
}

export interface FrontServerOptions extends Partial<Omit<TlsFrontOptions, 'listenerTls'>> {
  /** `ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]` */
  listen: string;
  registry?: SniRegistry | null;
  settings?: Partial<TlsSettings>;
  /** ticket keys and session cache (default: none) */
  resumption?: TlsResumption;
  /** default: 'front-test' */
  sessionIdContext?: string;
}

export async function startFront(o: FrontServerOptions): Promise<FrontServer> {
  const { log, lines } = captureLogger();
  const settings = { ...DEFAULT_TLS_SETTINGS, ...o.settings };
  const listenerTls = ListenerTls.create(parseTlsListen('sslrouter', o.listen, false), {
    settings,
    registry: o.registry ?? null,
    sessionIdContext: o.sessionIdContext ?? 'front-test',
    ...(o.resumption ? { resumption: o.resumption } : {}),
    log,
  });
  const stats = o.stats ?? new TlsFrontStats();
  const secured: TlsHandshakeResult[] = [];
  const counted: string[] = [];
  const accepted: Socket[] = [];
  const front = new TlsFront({
    listenerTls,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 10_000,
    maxHandshakes: o.maxHandshakes ?? 1000,
    stats,
    log,
    logPrefix: 'uwsgi-sslrouter',
    count: (code) => counted.push(code),
    verbose: o.verbose ?? true,
    onSecure:
      o.onSecure ??
      ((tls: TLSSocket, r: TlsHandshakeResult) => {
        secured.push(r);
        tls.on('error', () => {});
        tls.end(`hello ${r.hello.serverName ?? '-'}\n`);
      }),
    ALPNProtocols: o.ALPNProtocols,
    plainHttpAnswer: o.plainHttpAnswer,
  });
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    accepted.push(s);
    front.accept(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of accepted) s.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: typeof a === 'object' && a ? a.port : 0,
    listenerTls,
    front,
    stats,
    secured,
    lines,
    counted,
    accepted,
  };
}

export interface RawResult {
  /** what the server sent back before closing */
  received: Buffer;
  /** ms from connect to the close */
  closedAfterMs: number;
}

/** Connects, sends `bytes` (if any), then waits for the server to close (bounded). */
export async function rawExchange(
  port: number,
  bytes: Buffer | null,
  opts: { timeoutMs?: number; end?: boolean } = {},
): Promise<RawResult> {
  const s = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  s.on('error', () => {});
  await once(s, 'connect');
  const start = Date.now();
  const closed = once(s, 'close');
  if (bytes) s.write(bytes);
  if (opts.end) s.end();
  const limit = opts.timeoutMs ?? 5000;
  const t = setTimeout(() => s.destroy(new Error('test timeout')), limit);
  await closed;
  clearTimeout(t);
  return { received: Buffer.concat(chunks), closedAfterMs: Date.now() - start };
}

/** An open raw connection that has sent `bytes` and stays silent. */
export async function rawHold(port: number, bytes: Buffer | null): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  await once(s, 'connect');
  if (bytes) s.write(bytes);
  cleanup.push(async () => {
    s.destroy();
  });
  return s;
}

/**
 * A TCP relay to `port` that cuts the client's first `firstFlightCut` bytes into the pieces
 * `cuts` says (offsets), waiting `gapMs` between pieces so each arrives on its own; later
 * bytes and everything from the server pass as they come.
 */
export async function splittingRelay(
  port: number,
  cuts: (length: number) => number[],
  gapMs = 2,
): Promise<{ port: number; firstFlights: number[] }> {
  const firstFlights: number[] = [];
  const server = createServer((client) => {
    const upstream = connect({ port, host: '127.0.0.1', noDelay: true });
    client.setNoDelay(true);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('data', (c) => client.write(c));
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let first = true;
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      if (!first) {
        queue = queue.then(() => {
          upstream.write(chunk);
        });
        return;
      }
      first = false;
      firstFlights.push(chunk.length);
      const offsets = cuts(chunk.length);
      queue = queue.then(async () => {
        let from = 0;
        for (const at of [...offsets, chunk.length]) {
          if (at <= from) continue;
          upstream.write(chunk.subarray(from, at));
          from = at;
          await sleep(gapMs);
        }
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, firstFlights };
}

export async function waitUntil(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}
