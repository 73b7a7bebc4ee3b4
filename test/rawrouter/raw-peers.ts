/**
 * Raw TCP peers for the rawrouter's unit tests: a node that records every connection's
 * bytes (optionally greeting first and echoing), and a client that talks, then collects
 * what comes back until the router closes.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
    until: async (pattern, timeoutMs = 3000) => {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(received())) {
        if (Date.now() > end) throw new Error(`no ${pattern} in ${JSON.stringify(received())}`);
        await sleep(5);
      }
      return received();
    },
  };
}

export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}
