/**
 * uWSGI's own cache assertions (t/cachebitmap.py with t/cachebitmap.ini, uWSGI 2.0), ported
 * one for one: `assertTrue(uwsgi.cache_x(...))` is `'ok'`/true here, `assertIsNone(...)` a
 * refusal. The caches are the ini's `cache2` lines, built by the same parser `--cache2` uses.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import { UwsgiCache } from '../../src/cache/cache.ts';
import { parseCache2 } from '../../src/cache/cache-spec.ts';
import { silentLogger } from '../../src/logger.ts';

/** t/cachebitmap.ini */
const INI = [
  'name=items_1,blocks=4,items=2,bitmap=1,blocksize=1',
  'name=items_2,blocks=4,items=3,bitmap=1,blocksize=1',
  'name=items_3,blocks=4,items=4,bitmap=1,blocksize=1',
  'name=items_4,blocks=5,items=5,bitmap=1,blocksize=1',
  'name=items_17,blocks=17,items=17,bitmap=1,blocksize=1',
  'name=items_4_10,blocks=5,items=5,bitmap=1,blocksize=10',
  'name=items_1_100000,blocks=1000,items=2,bitmap=1,blocksize=100',
  'name=items_non_bitmap,items=2,blocksize=20',
  'name=items_lru,items=3,blocksize=20,purge_lru=1',
];

const caches = new Map<string, UwsgiCache>();
for (const line of INI) {
  const r = parseCache2(line);
  if (!r.ok) throw new Error(r.error);
  caches.set(r.spec.settings.name, new UwsgiCache(r.spec.settings, silentLogger()));
}
function c(name: string): UwsgiCache {
  return caches.get(name)!;
}
const b = (s: string) => Buffer.from(s, 'latin1');
const update = (k: string, v: string, cache: string) => c(cache).update(k, b(v)) === 'ok';
const set = (k: string, v: string, cache: string) => c(cache).set(k, b(v)) === 'ok';
const del = (k: string, cache: string) => c(cache).delete(k);
const get = (k: string, cache: string) => c(cache).get(k)?.toString('latin1');

