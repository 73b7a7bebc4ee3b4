/**
 * The sslrouter's unit-test kit: the router in-process through startRouters (as the CLI
 * builds it), certificates made at run time, and a TLS client that talks and collects what
 * comes back. Raw nodes come from the rawrouter's kit.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { afterFile, startInProcess, untilReceived } from '../rawrouter/raw-peers.ts';
import { TestCerts } from '../tls/test-certs.ts';

export const certs = new TestCerts('sslrouter');
export const ca = certs.ca();
export const caPem = readFileSync(ca.crt);
/** the listener's own certificate (also valid for 127.0.0.1) */
export const own = certs.leaf(ca, 'ssl.example', { names: ['127.0.0.1'] });
export const ownListen = (addr = '127.0.0.1:0', extra = ''): string =>
  `${addr},${own.crt},${own.key}${extra}`;

export interface StartedSsl {
  router: CoreRouter;
  port: number;
  /** every info/warn line the router logged */
  lines: string[];
  stats(): Record<string, unknown>;
}

/** `ARGS…` (with at least one --sslrouter/--sslrouter2) through startRouters, stopped after the file. */
export async function startSsl(args: string[]): Promise<StartedSsl> {
  const started = await startInProcess(args, 'sslrouter');
  return { ...started, stats: () => started.router.statsDocument() };
}

export interface TlsTalk {
  socket: TLSSocket;
  received(): string;
  /** resolves when the connection is gone; `ended` = the router ended it with close_notify/FIN */
  closed: Promise<void>;
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** A TLS connection to the router (trusting the test CA), collecting what it receives. */
export async function tlsTalk(port: number, options: ConnectionOptions = {}): Promise<TlsTalk> {
  // the chain is verified; the name is not (tests check the served certificate themselves)
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ca: caPem,
    checkServerIdentity: () => undefined,
    ...options,
  });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  // not events.once: it would reject on the 'error' that comes before some closes
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await Promise.race([
    once(socket, 'secureConnect'),
    closed.then(() => {
      throw new Error('closed before the handshake completed');
    }),
  ]);
  const received = () => Buffer.concat(chunks).toString('latin1');
  afterFile(async () => {
    socket.destroy();
  });
  return {
    socket,
    received,
    closed,
    until: (pattern, timeoutMs) => untilReceived(received, pattern, timeoutMs),
  };
}
