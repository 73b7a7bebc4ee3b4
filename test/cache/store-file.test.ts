/**
 * Persistent caches (`store=FILE`): items survive a restart with their expiry, expired ones
 * do not come back, a file in another format stops the start unless store_delete=, and a
 * damaged file is never half-read.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CacheSystem } from '../../src/cache/index.ts';
import { parseStoreFile } from '../../src/cache/store-file.ts';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { tmpDir } from '../interop/harness/ports.ts';
import { recordingLogger } from './cache-settings.ts';

function make(cache2: string, log = silentLogger()): CacheSystem {
  return CacheSystem.fromConfig(loadConfig(['--cache2', cache2], {}).config, log);
}

test('items come back after a restart with their expiry; a deleted one does not', async () => {
  const file = join(tmpDir('cache-store'), 'routes.cache');
  const first = make(`name=r,items=10,store=${file}`);
  await first.start();
  const c = first.find('r')!.local!;
  c.set('keep', Buffer.from([0, 1, 2, 255]));
  c.set('ttl', Buffer.from('v'), 1000);
  c.set('gone', Buffer.from('v'));
  c.delete('gone');
  const ttlExpiry = c.expiresOf('ttl');
  await first.close();

  const { lines, log } = recordingLogger();
  const second = make(`name=r,items=10,store=${file}`, log);
  await second.start();
  const d = second.find('r')!.local!;
  assert.deepEqual(d.get('keep'), Buffer.from([0, 1, 2, 255]));
  assert.equal(d.expiresOf('ttl'), ttlExpiry);
  assert.equal(d.has('gone'), false);
  assert.ok(lines.includes('[uwsgi-cache] restored 2 items'), lines.join('\n'));
  await second.close();

  // the file holds the two live items (the deleted one was never written)
  const parsed = parseStoreFile(readFileSync(file));
  assert.ok(parsed.ok);
  assert.equal(parsed.items.length, 2);
});

test('a file that is not a uwrouter store stops the start; store_delete replaces it', async () => {
  const file = join(tmpDir('cache-store'), 'foreign.cache');
  writeFileSync(file, Buffer.alloc(4096));
  assert.throws(
    () => make(`name=r,items=10,store=${file}`).find('r')!.file!.load(false),
    /invalid cache store file/,
  );
  const s = make(`name=r,items=10,store=${file},store_delete=1`);
  await s.start();
  s.find('r')!.local!.set('k', Buffer.from('v'));
  await s.close();
  const parsed = parseStoreFile(readFileSync(file));
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.items.map((i) => i.key.toString()),
    ['k'],
  );
});

test('a damaged file is refused, not half-read', () => {
  const good = Buffer.concat([
    Buffer.from('UWRCACHE1\n'),
    Buffer.from([0, 1]),
    Buffer.from('k'),
    Buffer.from([0, 0, 0, 1]),
    Buffer.from('v'),
    Buffer.alloc(8),
  ]);
  assert.ok(parseStoreFile(good).ok);
  for (let n = 11; n < good.length; n++)
    assert.equal(parseStoreFile(good.subarray(0, n)).ok, false, `cut at ${n}`);
});
