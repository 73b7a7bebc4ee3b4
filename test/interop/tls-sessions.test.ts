/**
 * TLS sessions resumed on another uwrouter process (issue 9 parts 4, 5), with real clients:
 * two processes started with different command lines sharing `--ssl-ticket-keys` resume each
 * other's `openssl s_client -sess_out` sessions (`Reused`) for TLS 1.3 and 1.2, also after a
 * rotation period (2 s here) has passed, while a process with another key file makes a full
 * handshake; TLS 1.2 session ids (`-no_ticket`) through a UDP-synced cache sealed with
 * `secret=` and through Redis, with Redis stopped mid-test costing resumption only; and
 * `gnutls-cli --resume` against one node for TLS 1.3.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  pollUntil,
  type ServerHandle,
  startRedis,
  startUwrouter,
  tmpDir,
} from './harness/index.ts';
import { ca, dflt, runTool, sClient, type ToolResult } from './sslrouter-peers.ts';

const dir = tmpDir('tls-sessions');
const REQUEST = 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n';
const ROTATION_S = 2;

function keyFile(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, randomBytes(48), { mode: 0o600 });
  return p;
}

interface Node {
  port: number;
  proc: ServerHandle;
}

/** `--https 127.0.0.1:P,CRT,KEY --http-to DEAD ARGS…`: a request gets a 502 and the close. */
async function httpsNode(args: string[], before: string[] = []): Promise<Node> {
  const port = await freePort();
  const dead = await freePort();
  const proc = await startUwrouter([
    ...before,
    '--https',
    `127.0.0.1:${port},${dflt.crt},${dflt.key}`,
    '--http-to',
    `127.0.0.1:${dead}`,
    ...args,
  ]);
  return { port, proc };
}

/** One s_client connection writing its session to `out` or resuming the one in `in`. */
function connect(port: number, flags: string[], o: { out?: string; in?: string }): Promise<ToolResult> {
  return sClient(
    port,
    [...flags, ...(o.out ? ['-sess_out', o.out] : []), ...(o.in ? ['-sess_in', o.in] : [])],
    REQUEST,
  );
}

