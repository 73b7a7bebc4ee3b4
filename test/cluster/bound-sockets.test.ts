/**
 * The primary's sockets (src/cluster/bound-sockets.ts): bound but never accepted on by the
 * primary, served by whichever worker adopts them, still listening while no worker runs (a
 * connection waits in the backlog for the next one), kept across configurations by address.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type BoundSocket, bindConfiguredSockets, bindSocket } from '../../src/cluster/bound-sockets.ts';
import { ListenError } from '../../src/errors.ts';

const CHILD = new URL('./adopting-child.ts', import.meta.url).pathname;
const opts = { backlog: 100, sharedSockets: ['127.0.0.1:0'] };
const dir = mkdtempSync(join(tmpdir(), 'uwr-bound-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** What a client gets: the text, or the connect error code. */
function ask(target: { port: number; host: string } | { path: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    let text = '';
    s.on('data', (d) => {
      text += d;
    });
    s.on('close', () => resolve(text));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function adopter(socket: BoundSocket): Promise<ChildProcess> {
  const c = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(c);
  await once(c, 'message');
  c.send({ configured: 'x', name: socket.name, fd: socket.fd }, socket.handle as never);
  await once(c, 'message');
  return c;
}

function portOf(s: BoundSocket): { port: number; host: string } {
  return { port: Number(s.name.split(':').at(-1)), host: '127.0.0.1' };
}

test('bound by the primary, which never accepts: refused until a worker listens, then served by it', async () => {
  const s = await bindSocket('127.0.0.1:0', opts);
  assert.match(s.name, /^127\.0\.0\.1:\d+$/);
  assert.equal(await ask(portOf(s)), 'ECONNREFUSED');
  const c = await adopter(s);
  assert.equal(await ask(portOf(s)), `hi from ${c.pid}`);
  s.close();
});

test('while no worker runs, a connection waits in the backlog and the next worker serves it', async () => {
  const s = await bindSocket('127.0.0.1:0', opts);
  const first = await adopter(s);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const waiting = ask(portOf(s));
  const settled = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('pending'), 300))]);
  assert.equal(settled, 'pending', 'neither refused nor answered');
  const second = await adopter(s);
  assert.equal(await waiting, `hi from ${second.pid}`);
  s.close();
});

test('a UNIX socket: the file is bound by the primary and removed when it closes its socket', async () => {
  const path = join(dir, 'r.sock');
  const s = await bindSocket(path, opts);
  assert.equal(s.name, path);
  const c = await adopter(s);
  assert.equal(await ask({ path }), `hi from ${c.pid}`);
  c.kill('SIGKILL');
  await once(c, 'exit');
  s.close();
  assert.equal(existsSync(path), false);
});

test('a new configuration keeps the sockets it names again (=N resolved), binds the rest, refuses duplicates', async () => {
  const shared = { backlog: 100, sharedSockets: ['127.0.0.1:0', join(dir, 'shared.sock')] };
  const first = await bindConfiguredSockets(
    [{ router: 'http', addresses: ['127.0.0.1:0', '=0', '=1'] }],
    shared,
    new Map(),
    () => {},
  );
  assert.equal(first.fresh.length, 3, 'two any-port sockets are two sockets');
  const [a, b, u] = (first.byRouter.get('http') ?? []).map((x) => x.socket);
  assert.notEqual(a.name, b.name);
  assert.equal(u.name, join(dir, 'shared.sock'));
  const bound: string[] = [];
  const again = await bindConfiguredSockets(
    [{ router: 'fastrouter', addresses: ['=0', join(dir, 'shared.sock'), '127.0.0.1:0', '127.0.0.1:0'] }],
    shared,
    first.next,
    (_r, s) => bound.push(s.name),
  );
  const kept = (again.byRouter.get('fastrouter') ?? []).map((x) => x.socket);
  assert.equal(kept[0], a, '=0 is the first any-port socket again');
  assert.equal(kept[1], u, 'the path is the socket =1 named');
  assert.equal(kept[2], b);
  assert.deepEqual(bound, [kept[3].name], 'only the third any-port socket is new');
  await assert.rejects(
    bindConfiguredSockets(
      [{ router: 'http', addresses: ['=1', join(dir, 'shared.sock')] }],
      shared,
      new Map(),
      () => {},
    ),
    (e: unknown) => e instanceof ListenError && /configured twice/.test(e.message),
  );
  for (const s of again.next.values()) s.close();
  for (const s of first.next.values()) s.close();
});

test('a port another process listens on is refused when binding (libuv would report it only at listen)', async () => {
  const other = await bindSocket('127.0.0.1:0', opts);
  const c = await adopter(other);
  await assert.rejects(
    bindSocket(other.name, opts),
    (e: unknown) => e instanceof ListenError && /EADDRINUSE: address already in use/.test(e.message),
  );
  c.kill('SIGKILL');
  await once(c, 'exit');
  other.close();
});
