/**
 * `--cache2` keys and the old-style `--cache` options into cache specs (spec:
 * ssl-sni-sessions.md §6): uWSGI's aliases and defaults, the errors it exits with, the
 * ini of the "Scaling SSL connections" recipe, and what uwrouter refuses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCache2 } from '../../src/cache/cache-spec.ts';
import { cacheConfigFromConfig } from '../../src/cache/from-config.ts';
import { loadConfig } from '../../src/config/index.ts';

function ok(text: string) {
  const r = parseCache2(text);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.spec;
}
function err(text: string): string {
  const r = parseCache2(text);
  assert.equal(r.ok, false, text);
  return r.ok ? '' : r.error;
}

describe('--cache2', () => {
  test("uWSGI's defaults: blocksize 65536, keysize 2048, blocks = items, djb33x, hashsize 65536", () => {
    const s = ok('name=a,items=100').settings;
    assert.deepEqual(
      [s.name, s.maxItems, s.blocksize, s.blocks, s.keysize, s.hash, s.hashsize, s.bitmap],
      ['a', 100, 65536, 100, 2048, 'djb33x', 65536, false],
    );
  });

  test('aliases: max_items/maxitems, key_size, hash_size, lru, lazy, node, udp_server(s), storesync', () => {
    const s = ok(
      'name=a,maxitems=7,key_size=10,hash_size=9,lru=1,lazy=1,node=127.0.0.1:1;127.0.0.1:2,udpservers=127.0.0.1:3,storesync=5,store=/tmp/x',
    );
    assert.deepEqual(
      [
        s.settings.maxItems,
        s.settings.keysize,
        s.settings.hashsize,
        s.settings.purgeLru,
        s.settings.lazyExpire,
      ],
      [7, 10, 9, true, true],
    );
    assert.deepEqual(s.nodes, ['127.0.0.1:1', '127.0.0.1:2']);
    assert.deepEqual(s.udpServers, ['127.0.0.1:3']);
    assert.equal(s.storeSync, 5);
    assert.equal(ok('name=a,max_items=3').settings.maxItems, 3);
  });

  test("uWSGI's refusals: no name, no items, blocks < items, keysize ≥ 65536, bad hash", () => {
    assert.match(err('items=10'), /specify a cache name/);
    assert.match(err('name=a'), /maximum number of cache items/);
    assert.match(err('name=a,items=0'), /items="0" must be a number ≥ 1/);
    assert.match(err('name=a,items=10,blocks=5'), /blocks .* must be at least items/);
    assert.match(err('name=a,items=10,keysize=65536'), /keysize/);
    assert.match(err('name=a,items=10,hash=md5'), /is not one of djb33x, murmur2/);
  });

  test('stricter than uWSGI: unknown keys and non-boolean flags are errors', () => {
    assert.match(err('name=a,items=10,itmes=3'), /unknown key "itmes"/);
    assert.match(err('name=a,items=10,bitmap=maybe'), /bitmap="maybe" is not a boolean/);
    assert.equal(ok('name=a,items=10,bitmap=0').settings.bitmap, false);
    assert.equal(ok('name=a,items=10,bitmap').settings.bitmap, true);
  });

  test('refused combinations: sync=, redis with udp/nodes/store, a secret without udp or nodes, a bad redis URL', () => {
    assert.match(err('name=a,items=10,sync=127.0.0.1:1'), /shared-memory image/);
    assert.match(
      err('name=a,items=10,redis=redis://127.0.0.1:1/0,udp=127.0.0.1:2'),
      /not supported with redis=/,
    );
    assert.match(err('name=a,items=10,redis=redis://127.0.0.1:1/0,store=/tmp/x'), /store= is not supported/);
    assert.match(err('name=a,items=10,secret=/tmp/s'), /no nodes= or udp=/);
    assert.match(err('name=a,items=10,redis=127.0.0.1:6379'), /must be a redis:\/\//);
    assert.match(err('name=a,items=10,udp=1.2.3.4:1,secret_aead=rot13,secret=/x'), /secret_aead="rot13"/);
  });

  test('math_initial is accepted with a warning (no cache math without application code)', () => {
    const r = parseCache2('name=a,items=10,math_initial=5');
    assert.ok(r.ok);
    assert.match(r.warnings[0], /math_initial= has no effect/);
  });
});

describe('old-style options', () => {
  const conf = (args: string[]) => cacheConfigFromConfig(loadConfig(args, {}).config);

  test('the "Scaling SSL connections" recipe: cache = 20000, cache-blocksize = 4096, udp server and node', () => {
    const c = conf([
      '--cache',
      '20000',
      '--cache-blocksize',
      '4096',
      '--cache-udp-server',
      '127.0.0.1:4000',
      '--cache-udp-node',
      '127.0.0.1:4001',
      '--cache-udp-node',
      '127.0.0.1:4002',
    ]);
    assert.equal(c.specs.length, 1);
    const d = c.specs[0];
    assert.deepEqual([d.settings.name, d.settings.maxItems, d.settings.blocksize], ['default', 20000, 4096]);
    assert.deepEqual(d.udpServers, ['127.0.0.1:4000']);
    assert.deepEqual(d.nodes, ['127.0.0.1:4001', '127.0.0.1:4002']);
  });

  test('the old-style cache comes first; cache2 caches do not take the old-style udp options', () => {
    const c = conf(['--cache2', 'name=b,items=3', '--cache', '5', '--cache-udp-node', '127.0.0.1:1']);
    assert.deepEqual(
      c.specs.map((s) => [s.settings.name, s.nodes.length]),
      [
        ['default', 1],
        ['b', 0],
      ],
    );
  });

  test('old-style options without --cache are refused; --cache-no-expire and --cache-store-sync reach every cache', () => {
    assert.throws(() => conf(['--cache-udp-server', '127.0.0.1:1']), /needs --cache N/);
    const c = conf([
      '--cache2',
      'name=b,items=3',
      '--cache2',
      'name=c,items=3,store_sync=7',
      '--cache-no-expire',
      '--cache-store-sync',
      '20',
    ]);
    assert.deepEqual(
      c.specs.map((s) => [s.settings.noExpire, s.storeSync]),
      [
        [true, 20],
        [true, 7],
      ],
    );
  });

  test('two caches of one name are refused', () => {
    assert.throws(
      () => conf(['--cache2', 'name=b,items=3', '--cache2', 'name=b,items=4']),
      /already a cache named "b"/,
    );
  });
});