/** `Reused` or `New` from s_client's summary line; throws when the handshake failed. */
function outcome(r: ToolResult): 'Reused' | 'New' {
  const m = /^(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/m.exec(r.stdout);
  if (!m || m[3] === '(NONE)') throw new Error(`no handshake:\n${r.stdout}\n${r.stderr}`);
  return m[1] as 'Reused' | 'New';
}

/** The ticket key name (first 16 bytes of the ticket) of a saved session, as hex. */
async function ticketName(sessionFile: string): Promise<string> {
  const r = await runTool('openssl', ['sess_id', '-in', sessionFile, '-noout', '-text']);
  const m = /TLS session ticket:\s*\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return m[1].replace(/[ -]/g, '');
}

async function stopAll(...nodes: Array<{ stop(): Promise<unknown> } | undefined>): Promise<void> {
  await Promise.all(nodes.map((n) => n?.stop()));
}

describe('shared --ssl-ticket-keys between processes started differently', () => {
  for (const [version, flag] of [
    ['TLS 1.3', '-tls1_3'],
    ['TLS 1.2', '-tls1_2'],
  ] as const) {
    test(`${version}: made on A, Reused on B, also a rotation period later; never on a node with another file`, async (t) => {
      const shared = keyFile(`shared${flag}.key`);
      const rotation = ['--ssl-ticket-keys-rotation', String(ROTATION_S)];
      const a = await httpsNode(['--ssl-ticket-keys', shared, ...rotation]);
      // B: other options, in another order (Node's default session id context, a hash of
      // argv, would differ: the constant one must not)
      const b = await httpsNode(['--http-timeout', '20', ...rotation], ['--ssl-ticket-keys', shared]);
      const c = await httpsNode(['--ssl-ticket-keys', keyFile(`other${flag}.key`), ...rotation]);
      t.after(() => stopAll(a.proc, b.proc, c.proc));
      const sess = join(dir, `a${flag}.pem`);
      assert.equal(outcome(await connect(a.port, [flag], { out: sess })), 'New');
      assert.equal(outcome(await connect(b.port, [flag], { in: sess })), 'Reused', 'A’s session on B');
      assert.equal(outcome(await connect(c.port, [flag], { in: sess })), 'New', 'another key file');
      // into the next period: A's new tickets are under another key; the old one still resumes
      const name = await ticketName(sess);
      await sleep(ROTATION_S * 1000 - (Date.now() % (ROTATION_S * 1000)) + 100);
      const later = join(dir, `a-later${flag}.pem`);
      assert.equal(outcome(await connect(a.port, [flag], { out: later })), 'New');
      assert.notEqual(await ticketName(later), name, 'the key rotated');
      assert.equal(outcome(await connect(b.port, [flag], { in: sess })), 'Reused', 'one period later on B');
      assert.equal(outcome(await connect(b.port, [flag], { in: later })), 'Reused', 'the new key on B');
      assert.equal(outcome(await connect(c.port, [flag], { in: later })), 'New');
    });
  }

  test('gnutls-cli --resume, TLS 1.3, against one node', async (t) => {
    const a = await httpsNode(['--ssl-ticket-keys', keyFile('gnutls.key')]);
    t.after(() => stopAll(a.proc));
    const r = await runTool(
      'gnutls-cli',
      [
        '--resume',
        '--waitresumption',
        '--x509cafile',
        ca.crt,
        '--priority',
        'NORMAL:-VERS-ALL:+VERS-TLS1.3',
        '-p',
        String(a.port),
        'localhost',
      ],
      { input: '', timeoutMs: 15_000 },
    );
    assert.match(r.stdout, /\(TLS1\.3-X\.509\)/, r.stdout + r.stderr);
    assert.match(r.stdout, /This is a resumed session/, r.stdout + r.stderr);
  });
});

describe('TLS 1.2 session ids (-no_ticket) in a shared cache', () => {
  const FLAGS = ['-tls1_2', '-no_ticket'];

  test('a UDP-synced cache sealed with secret=: made on A, Reused on B', async (t) => {
    const secret = join(dir, 'sync.key');
    writeFileSync(secret, randomBytes(32).toString('hex'), { mode: 0o600 });
    const [ua, ub] = [await freePort(), await freePort()];
    const cache = (own: number, peer: number) => [
      '--cache2',
      `name=ssl,items=100,blocksize=4096,udp=127.0.0.1:${own},nodes=127.0.0.1:${peer},secret=${secret}`,
      '--ssl-sessions-use-cache=ssl',
    ];
    const a = await httpsNode(cache(ua, ub));
    const b = await httpsNode(['--http-timeout', '20', ...cache(ub, ua)]);
    t.after(() => stopAll(a.proc, b.proc));
    const sess = join(dir, 'udp.pem');
    assert.equal(outcome(await connect(a.port, FLAGS, { out: sess })), 'New');
    assert.match(readFileSync(sess, 'latin1'), /BEGIN SSL SESSION PARAMETERS/);
    // the sync is a datagram away: B has it within a second
    await pollUntil(
      'Reused on B',
      async () =>
        (await outcome(await connect(b.port, FLAGS, { in: sess }))) === 'Reused' ? true : undefined,
      { timeoutMs: 1000, intervalMs: 50 },
    );
    assert.equal(outcome(await connect(a.port, FLAGS, { in: sess })), 'Reused', 'and on A');
  });

  test('Redis: made on A, Reused on B; Redis stopped: full handshakes, none fails', async (t) => {
    const redis = await startRedis();
    const cache = [
      '--cache2',
      `name=ssl,items=100,blocksize=4096,redis=redis://127.0.0.1:${redis.port}/3,redis_timeout=200`,
      '--ssl-sessions-use-cache=ssl',
    ];
    const a = await httpsNode(cache);
    const b = await httpsNode(['--http-timeout', '20', ...cache]);
    t.after(() => stopAll(a.proc, b.proc, redis));
    const sess = join(dir, 'redis.pem');
    // the first handshake may come before the Redis connection: retry making the session
    await pollUntil(
      'a session stored and Reused on B',
      async () => {
        assert.equal(outcome(await connect(a.port, FLAGS, { out: sess })), 'New');
        return outcome(await connect(b.port, FLAGS, { in: sess })) === 'Reused' ? true : undefined;
      },
      { timeoutMs: 5000, intervalMs: 200 },
    );
    await redis.stop();
    for (const node of [a, b]) {
      const t0 = Date.now();
      assert.equal(
        outcome(await connect(node.port, FLAGS, { in: sess })),
        'New',
        'no cache: a full handshake',
      );
      assert.ok(Date.now() - t0 < 3000, `bounded: ${Date.now() - t0} ms`);
      assert.equal(outcome(await connect(node.port, ['-tls1_3'], {})), 'New');
      assert.equal(outcome(await connect(node.port, FLAGS, {})), 'New');
    }
  });
});
