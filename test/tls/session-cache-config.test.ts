/**
 * `--ssl-sessions-use-cache[=NAME]` checked at start-up against the real caches
 * (src/tls/session-id-cache.ts, spec: ssl-sni-sessions.md §5): no cache, no such cache,
 * blocks under 4096 bytes, a cache without room are errors naming the option and the cache;
 * the first cache is taken when no name is given; sessions over the limit are not stored.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CacheSystem } from '../../src/cache/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { MAX_CACHED_SESSION_BYTES, tlsSessionCacheFromConfig } from '../../src/tls/session-id-cache.ts';
import { recordingLogger } from '../cache/cache-settings.ts';

function caches(...cache2: string[]): CacheSystem {
  const args = cache2.flatMap((c) => ['--cache2', c]);
  return CacheSystem.fromConfig(loadConfig(args, {}).config, recordingLogger().log);
}

const refused = (value: string, sys: CacheSystem, pattern: RegExp) =>
  assert.throws(
    () => tlsSessionCacheFromConfig(value, 300, sys),
    (e: Error) => e.name === 'ConfigError' && pattern.test(e.message),
  );

test('no cache, no such cache, small blocks, no room: start-up errors naming the option and the cache', () => {
  refused('', caches(), /"--ssl-sessions-use-cache": no cache is configured; add one, e\.g\. --cache2/);
  refused(
    'ssl',
    caches('name=other,items=10,blocksize=4096'),
    /"--ssl-sessions-use-cache=ssl": there is no cache named "ssl"/,
  );
  refused(
    'ssl',
    caches('name=ssl,items=10,blocksize=4095'),
    /cache "ssl" holds values of at most 4095 bytes; TLS sessions need blocksize=4096 or more/,
  );
  refused('ssl', caches('name=ssl,items=1,blocksize=4096'), /cache "ssl" has no room for items \(items=1\)/);
});

test('no name: the first cache; the option absent: no session cache', async () => {
  const sys = caches('name=first,items=10,blocksize=4096', 'name=second,items=10,blocksize=8192');
  const c = tlsSessionCacheFromConfig('', 300, sys);
  assert.equal(c?.store.name, 'first');
  assert.equal(tlsSessionCacheFromConfig(undefined, 300, sys), null);
});

test('a session over 4096 bytes is not stored, even in a cache with larger blocks; ttl 0 stores nothing', async () => {
  const sys = caches('name=big,items=10,blocksize=65536');
  const c = tlsSessionCacheFromConfig('big', 300, sys)!;
  const id = randomBytes(32);
  c.save(id, randomBytes(MAX_CACHED_SESSION_BYTES + 1));
  assert.equal(c.counters.tooLarge, 1);
  const ok = randomBytes(32);
  c.save(ok, randomBytes(MAX_CACHED_SESSION_BYTES));
  await new Promise((r) => setImmediate(r));
  assert.equal((await c.store.get(ok))?.length, MAX_CACHED_SESSION_BYTES);
  assert.equal(await c.store.get(id), undefined);
  const never = tlsSessionCacheFromConfig('big', 0, sys)!;
  const other = randomBytes(32);
  never.save(other, randomBytes(100));
  await new Promise((r) => setImmediate(r));
  assert.equal(await never.store.get(other), undefined);
});
