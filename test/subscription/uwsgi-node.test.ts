/**
 * A real uWSGI node announces itself to our subscription server and unsubscribes on
 * SIGINT (spec: subscription.md §6). Skipped when /usr/bin/uwsgi is absent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SubscriptionServer } from '../../src/subscription/server.ts';
import { makeTable } from './harness.ts';

const UWSGI = '/usr/bin/uwsgi';
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of closers) await c();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('real uWSGI node: announce reaches the server, SIGINT unsubscribes', {
  skip: !existsSync(UWSGI),
  timeout: 30000,
}, async () => {
  const t = makeTable();
  const server = new SubscriptionServer({
    addresses: ['127.0.0.1:0'],
    receiver: t.receiver,
    logger: t.logger,
  });
  await server.listen();
  closers.push(() => server.close());
  const udpPort = Number(server.addresses()[0].split(':')[1]);
  const dir = mkdtempSync(join(tmpdir(), 'uwr-uwsgi-'));
  writeFileSync(join(dir, 'app.py'), 'def application(e, s):\n    s("200 OK", [])\n    return [b"ok"]\n');
  const port = await freePort();
  const child = spawn(
    UWSGI,
    [
      '--plugin',
      'python3',
      '--socket',
      `127.0.0.1:${port}`,
      '--master',
      '--processes',
      '1',
      '--wsgi-file',
      join(dir, 'app.py'),
      '--subscribe-to',
      `127.0.0.1:${udpPort}:example.com`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  await until(() => t.table.pools.has('example.com'), 10000).catch(() => {
    throw new Error(`no announce; uwsgi said:\n${stderr}`);
  });
  const node = t.table.pools.get('example.com')!.nodes[0];
  assert.equal(node.name, `127.0.0.1:${port}`);
  assert.equal(node.weight, 1);
  assert.ok(t.lines.includes(`[uwsgi-subscription for pid 4242] new pool: example.com (hash key: 30778)`));
  // the startup double announce (0 s, ~1 s)
  await until(() => t.receiver.counters.accepted.refresh >= 1, 5000);
  child.kill('SIGINT');
  await until(() => t.receiver.counters.accepted.unsubscribe === 1, 10000);
  assert.equal(t.table.pools.size, 0);
  await until(() => child.exitCode !== null || child.signalCode !== null, 10000);
});
