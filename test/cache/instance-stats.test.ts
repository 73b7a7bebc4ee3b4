/**
 * uWSGI's "Scaling SSL connections" recipe (setup 1 and 2: master, cache = 20000,
 * cache-blocksize = 4096, ssl-sessions-use-cache, ssl-sessions-timeout, stats,
 * cache-udp-server, cache-udp-node; http-processes only through the command) loads as an ini file (its `https` line is the TLS
 * front's, so an `http` listener stands in), warns that TLS sessions would travel over
 * plaintext UDP, and `--stats` serves the instance document with uWSGI's `caches` fields.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { startRouters } from '../../src/start.ts';
import { readStatsJson } from '../interop/harness/poll.ts';
import { freePort, tmpDir } from '../interop/harness/ports.ts';
import { recordingLogger } from './cache-settings.ts';

test('the recipe loads, warns about plaintext session sync, and the instance stats list the cache', async (t) => {
  const [stats, udp, peer] = [await freePort(), await freePort(), await freePort()];
  const ini = join(tmpDir('recipe'), 'ssl-cluster.ini');
  writeFileSync(
    ini,
    [
      '[uwsgi]',
      'master = true',
      'cache = 20000',
      'cache-blocksize = 4096',
      'ssl-sessions-use-cache = true',
      'ssl-sessions-timeout = 300',
      'https-session-context = cluster',
      'http = 127.0.0.1:0',
      // the recipe's http-processes = 8: embedded routers refuse worker processes; the uwrouter
      // command runs the recipe with them in test/interop/cluster-cache.test.ts
      'http-to = 127.0.0.1:3031',
      `stats = 127.0.0.1:${stats}`,
      `cache-udp-server = 127.0.0.1:${udp}`,
      `cache-udp-node = 127.0.0.1:${peer}`,
      '',
    ].join('\n'),
  );
  const { lines, log } = recordingLogger();
  const running = await startRouters(loadConfig(['--ini', ini], {}).config, log, 'test');
  t.after(() => running.close());
  assert.ok(
    lines.some((l) =>
      /WARNING: cache "default" holds TLS sessions .* plaintext UDP: .* --cache-secret FILE/.test(l),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.includes(`*** udp server for cache "default" running on 127.0.0.1:${udp} ***`),
    lines.join('\n'),
  );
  assert.ok(lines.includes(`added udp node 127.0.0.1:${peer} for cache "default"`), lines.join('\n'));

  const c = running.caches.find('default')!.local!;
  c.set(Buffer.from([1, 2, 3]), Buffer.from('session'), 300);
  c.get(Buffer.from([1, 2, 3]));
  c.get(Buffer.from([9]));
  const doc = await readStatsJson<Record<string, unknown> & { caches: Array<Record<string, unknown>> }>(
    stats,
  );
  assert.deepEqual(Object.keys(doc), ['version', 'pid', 'uid', 'gid', 'cwd', 'caches']);
  assert.equal(doc.version, 'test-uwrouter');
  assert.equal(doc.pid, process.pid);
  const [cache] = doc.caches;
  assert.deepEqual(Object.keys(cache), [
    'name',
    'hash',
    'hashsize',
    'keysize',
    'max_items',
    'blocks',
    'blocksize',
    'items',
    'hits',
    'miss',
    'full',
    'last_modified_at',
    'uwrouter',
  ]);
  assert.deepEqual(
    [cache.name, cache.max_items, cache.blocksize, cache.items, cache.hits, cache.miss, cache.full],
    ['default', 20000, 4096, 1, 1, 1, 0],
  );
  // the session write went to the node
  assert.equal((cache.uwrouter as { sync: { sent: number; sealed: number } }).sync.sent, 1);
  assert.equal((cache.uwrouter as { sync: { sealed: number } }).sync.sealed, 0);
});

test('with --cache-secret there is no warning', async (t) => {
  const [udp, peer] = [await freePort(), await freePort()];
  const secret = join(tmpDir('recipe'), 'key');
  writeFileSync(secret, '0123456789abcdef0123456789abcdef', { mode: 0o600 });
  const { lines, log } = recordingLogger();
  const running = await startRouters(
    loadConfig(
      [
        '--http',
        '127.0.0.1:0',
        '--http-to',
        '127.0.0.1:3031',
        '--cache',
        '100',
        '--ssl-sessions-use-cache',
        '--cache-udp-server',
        `127.0.0.1:${udp}`,
        '--cache-udp-node',
        `127.0.0.1:${peer}`,
        '--cache-secret',
        secret,
      ],
      {},
    ).config,
    log,
    'test',
  );
  t.after(() => running.close());
  assert.equal(lines.filter((l) => l.includes('holds TLS sessions')).length, 0, lines.join('\n'));
  assert.equal(running.caches.find('')!.sync!.sealed, true);
});
