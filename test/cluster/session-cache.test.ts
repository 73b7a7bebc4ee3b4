/**
 * `--ssl-sessions-use-cache` in a cluster (src/cluster/session-cache.ts): the primary's
 * configuration check refuses what startRouters refuses (no cache, no such cache, blocks
 * under 4096 bytes, no room) and knows which routers terminate TLS (they get the cache's
 * replica); a worker's store over its replica (src/cache/replica-store.ts) reads locally and
 * reports writes to the primary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CacheReplica } from '../../src/cache/replica.ts';
import { cacheMaxValueSize, ReplicaCacheStore } from '../../src/cache/replica-store.ts';
import type { CacheReport } from '../../src/cache/replication.ts';
import { checkConfig } from '../../src/cluster/config-check.ts';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { TestCerts } from '../tls/test-certs.ts';

const certs = new TestCerts('cluster-session-cache');
const leaf = certs.leaf(certs.ca(), 'a.example');
const HTTPS = ['--https', `127.0.0.1:0,${leaf.crt},${leaf.key}`, '--http-to', '127.0.0.1:1'];

const check = (args: string[]) => checkConfig(loadConfig(args, {}).config, silentLogger());

const refused = (args: string[], pattern: RegExp) =>
  assert.throws(
    () => check([...HTTPS, '--http-processes', '2', ...args]),
    (e: Error) => e.name === 'ConfigError' && pattern.test(e.message),
  );

test('the primary refuses a session cache startRouters refuses', () => {
  refused(['--ssl-sessions-use-cache'], /"--ssl-sessions-use-cache": no cache is configured/);
  refused(
    ['--cache2', 'name=other,items=10,blocksize=4096', '--ssl-sessions-use-cache=ssl'],
    /there is no cache named "ssl"/,
  );
  refused(
    ['--cache2', 'name=ssl,items=10,blocksize=1024', '--ssl-sessions-use-cache=ssl'],
    /cache "ssl" holds values of at most 1024 bytes; TLS sessions need blocksize=4096/,
  );
  refused(
    ['--cache2', 'name=ssl,items=1,blocksize=4096', '--ssl-sessions-use-cache=ssl'],
    /cache "ssl" has no room for items \(items=1\)/,
  );
});

test('the check names the routers that terminate TLS', () => {
  const ok = check([
    ...HTTPS,
    '--cache2',
    'name=ssl,items=10,blocksize=4096',
    '--ssl-sessions-use-cache=ssl',
  ]);
  assert.deepEqual([...ok.tlsRouters], ['http']);
  const plain = check(['--http', '127.0.0.1:0', '--http-to', '127.0.0.1:1']);
  assert.deepEqual([...plain.tlsRouters], []);
});

test('a store over a replica: local reads, set only when absent, writes reported, oversize refused', async () => {
  const reports: CacheReport[] = [];
  const replica = new CacheReplica({ cache: 'ssl', noExpire: false, report: (r) => reports.push(r) });
  const store = new ReplicaCacheStore(replica, { bitmap: false, blocks: 10, blocksize: 4096 });
  assert.equal(store.maxValueSize, 4096);
  assert.equal(store.kind, 'local');
  const id = Buffer.from([0x00, 0xff, 0x80, 0x41]); // binary session id: latin1 both ways
  assert.equal(await store.get(id), undefined);
  assert.equal(await store.set(id, Buffer.from('der'), 300), true);
  assert.equal((await store.get(id))?.toString(), 'der');
  assert.equal(await store.set(id, Buffer.from('other'), 300), false, 'set leaves an existing id alone');
  assert.equal(await store.set(Buffer.from('big'), Buffer.alloc(4097), 300), false);
  assert.deepEqual(reports, [[0, id.toString('latin1'), Buffer.from('der').toString('base64'), 300, 0]]);
  assert.equal(await store.update(id, Buffer.from('new'), 300), true);
  assert.equal(reports.at(-1)?.[4], 1);
  // what another worker wrote, sent by the primary
  const other = Buffer.from([0x01, 0x02]);
  replica.apply('deltas', [[0, other.toString('latin1'), Buffer.from('theirs').toString('base64'), 0]]);
  assert.equal((await store.get(other))?.toString(), 'theirs');
  assert.deepEqual(store.storeStats(), { hits: 2, miss: 1, errors: 0, timeouts: 0 });
  assert.equal(cacheMaxValueSize({ bitmap: true, blocks: 8, blocksize: 1024 }), 8192);
});