describe("uWSGI's t/cachebitmap.py", () => {
  beforeEach(() => {
    for (const cache of caches.values()) cache.clear();
  });

  test('failed by one: 5 bytes do not fit 4 blocks of 1', () => {
    assert.equal(update('key1', 'HELLO', 'items_1'), false);
  });

  test('ok four bytes', () => {
    assert.equal(update('key1', 'HELL', 'items_1'), true);
  });

  test('two items using four blocks', () => {
    assert.equal(update('key1', 'HE', 'items_2'), true);
    assert.equal(update('key2', 'LL', 'items_2'), true);
    assert.equal(del('key1', 'items_2'), true);
    assert.equal(update('key1', 'HEL', 'items_2'), false);
    assert.equal(update('key1', 'HE', 'items_2'), true);
  });

  test('overlapping: an update needs its new blocks beside the old ones', () => {
    assert.equal(update('key1', 'HE', 'items_2'), true);
    assert.equal(update('key1', 'HELL', 'items_2'), false);
    assert.equal(del('key1', 'items_2'), true);
    assert.equal(update('key1', 'HELL', 'items_2'), true);
  });

  test('big item', () => {
    assert.equal(update('key1', 'HELLOHELLOHELLOHEL', 'items_17'), false);
    assert.equal(update('key1', 'HELLOHELLOHELLOHE', 'items_17'), true);
  });

  test('set fails on an existing key', () => {
    assert.equal(set('key1', 'HELLO', 'items_17'), true);
    assert.equal(set('key1', 'HELLO', 'items_17'), false);
    assert.equal(del('key1', 'items_17'), true);
    assert.equal(set('key1', 'HELLO', 'items_17'), true);
    assert.equal(set('key1', 'HELLO', 'items_17'), false);
  });

  test('too many items: items=5 holds 4 keys', () => {
    assert.equal(set('key1', 'HELLO', 'items_4_10'), true);
    assert.equal(set('key2', 'HELLO', 'items_4_10'), true);
    assert.equal(set('key3', 'HELLO', 'items_4_10'), true);
    assert.equal(set('key4', 'HELLO', 'items_4_10'), true);
    assert.equal(set('key5', 'HELLO', 'items_4_10'), false);
  });

  test('big delete', () => {
    assert.equal(set('key1', 'X'.repeat(50), 'items_4_10'), true);
    assert.equal(del('key1', 'items_4_10'), true);
    assert.equal(set('key1', 'HELLOHELLO', 'items_4_10'), true);
    assert.equal(set('key2', 'HELLOHELLO', 'items_4_10'), true);
    assert.equal(set('key3', 'HELLOHELLO', 'items_4_10'), true);
    assert.equal(set('key4', 'HELLOHELLO', 'items_4_10'), true);
    assert.equal(set('key5', 'HELLOHELLO', 'items_4_10'), false);
  });

  test('big update', () => {
    assert.equal(set('key1', 'X'.repeat(40), 'items_4_10'), true);
    assert.equal(update('key1', 'X'.repeat(10), 'items_4_10'), true);
    assert.equal(del('key1', 'items_4_10'), true);
    assert.equal(update('key1', 'X'.repeat(51), 'items_4_10'), false);
    assert.equal(update('key1', 'X'.repeat(50), 'items_4_10'), true);
  });

  test('multi clear', () => {
    for (let i = 0; i < 100; i++) c('items_4_10').clear();
    assert.equal(c('items_4_10').size, 0);
  });

  test('multi delete', () => {
    for (let i = 0; i < 100; i++) {
      assert.equal(set('key1', 'X'.repeat(50), 'items_4_10'), true);
      assert.equal(del('key1', 'items_4_10'), true);
    }
    for (let i = 0; i < 100; i++) {
      assert.equal(set('key1', 'X'.repeat(51), 'items_4_10'), false);
      assert.equal(del('key1', 'items_4_10'), false);
    }
    for (let i = 0; i < 100; i++) {
      assert.equal(set('key1', 'X'.repeat(50), 'items_4_10'), true);
      assert.equal(del('key1', 'items_4_10'), true);
    }
  });

  test('big key: keysize 2048', () => {
    assert.equal(set('K'.repeat(2048), 'X'.repeat(50), 'items_4_10'), true);
    assert.equal(set('K'.repeat(2049), 'X'.repeat(50), 'items_4_10'), false);
  });

  test('big random value over 1000 blocks', () => {
    const blob = randomBytes(50000).toString('hex');
    assert.equal(set('KEY', blob, 'items_1_100000'), true);
    assert.equal(get('KEY', 'items_1_100000'), blob);
    assert.equal(del('KEY', 'items_1_100000'), true);
    assert.equal(set('KEY', 'X'.repeat(100001), 'items_1_100000'), false);
    assert.equal(set('KEY', 'X'.repeat(10000), 'items_1_100000'), true);
  });

  test('non bitmap: values up to blocksize', () => {
    assert.equal(set('KEY', 'X'.repeat(20), 'items_non_bitmap'), true);
    assert.equal(del('KEY', 'items_non_bitmap'), true);
    assert.equal(set('KEY', 'X'.repeat(21), 'items_non_bitmap'), false);
    assert.equal(set('KEY', 'X'.repeat(20), 'items_non_bitmap'), true);
  });

  test('lru: a full purge_lru cache evicts the least recently used item', () => {
    assert.equal(set('KEY1', 'X'.repeat(20), 'items_lru'), true);
    assert.equal(set('KEY2', 'X'.repeat(20), 'items_lru'), true);
    assert.equal(set('KEY3', 'Y'.repeat(20), 'items_lru'), true);
    assert.equal(get('KEY1', 'items_lru'), undefined);
    get('KEY3', 'items_lru');
    for (let i = 4; i < 100; i++) {
      assert.equal(set(`KEY${i}`, 'Y'.repeat(20), 'items_lru'), true);
      assert.equal(get(`KEY${i - 2}`, 'items_lru'), undefined);
    }
  });
});
