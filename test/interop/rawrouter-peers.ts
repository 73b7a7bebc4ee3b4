/**
 * What the rawrouter interop tests share: an HTTP/1.0 request over its own TCP connection
 * (read to the close, from a chosen source address), the stats shape, and uwrouter's and
 * uWSGI's rawrouter on a free port.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort, type ServerHandle, startUwrouter, startUwsgiRouter } from './harness/index.ts';

export interface Answer {
  status: string;
  vars: Record<string, string>;
  body: { length: number; sha256: string };
  /** the client's own port on this connection */
  localPort: number;
}

/** One HTTP/1.0 request over a fresh TCP connection (from `localAddress`), read to the close. */
export async function httpVia(
  port: number,
  opts: { localAddress?: string; body?: Buffer; path?: string } = {},
): Promise<Answer> {
  const s = connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  // a reset (the router closing on unread request bytes) counts as an empty answer
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', () => {});
  await once(s, 'connect');
  const localPort = s.localPort ?? 0;
  const body = opts.body ?? Buffer.alloc(0);
  s.write(
    `POST ${opts.path ?? '/raw?x=1'} HTTP/1.0\r\nHost: raw.example\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  s.write(body);
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: text, vars: {}, body: { length: -1, sha256: '' }, localPort };
  const json = JSON.parse(text.slice(split + 4)) as { vars: Record<string, string>; body: Answer['body'] };
  return { status: text.slice(0, text.indexOf('\r\n')), vars: json.vars, body: json.body, localPort };
}

export interface RawStats {
  version: string;
  active_sessions: number;
  rawrouter: string[];
  static_nodes?: Array<Record<string, number | string>>;
  subscriptions?: Array<{ key: string; nodes: Array<Record<string, number | string>> }>;
  cheap: number;
  uwrouter?: { counters: Record<string, number> };
}

export async function uwrouterRaw(args: string[]): Promise<{ port: number; router: ServerHandle }> {
  const port = await freePort();
  const router = await startUwrouter(['--rawrouter', `127.0.0.1:${port}`, ...args]);
  return { port, router };
}

export async function uwsgiRaw(args: string[]): Promise<{ port: number; router: ServerHandle }> {
  const port = await freePort();
  const router = await startUwsgiRouter('rawrouter', ['--rawrouter', `127.0.0.1:${port}`, ...args]);
  return { port, router };
}
