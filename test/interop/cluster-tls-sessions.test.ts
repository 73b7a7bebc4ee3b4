/**
 * TLS sessions across the workers of one `uwrouter` (the HTTPS router with 2 workers), with
 * `openssl s_client -sess_out` through one worker and `-sess_in` through the other (each
 * worker checked alone: the other is stopped, so only it accepts on the shared socket):
 * - TLS 1.2 session ids (`-no_ticket`) kept in a local `--ssl-sessions-use-cache` cache (the
 *   session a worker stores goes to the primary's cache and to the other worker's replica), or
 *   in Redis (each worker has its own client);
 * - `--ssl-ticket-keys` in a root-only file with `--uid nobody`: the primary reads it before
 *   the privilege drop and gives the bytes to its workers, so a TLS 1.3 ticket made by one is
 *   accepted by the other; after a SIGHUP the new workers get the copy read at start (the
 *   primary, now nobody, may not read it again, and logs so);
 * - without `--uid`, a SIGHUP re-reads the key file: new workers use the new secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  childPids,
  freePort,
  pollUntil,
  type ServerHandle,
  startRedis,
  startUwrouter,
  throughWorker,
  tmpDir,
} from './harness/index.ts';
import { dflt, runTool, sClient, type ToolResult } from './sslrouter-peers.ts';

const REQUEST = 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n';

/** `Reused` or `New` from s_client's summary line; throws when the handshake failed. */
function outcome(r: ToolResult): 'Reused' | 'New' {
  const m = /^(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/m.exec(r.stdout);
  if (!m || m[3] === '(NONE)') throw new Error(`no handshake:\n${r.stdout}\n${r.stderr}`);
  return m[1] as 'Reused' | 'New';
}

/** The primary's two workers, once exactly two run and none of them is in `not` (the previous ones). */
async function twoWorkers(router: ServerHandle, not: readonly number[] = []): Promise<number[]> {
  return pollUntil('two workers', () => {
    const pids = childPids(router.pid);
    return pids.length === 2 && pids.every((p) => !not.includes(p)) ? pids : undefined;
  });
}

/** `--https` on a free port, 2 workers, answering 502 (no node): all a handshake needs. */
async function httpsRouter(args: string[]): Promise<{ router: ServerHandle; port: number }> {
  const [port, dead] = await Promise.all([freePort(), freePort()]);
  const router = await startUwrouter(
    [
      ...['--https', `127.0.0.1:${port},${dflt.crt},${dflt.key}`, '--http-to', `127.0.0.1:${dead}`],
      ...['--http-processes', '2', ...args],
    ],
    { readyPattern: /generation 1 serving/ },
  );
  after(() => router.stop());
  return { router, port };
}

/**
 * Makes a session through worker `a` (saved to `file`) and resumes it through worker `b`:
 * 'Reused' as soon as `b` resumes it (a session id reaches `b`'s replica within
 * milliseconds: a few tries), else what the last try said.
 */
async function madeThenResumed(
  port: number,
  flags: string[],
  file: string,
  a: number,
  b: number,
  workers: number[],
): Promise<'Reused' | 'New'> {
  const made = await throughWorker(a, workers, () => sClient(port, [...flags, '-sess_out', file], REQUEST));
  assert.equal(outcome(made), 'New', `worker ${a} makes the session`);
  return resumed(port, flags, file, b, workers);
}

async function resumed(
  port: number,
  flags: string[],
  file: string,
  b: number,
  workers: number[],
): Promise<'Reused' | 'New'> {
  let last: 'Reused' | 'New' = 'New';
  for (let i = 0; i < 5 && last !== 'Reused'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    last = outcome(
      await throughWorker(b, workers, () => sClient(port, [...flags, '-sess_in', file], REQUEST)),
    );
  }
  return last;
}

test('HTTPS router, 2 workers, --ssl-sessions-use-cache: a TLS 1.2 session id made through one worker is Reused through the other', {
  timeout: 90_000,
}, async () => {
  const dir = tmpDir('cluster-session-ids');
  const { router, port } = await httpsRouter([
    ...['--cache2', 'name=ssl,items=100,blocksize=4096', '--ssl-sessions-use-cache=ssl'],
  ]);
  const workers = await twoWorkers(router);
  const flags = ['-tls1_2', '-no_ticket'];
  const [w1, w2] = workers;
  assert.equal(await madeThenResumed(port, flags, join(dir, 'a.pem'), w1, w2, workers), 'Reused', '1 → 2');
  assert.equal(await madeThenResumed(port, flags, join(dir, 'b.pem'), w2, w1, workers), 'Reused', '2 → 1');
  assert.match(router.logs(), /TLS 1\.2 session ids are kept in cache "ssl"/);
});

test('HTTPS router, 2 workers, --ssl-sessions-use-cache in Redis: each worker has its own client; a TLS 1.2 session id made through one is Reused through the other', {
  timeout: 90_000,
}, async () => {
  const dir = tmpDir('cluster-session-redis');
  const redis = await startRedis();
  after(() => redis.stop());
  const cache = `name=ssl,items=100,blocksize=4096,redis=redis://127.0.0.1:${redis.port}/4,redis_timeout=500`;
  const { router, port } = await httpsRouter(['--cache2', cache, '--ssl-sessions-use-cache=ssl']);
  const workers = await twoWorkers(router);
  const [w1, w2] = workers;
  const flags = ['-tls1_2', '-no_ticket'];
  // each worker connects to Redis on its own, maybe after its first handshake: a few tries
  let n = 0;
  for (const [a, b] of [
    [w1, w2],
    [w2, w1],
  ]) {
    const r = await pollUntil(
      `${a} → ${b}`,
      async () =>
        (await madeThenResumed(port, flags, join(dir, `s${n++}.pem`), a, b, workers)) === 'Reused'
          ? 'Reused'
          : undefined,
      { timeoutMs: 5000 },
    );
    assert.equal(r, 'Reused');
  }
  const keys = await runTool('redis-cli', [
    '-p',
    String(redis.port),
    '-n',
    '4',
    '--scan',
    '--pattern',
    'uwrouter:cache:ssl:*',
  ]);
  assert.ok(keys.stdout.trim().split('\n').length >= 2, `the sessions are in Redis: ${keys.stdout}`);
});

test('HTTPS router, 2 workers as nobody, --ssl-ticket-keys readable by root only: a TLS 1.3 ticket made by one worker is Reused by the other, also after a SIGHUP', {
  skip: process.getuid?.() !== 0 && 'needs root',
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('cluster-ticket-keys'); // 0700, root's
  const keys = join(dir, 'ticket.keys');
  writeFileSync(keys, randomBytes(48), { mode: 0o600 });
  const { router, port } = await httpsRouter([
    '--ssl-ticket-keys',
    keys,
    '--uid',
    'nobody',
    '--gid',
    'nogroup',
  ]);
  const workers = await twoWorkers(router);
  const [w1, w2] = workers;
  const flags = ['-tls1_3'];
  const session = join(dir, 'a.pem');
  assert.equal(await madeThenResumed(port, flags, session, w1, w2, workers), 'Reused', '1 → 2');
  // the primary runs as nobody now: the new workers get the bytes it read at start
  process.kill(router.pid, 'SIGHUP');
  await pollUntil('generation 2 serving', () =>
    /generation 2 serving/.test(router.logs()) ? true : undefined,
  );
  const next = await twoWorkers(router, workers);
  assert.match(router.logs(), new RegExp(`reload: ${keys} cannot be read as uid \\d+ any more`));
  for (const w of next)
    assert.equal(await resumed(port, flags, session, w, next), 'Reused', `new worker ${w}`);
});

test('HTTPS router, 2 workers: a SIGHUP re-reads the --ssl-ticket-keys file (new workers use the new secret)', {
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('cluster-ticket-reload');
  const keys = join(dir, 'ticket.keys');
  writeFileSync(keys, randomBytes(48), { mode: 0o600 });
  const { router, port } = await httpsRouter(['--ssl-ticket-keys', keys]);
  const workers = await twoWorkers(router);
  const [w1, w2] = workers;
  const flags = ['-tls1_3'];
  const session = join(dir, 'a.pem');
  assert.equal(await madeThenResumed(port, flags, session, w1, w2, workers), 'Reused', '1 → 2');
  writeFileSync(keys, randomBytes(48), { mode: 0o600 });
  process.kill(router.pid, 'SIGHUP');
  await pollUntil('generation 2 serving', () =>
    /generation 2 serving/.test(router.logs()) ? true : undefined,
  );
  const next = await twoWorkers(router, workers);
  for (const w of next) {
    const r = await throughWorker(w, next, () => sClient(port, [...flags, '-sess_in', session], REQUEST));
    assert.equal(outcome(r), 'New', `new worker ${w}: the old secret's ticket`);
  }
  const again = join(dir, 'b.pem');
  assert.equal(
    await madeThenResumed(port, flags, again, next[0], next[1], next),
    'Reused',
    'new secret 1 → 2',
  );
});
