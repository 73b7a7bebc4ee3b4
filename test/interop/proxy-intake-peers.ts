/**
 * What the PROXY-intake interop tests share (http-proxy-intake, fastrouter-proxy): one
 * exchange over a fresh TCP (or TLS) connection from a chosen source address read to the
 * close, the HAProxy configs that send PROXY headers, and a real HAProxy v2 header with
 * TLVs and CRC32C captured from the wire.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { decodeProxyHeader } from '../../src/protocol/proxy-protocol-reader.ts';
import {
  childPids,
  freePort,
  haproxyTcpConf,
  pollUntil,
  type ServerHandle,
  startHaproxy,
  startUwrouter,
  throughWorker,
} from './harness/index.ts';

export interface Exchange {
  /** everything the router sent until it closed */
  bytes: Buffer;
  /** the client's own port on this connection */
  localPort: number;
}

async function drain(s: Socket, data: Buffer[]): Promise<Exchange> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  // a reset (the router closing on unread bytes) counts as an empty answer
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', () => {});
  const localPort = s.localPort ?? 0;
  for (const d of data) s.write(d);
  await closed;
  return { bytes: Buffer.concat(chunks), localPort };
}

/** Writes `data` on a fresh connection from `localAddress` (default 127.0.0.1); reads to the close. */
export async function exchange(port: number, data: Buffer[], localAddress?: string): Promise<Exchange> {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  await once(s, 'connect');
  return drain(s, data);
}

/** The same over TLS (the router's certificate is not checked: these tests are about PROXY). */
export async function exchangeTls(port: number, data: Buffer[]): Promise<Exchange> {
  const s = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'localhost' });
  await once(s, 'secureConnect');
  return drain(s, data);
}

export interface EchoAnswer {
  status: string;
  vars: Record<string, string>;
}

/** An HTTP answer of test/interop/apps/echo_vars.py (status line + JSON), or the status text only. */
export function echoAnswer(bytes: Buffer): EchoAnswer {
  const text = bytes.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const status = text.slice(0, text.indexOf('\r\n') < 0 ? text.length : text.indexOf('\r\n'));
  if (split < 0 || !status.endsWith('200 OK')) return { status, vars: {} };
  return { status, vars: (JSON.parse(text.slice(split + 4)) as { vars: Record<string, string> }).vars };
}

export const HTTP_REQUEST = Buffer.from('GET /who HTTP/1.0\r\nHost: proxy.example\r\n\r\n');

/**
 * HAProxy (tcp mode) in front of `target`, sending PROXY headers: `v1` (`send-proxy`) or
 * `v2` (`send-proxy-v2` with the CRC32C and unique-id TLVs).
 */
export async function haproxyInFront(
  target: number,
  version: 'v1' | 'v2',
): Promise<{ port: number; hp: ServerHandle }> {
  const port = await freePort();
  const send = version === 'v1' ? 'send-proxy' : 'send-proxy-v2 proxy-v2-options crc32c,unique-id';
  const hp = await startHaproxy(
    haproxyTcpConf(
      `frontend f\n  bind 127.0.0.1:${port}\n  unique-id-format %{+X}o%ci:%cp\n  default_backend b\nbackend b\n  server s 127.0.0.1:${target} ${send}\n`,
    ),
    { port },
  );
  return { port, hp };
}

/**
 * The v2 header HAProxy sends (CRC32C + unique-id TLVs) for a client at `localAddress`:
 * HAProxy in front of a listener that keeps the first bytes it receives.
 */
export async function capturedHaproxyV2(localAddress: string): Promise<Buffer> {
  const sink = createServer();
  const got = new Promise<Buffer>((resolve) => {
    sink.on('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const r = decodeProxyHeader(buf);
        if (r.state === 'done') {
          // startHaproxy's own readiness probe comes through too (from 127.0.0.1)
          if (r.header.srcAddress === localAddress) resolve(buf.subarray(0, buf.length - r.rest.length));
          s.destroy();
        }
      });
      s.on('error', () => {});
    });
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const addr = sink.address();
  const sinkPort = typeof addr === 'object' && addr ? addr.port : 0;
  const front = await haproxyInFront(sinkPort, 'v2');
  try {
    const c = connect({ port: front.port, host: '127.0.0.1', localAddress });
    c.on('error', () => {});
    c.write('x');
    const header = await got;
    c.destroy();
    return header;
  } finally {
    sink.close();
    await front.hp.stop();
  }
}

/** The `uwrouter` command with `args` (which ask for 2 worker processes) and its workers' pids. */
export async function uwrouterWithTwoWorkers(
  args: string[],
): Promise<{ router: ServerHandle; workers: number[] }> {
  const router = await startUwrouter(args, { readyPattern: /generation 1 serving/ });
  const workers = await pollUntil('two workers', () => {
    const pids = childPids(router.pid);
    return pids.length === 2 ? pids : undefined;
  });
  return { router, workers };
}

/**
 * HAProxy sending each PROXY version in `versions` in front of the router on `port`: through
 * each worker alone, `request` from 127.0.0.6 reaches the echo node with HAProxy's client
 * (127.0.0.6 and the client's own port) as REMOTE_ADDR/REMOTE_PORT.
 */
export async function assertHaproxyClientThroughEachWorker(
  port: number,
  workers: number[],
  request: Buffer,
  versions: readonly ('v1' | 'v2')[],
): Promise<void> {
  for (const version of versions) {
    const front = await haproxyInFront(port, version);
    try {
      for (const w of workers) {
        await throughWorker(w, workers, async () => {
          const x = await exchange(front.port, [request], '127.0.0.6');
          const a = echoAnswer(x.bytes);
          assert.equal(a.status, 'HTTP/1.0 200 OK', `${version} worker ${w}: ${x.bytes}`);
          assert.equal(a.vars.REMOTE_ADDR, '127.0.0.6', `${version} worker ${w}`);
          assert.equal(a.vars.REMOTE_PORT, String(x.localPort), `${version} worker ${w}`);
        });
      }
    } finally {
      await front.hp.stop();
    }
  }
}
