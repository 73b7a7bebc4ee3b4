/**
 * The bad-handshake scenario against a real uwrouter sslrouter process, run by the functional
 * test (sslrouter-hygiene.test.ts: it stays up, serves, counts, closes every half-done
 * handshake at its deadline) and by the load lane (test/load/sslrouter-handshakes.load.test.ts:
 * how fast a normal client is served meanwhile, how much memory the crowd costs):
 *
 * - 250 connections that send the first 40 bytes of a ClientHello and stop;
 * - 250 that send a whole ClientHello (OpenSSL answers) and never finish the handshake;
 * - 100 that send garbage, and one whose hello names a 300-byte server;
 * - meanwhile a normal TLS client makes requests through the router to a real uWSGI node.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { procRssBytes } from '../../bench/lib/proc.ts';
import { encodeClientHello } from '../protocol/tls-hello-encoder.ts';
import { freePort, pollUntil, REPO_ROOT, readStatsJson, startUwsgiNode } from './harness/index.ts';
import { ca, uwrouterSsl } from './sslrouter-peers.ts';

/** a real ClientHello (openssl s_client, TLS 1.3) from the captures */
export const REAL_HELLO = Buffer.from(
  readFileSync(join(REPO_ROOT, 'test/fixtures/tls/openssl-tls13-sni-alpn.hex'), 'utf8').replace(/\s+/g, ''),
  'hex',
);
export const HALF_DONE = 500;
export const GARBAGE = 100;

export interface TlsStats {
  tls: {
    handshakes: number;
    handshakes_in_progress: number;
    handshake_failures: Record<string, number>;
  };
  active_sessions: number;
}

export interface FloodRun {
  /** ms of each normal request (handshake + request + answer) while the crowd waited */
  normalMs: number[];
  /** router RSS before the crowd and with it in place */
  rssBefore: number;
  rssWith: number;
  /** stats with the crowd in place (after the garbage was refused) */
  during: TlsStats;
  /** the half-done connections, still open on the test's side unless the router closed them */
  crowd: Socket[];
  /** the router's TLS port, stats port and process */
  port: number;
  statsPort: number;
  routerPid: number;
  logs: () => string;
  isRunning: () => boolean;
}

async function open(port: number, bytes: Buffer | null): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  // read (and drop) what the router sends, so its close is seen
  s.resume();
  await once(s, 'connect');
  if (bytes) s.write(bytes);
  return s;
}

/** One full handshake and HTTP/1.0 request through the router; resolves with its duration. */
export async function normalRequest(port: number): Promise<number> {
  const start = performance.now();
  const t = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(ca.crt), servername: 'localhost' });
  const chunks: Buffer[] = [];
  t.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve, reject) => {
    t.on('close', () => resolve());
    t.on('error', reject);
  });
  await once(t, 'secureConnect');
  t.write('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
  await closed;
  const text = Buffer.concat(chunks).toString('latin1');
  assert.match(text, /^HTTP\/1\.[01] 200 OK[\s\S]*Hello World$/, text);
  return performance.now() - start;
}

export async function runHalfDoneFlood(opts: { handshakeTimeoutS: number }): Promise<FloodRun> {
  const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http', processes: 2 });
  const statsPort = await freePort();
  const { port, router } = await uwrouterSsl([
    '--sslrouter-to',
    node.address,
    '--sslrouter-stats',
    `127.0.0.1:${statsPort}`,
    '--ssl-handshake-timeout',
    String(opts.handshakeTimeoutS),
  ]);
  await normalRequest(port); // warm: JIT, the node's first answer
  const rssBefore = procRssBytes(router.pid);
  const crowd: Socket[] = [];
  for (let i = 0; i < HALF_DONE; i++) {
    crowd.push(await open(port, i % 2 === 0 ? REAL_HELLO.subarray(0, 40) : REAL_HELLO));
  }
  const bad: Socket[] = [];
  for (let i = 0; i < GARBAGE; i++)
    bad.push(await open(port, Buffer.concat([Buffer.from([0]), randomBytes(200)])));
  const longName = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(44)}`;
  bad.push(await open(port, encodeClientHello({ serverName: longName, supportedVersions: [0x0304] })));
  await Promise.all(bad.map((s) => (s.destroyed ? undefined : once(s, 'close'))));
  const during = await pollUntil(
    'the crowd in progress and the bad ones refused',
    async () => {
      const s = await readStatsJson<TlsStats>(statsPort);
      const f = s.tls.handshake_failures;
      return s.tls.handshakes_in_progress === HALF_DONE &&
        (f['not-tls'] ?? 0) + (f['bad-server-name'] ?? 0) === GARBAGE + 1
        ? s
        : undefined;
    },
    { timeoutMs: 20_000 },
  );
  const normalMs: number[] = [];
  for (let i = 0; i < 10; i++) normalMs.push(await normalRequest(port));
  const rssWith = procRssBytes(router.pid);
  return {
    normalMs,
    rssBefore,
    rssWith,
    during,
    crowd,
    port,
    statsPort,
    routerPid: router.pid,
    logs: () => router.logs(),
    isRunning: () => router.isRunning(),
  };
}
