import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listen } from '../../src/corerouter/listener.ts';
import { ListenError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-listener-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const opts = { backlog: 100, sharedSockets: [] as string[] };

test('a UNIX socket listener replaces a stale socket file and removes its file on close', async () => {
  const path = join(dir, 'stale.sock');
  // a process that exits while listening leaves its socket file behind
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, [
    '-e',
    `const s=require('net').createServer().listen(${JSON.stringify(`${path}.2`)},()=>process.exit(0))`,
  ]);
  assert.ok(existsSync(`${path}.2`), 'a socket file left by a dead process');
  const l = await listen(`${path}.2`, opts, (s) => s.end('hi'));
  const c = connect(`${path}.2`);
  const chunks: Buffer[] = [];
  c.on('data', (d) => chunks.push(d));
  await once(c, 'close');
  assert.equal(Buffer.concat(chunks).toString(), 'hi');
  assert.equal(l.name, `${path}.2`);
  await l.close();
  assert.equal(existsSync(`${path}.2`), false);
});

test('a UNIX path served by another process is refused, not stolen', async () => {
  const path = join(dir, 'alive.sock');
  const other = createServer((s) => s.destroy());
  other.listen(path);
  await once(other, 'listening');
  await assert.rejects(
    listen(path, opts, () => {}),
    (e: unknown) => e instanceof ListenError && /another process/.test(e.message),
  );
  other.close();
});

test('a regular file in the way is refused', async () => {
  const path = join(dir, 'file.sock');
  writeFileSync(path, 'not a socket');
  await assert.rejects(
    listen(path, opts, () => {}),
    /not a socket/,
  );
});

test('TCP: named IP:PORT as uWSGI prints it; a busy port is a ListenError', async () => {
  const l = await listen('127.0.0.1:0', opts, () => {});
  const port = (l.server.address() as { port: number }).port;
  assert.equal(l.name, `127.0.0.1:${port}`);
  await assert.rejects(
    listen(`127.0.0.1:${port}`, opts, () => {}),
    (e: unknown) => e instanceof ListenError && /EADDRINUSE/.test(e.message),
  );
  await l.close();
});

test('=N uses the N-th --shared-socket; a missing one is a clear error', async () => {
  const l = await listen('=0', { backlog: 100, sharedSockets: ['127.0.0.1:0'] }, () => {});
  assert.match(l.name, /^127\.0\.0\.1:\d+$/);
  assert.equal(l.configured, '=0');
  await l.close();
  await assert.rejects(
    listen('=3', opts, () => {}),
    /no --shared-socket number 3/,
  );
});
