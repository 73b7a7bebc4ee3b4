/**
 * The rawrouter's unit-test kit: the router in-process (`startRaw`), a raw TCP node that
 * records every connection's bytes (optionally greeting first and echoing), and a client
 * that talks, then collects what comes back until the router closes.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { startRouters } from '../../src/start.ts';
import { captureLogger } from '../log-capture.ts';

export interface NodeConn {
  socket: Socket;
  /** every byte received on this connection so far */
  received: Buffer;
  ended: boolean;
}

export interface RawNode {
  server: Server;
  port: number;
  address: string;
  conns: NodeConn[];
  close(): Promise<void>;
}

export interface RawNodeOptions {
  /** written as soon as a connection is accepted (server speaks first) */
  greeting?: string;
  /** answer each chunk with `echo:` + the chunk (default true) */
  echo?: boolean;
  /** called on each chunk instead of echoing */
  onData?: (conn: NodeConn, chunk: Buffer) => void;
  /** called when the router ends the connection (default: end it too) */
  onEnd?: (conn: NodeConn) => void;
  /** listen on this host (default 127.0.0.1) */
  host?: string;
}

export async function startRawNode(o: RawNodeOptions = {}): Promise<RawNode> {
  const conns: NodeConn[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const c: NodeConn = { socket, received: Buffer.alloc(0), ended: false };
    conns.push(c);
    socket.on('error', () => {});
    if (o.greeting) socket.write(o.greeting);
    socket.on('data', (chunk) => {
      c.received = Buffer.concat([c.received, chunk]);
      if (o.onData) o.onData(c, chunk);
      else if (o.echo !== false) socket.write(Buffer.concat([Buffer.from('echo:'), chunk]));
    });
    socket.on('end', () => {
      c.ended = true;
      if (o.onEnd) o.onEnd(c);
      else socket.end();
    });
  });
  server.listen(0, o.host ?? '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const host = o.host ?? '127.0.0.1';
  return {
    server,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    conns,
    close: async () => {
      for (const c of conns) c.socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Talk {
  socket: Socket;
  /** everything received so far */
  received(): string;
  closed: Promise<void>;
  /** resolves when the received text matches */
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Connects to the router (from `localAddress` if given) and collects what it receives. */
export async function talk(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<Talk> {
  const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => {});
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  const received = () => Buffer.concat(chunks).toString('latin1');
  return {
    socket,
    received,
    closed,
    until: (pattern, timeoutMs) => untilReceived(received, pattern, timeoutMs),
  };
}

/** Resolves with `received()` once it matches `pattern`; throws, showing it, after `timeoutMs`. */
export async function untilReceived(
  received: () => string,
  pattern: RegExp,
  timeoutMs = 3000,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(received())) {
    if (Date.now() > end) throw new Error(`no ${pattern} in ${JSON.stringify(received())}`);
    await sleep(5);
  }
  return received();
}

export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}

// ---- the router in-process, with cleanup: tests import these, one router per call

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Runs `c` after the test file, the latest first. */
export function afterFile(c: () => Promise<void>): void {
  cleanup.push(c);
}

export interface Started {
  router: CoreRouter;
  port: number;
  /** every info/warn line the router logged */
  lines: string[];
}

/** `--rawrouter LISTEN ARGS…` through startRouters (as the CLI builds it), stopped after the file. */
export function startRaw(args: string[], listen = '127.0.0.1:0'): Promise<Started> {
  return startInProcess(['--rawrouter', listen, ...args]);
}

/**
 * `ARGS…` through startRouters (as the CLI builds it), stopped after the file: the router
 * named `name` (default the first started) and the port of its first listener.
 */
export async function startInProcess(args: string[], name?: string): Promise<Started> {
  const { config } = loadConfig(args, {});
  const { log, lines } = captureLogger();
  const running = await startRouters(config, log, 'test');
  cleanup.push(() => running.close());
  const router = name === undefined ? running.routers[0] : running.routers.find((r) => r.opts.name === name);
  if (!router) throw new Error(`no ${name} started`);
  const a = router.listeners[0].server.address();
  return { router, port: typeof a === 'object' && a ? a.port : 0, lines };
}

/** A raw node closed after the file. */
export async function node(o: RawNodeOptions = {}): Promise<RawNode> {
  const n = await startRawNode(o);
  cleanup.push(() => n.close());
  return n;
}
