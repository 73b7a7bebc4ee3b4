/**
 * `--X-max-connections`: the N+1th open client connection is refused (HTTP: a 503 with
 * Connection: close that the client can read even while it is still sending; others: closed),
 * counted, and logged once plus a summary a second; a slot freed by a close is used again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import { MAX_CONNECTIONS_CODE } from '../../src/corerouter/connection-limit.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { createFastrouter } from '../../src/fastrouter/index.ts';
import { createHttpRouter } from '../../src/http-router/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { answer, bodyOf, RawClient, uwsgiNode, waitFor } from '../http-router/fakes.ts';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

interface Started {
  router: CoreRouter;
  port: number;
  warnings: string[];
}

async function start(kind: 'http' | 'fastrouter', args: string[]): Promise<Started> {
  const { config } = loadConfig([`--${kind}`, '127.0.0.1:0', ...args], {});
  const warnings: string[] = [];
  const log = silentLogger();
  log.warn = ((a: unknown, b?: string) => {
    warnings.push(typeof a === 'string' ? a : (b ?? ''));
  }) as typeof log.warn;
  const router = (kind === 'http' ? createHttpRouter : createFastrouter)(config, log, { version: 'test' });
  await router.start();
  cleanup.push(() => router.close());
  const a = router.listeners[0]!.server.address();
  return { router, port: typeof a === 'object' && a ? a.port : 0, warnings };
}

/** Connect and collect everything until the router closes (or `ms`). */
async function exchange(
  port: number,
  send: string | Buffer,
  ms = 3000,
): Promise<{ text: string; error?: string }> {
  const s: Socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let error: string | undefined;
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code;
  });
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await once(s, 'connect');
  s.write(send);
  await Promise.race([closed, sleep(ms)]);
  s.destroy();
  const r: { text: string; error?: string } = { text: Buffer.concat(chunks).toString('latin1') };
  if (error !== undefined) r.error = error;
  return r;
}

const counted = (r: Started): number => r.router.counters.get(MAX_CONNECTIONS_CODE) ?? 0;

test('HTTP router: the third connection past --http-max-connections 2 gets a 503 with Connection: close', async () => {
  const node = await uwsgiNode(answer('served'));
  cleanup.push(() => node.close());
  const r = await start('http', ['--http-to', node.address, '--http-max-connections', '2']);
  const idle1 = await RawClient.open(r.port);
  const idle2 = await RawClient.open(r.port);
  await waitFor(() => r.router.activeSessions === 2);

  const refused = await exchange(r.port, 'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n');
  assert.match(refused.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(refused.text, /\r\nConnection: close\r\n/);
  assert.match(refused.text, /\r\nRetry-After: 5\r\n/);
  assert.equal(bodyOf(refused.text), 'too many connections to this server; try again shortly\n');
  assert.equal(counted(r), 1);
  assert.equal(r.router.activeSessions, 2, 'a refused client is never a session');
  assert.deepEqual(r.warnings, [
    '[uwsgi-http] 2 client connections are open (--http-max-connections 2): answering new ones with 503',
  ]);

  // a slot freed by a close is used again
  idle1.socket.destroy();
  await waitFor(() => r.router.activeSessions === 1);
  const served = await exchange(r.port, 'GET / HTTP/1.0\r\nHost: a.example\r\n\r\n');
  assert.equal(bodyOf(served.text), 'served');
  assert.equal(counted(r), 1);
  idle2.socket.destroy();
});

test('HTTP router: a refused client still sending its body is not reset: it finishes sending and reads the 503', async () => {
  const r = await start('http', ['--http-to', '127.0.0.1:1', '--http-max-connections', '1']);
  const idle = await RawClient.open(r.port);
  await waitFor(() => r.router.activeSessions === 1);
  // more than the socket buffers hold: the router must read (and drop) it, or its close
  // resets the connection and a client that writes before it reads (curl) sees only the reset
  const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
  for (let i = 0; i < 5; i++) {
    const head = `POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${body.length}\r\n\r\n`;
    const res = await exchange(r.port, Buffer.concat([Buffer.from(head), body]));
    assert.equal(res.error, undefined, `attempt ${i}: the connection was reset`);
    assert.match(res.text, /^HTTP\/1\.1 503 /, `attempt ${i}: ${JSON.stringify(res.text.slice(0, 40))}`);
  }
  assert.equal(counted(r), 5);
  idle.socket.destroy();
});

/** A fastrouter with --fastrouter-max-connections 1 and its one slot taken by an idle client. */
async function fullFastrouter(): Promise<{ r: Started; idle: RawClient }> {
  const r = await start('fastrouter', [
    '--fastrouter-to',
    '127.0.0.1:1',
    '--fastrouter-max-connections',
    '1',
  ]);
  const idle = await RawClient.open(r.port);
  await waitFor(() => r.router.activeSessions === 1);
  return { r, idle };
}

test('fastrouter: a connection past --fastrouter-max-connections is closed without a byte', async () => {
  const { r, idle } = await fullFastrouter();
  const refused = await exchange(r.port, Buffer.from([0, 0, 0, 0]));
  assert.equal(refused.text, '');
  assert.equal(counted(r), 1);
  assert.deepEqual(r.warnings, [
    '[uwsgi-fastrouter] 1 client connections are open (--fastrouter-max-connections 1): closing new ones',
  ]);
  idle.socket.destroy();
});

test('refusals are logged once, then one summary line a second; the counter counts each', async () => {
  const { r, idle } = await fullFastrouter();
  await Promise.all(Array.from({ length: 30 }, () => exchange(r.port, 'x', 1000)));
  assert.equal(counted(r), 30);
  assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
  await waitFor(() => r.warnings.length === 2, 2500);
  assert.equal(
    r.warnings[1],
    '[uwsgi-fastrouter] 29 more client connections refused in the last second (--fastrouter-max-connections 1)',
  );
  idle.socket.destroy();
});

test('the default (0) sets no limit', async () => {
  const r = await start('fastrouter', ['--fastrouter-to', '127.0.0.1:1']);
  const clients = await Promise.all(Array.from({ length: 40 }, () => RawClient.open(r.port)));
  await waitFor(() => r.router.activeSessions === 40);
  assert.equal(counted(r), 0);
  for (const c of clients) c.socket.destroy();
});
