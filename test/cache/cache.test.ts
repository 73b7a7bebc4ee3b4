/**
 * Cache semantics beyond t/cachebitmap.py (spec: ssl-sni-sessions.md §6, §7): capacity
 * items − 1, expiry and the sweeper, lazy/no_expire, the FULL line, uWSGI's stats fields,
 * deltas announced for local writes only, the mapper's hit counter.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UwsgiCache } from '../../src/cache/cache.ts';
import type { CacheDelta } from '../../src/protocol/cache-sync.ts';
import { ManualClock, recordingLogger, settings } from './cache-settings.ts';

const v = (s: string) => Buffer.from(s, 'latin1');

function cache(o: Parameters<typeof settings>[0]) {
  const clock = new ManualClock();
  const { lines, log } = recordingLogger();
  const c = new UwsgiCache(settings(o), log, clock.read);
  const deltas: CacheDelta[] = [];
  c.onDelta((d) => deltas.push(d));
  return { c, clock, lines, deltas };
}

describe('capacity and writes', () => {
  test("items=2 holds one key (slot 0 is reserved); the FULL line is uWSGI's", () => {
    const { c, lines } = cache({ name: 'two', maxItems: 2 });
    assert.equal(c.set('a', v('1')), 'ok');
    assert.equal(c.set('b', v('2')), 'full');
    assert.equal(c.update('b', v('2')), 'full');
    assert.deepEqual(lines, ['*** DANGER cache "two" is FULL !!! ***']);
    assert.equal(c.statsFields().full, 2);
    assert.equal(c.size, 1);
  });

  test('FULL lines are limited to one per 10 s, the next one counts the others', () => {
    const { c, clock, lines } = cache({ name: 'f', maxItems: 2 });
    c.set('a', v('1'));
    for (let i = 0; i < 5; i++) c.set(`k${i}`, v('x'));
    clock.now += 10;
    c.set('z', v('x'));
    assert.deepEqual(lines, [
      '*** DANGER cache "f" is FULL !!! ***',
      '*** DANGER cache "f" is FULL !!! *** (4 more times since the last line)',
    ]);
    assert.equal(c.full, 6);
  });

  test('ignore_full logs nothing but still counts', () => {
    const { c, lines } = cache({ name: 'q', maxItems: 2, ignoreFull: true });
    c.set('a', v('1'));
    assert.equal(c.set('b', v('1')), 'full');
    assert.deepEqual(lines, []);
    assert.equal(c.full, 1);
  });

  test('set refuses an existing key, update replaces it', () => {
    const { c } = cache({ name: 'u', maxItems: 10 });
    assert.equal(c.set('k', v('one')), 'ok');
    assert.equal(c.set('k', v('two')), 'exists');
    assert.equal(c.get('k')?.toString(), 'one');
    assert.equal(c.update('k', v('two')), 'ok');
    assert.equal(c.get('k')?.toString(), 'two');
  });

  test('empty keys and values, keys past keysize and values past blocksize are refused', () => {
    const { c } = cache({ name: 'b', maxItems: 10, keysize: 4, blocksize: 8 });
    assert.equal(c.set('', v('x')), 'bad-key');
    assert.equal(c.set('k', Buffer.alloc(0)), 'bad-value');
    assert.equal(c.set('kkkkk', v('x')), 'bad-key');
    assert.equal(c.set('kkkk', v('x')), 'ok');
    assert.equal(c.set('k', Buffer.alloc(9, 1)), 'bad-value');
    assert.equal(c.set('k', Buffer.alloc(8, 1)), 'ok');
  });

  test('binary keys: a Buffer key and its latin1 string are the same item', () => {
    const { c } = cache({ name: 'bin', maxItems: 10 });
    const id = Buffer.from([0, 255, 128, 10, 13]);
    assert.equal(c.set(id, v('session')), 'ok');
    assert.equal(c.get(id.toString('latin1'))?.toString(), 'session');
    assert.equal(c.has(Buffer.from(id)), true);
  });

  test("a stored value is a copy: changing the caller's buffer later changes nothing", () => {
    const { c } = cache({ name: 'copy', maxItems: 10 });
    const b = v('abc');
    c.set('k', b);
    b[0] = 0x7a;
    assert.equal(c.get('k')?.toString(), 'abc');
  });
});

describe('expiry', () => {
  test('an item is not returned once its expiry has passed, and a set can take the key again', () => {
    const { c, clock } = cache({ name: 'e', maxItems: 10 });
    c.set('k', v('1'), 5);
    assert.equal(c.expiresOf('k'), clock.now + 5);
    clock.now += 4;
    assert.equal(c.get('k')?.toString(), '1');
    clock.now += 1;
    assert.equal(c.get('k'), undefined);
    assert.equal(c.set('k', v('2')), 'ok');
  });

  test('the sweeper removes due items only, without announcing them', () => {
    const { c, clock, deltas } = cache({ name: 's', maxItems: 10 });
    c.set('a', v('1'), 3);
    c.set('b', v('1'), 10);
    c.set('c', v('1'));
    deltas.length = 0;
    clock.now += 3;
    assert.equal(c.sweep(), 1);
    assert.equal(c.size, 2);
    clock.now += 100;
    assert.equal(c.sweep(), 1);
    assert.equal(c.size, 1);
    assert.equal(c.has('c'), true);
    assert.deepEqual(deltas, []);
  });

  test('an update moves the expiry: the old one no longer sweeps it, 0 makes it permanent', () => {
    const { c, clock } = cache({ name: 'm', maxItems: 10 });
    c.set('a', v('1'), 3);
    c.update('a', v('2'), 60);
    clock.now += 5;
    assert.equal(c.sweep(), 0);
    c.update('a', v('3'), 0);
    clock.now += 1000;
    assert.equal(c.sweep(), 0);
    assert.equal(c.get('a')?.toString(), '3');
  });

  test('lazy_expire: no sweeper; an expired item goes when read', () => {
    const { c, clock } = cache({ name: 'l', maxItems: 10, lazyExpire: true });
    assert.equal(c.sweeps, false);
    c.set('a', v('1'), 1);
    clock.now += 2;
    assert.equal(c.sweep(), 0);
    assert.equal(c.size, 1);
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
  });

  test('no_expire: expiry is never enforced (uWSGI keeps such items readable)', () => {
    const { c, clock } = cache({ name: 'n', maxItems: 10, noExpire: true });
    c.set('a', v('1'), 1);
    clock.now += 100;
    assert.equal(c.get('a')?.toString(), '1');
  });

  test('sweep_on_full removes expired items before refusing; clear_on_full empties a full cache', () => {
    const sw = cache({ name: 'sof', maxItems: 3, sweepOnFull: 5, lazyExpire: true });
    sw.c.set('a', v('1'), 1);
    sw.c.set('b', v('1'));
    sw.clock.now += 2;
    assert.equal(sw.c.set('c', v('1')), 'ok');
    assert.equal(sw.c.has('b'), true);
    const cl = cache({ name: 'cof', maxItems: 3, clearOnFull: true });
    cl.c.set('a', v('1'));
    cl.c.set('b', v('1'));
    assert.equal(cl.c.set('c', v('1')), 'ok');
    assert.deepEqual([cl.c.has('a'), cl.c.has('b'), cl.c.has('c')], [false, false, true]);
  });
});

describe('deltas, hits and stats', () => {
  test('local writes are announced with absolute expiry; applied deltas are not announced again', () => {
    const { c, clock, deltas } = cache({ name: 'd', maxItems: 10 });
    c.set('k', v('v'), 100);
    c.update('k', v('w'));
    c.delete('k');
    c.delete('missing');
    c.set('k', v('v'));
    c.set('k', v('again'));
    assert.deepEqual(
      deltas.map((d) =>
        d.op === 'set' ? [d.op, d.key.toString(), d.value.toString(), d.expires] : [d.op, d.key.toString()],
      ),
      [
        ['set', 'k', 'v', clock.now + 100],
        ['set', 'k', 'w', 0],
        ['delete', 'k'],
        ['set', 'k', 'v', 0],
      ],
    );
    deltas.length = 0;
    assert.equal(c.applyDelta({ op: 'set', key: v('r'), value: v('x'), expires: clock.now + 5 }), 'ok');
    assert.equal(c.applyDelta({ op: 'set', key: v('r'), value: v('y'), expires: 0 }), 'ok');
    assert.equal(c.applyDelta({ op: 'delete', key: v('k') }), 'deleted');
    assert.equal(c.applyDelta({ op: 'delete', key: v('k') }), 'absent');
    assert.deepEqual(deltas, []);
    assert.equal(c.get('r')?.toString(), 'y');
  });

  test('a delta whose absolute expiry has passed removes the key instead of storing it', () => {
    const { c, clock } = cache({ name: 'late', maxItems: 10 });
    c.set('k', v('old'));
    assert.equal(
      c.applyDelta({ op: 'set', key: v('k'), value: v('new'), expires: clock.now - 1 }),
      'expired',
    );
    assert.equal(c.has('k'), false);
  });

  test('lookupRoute returns the hit count before the lookup (uWSGI cache_get4)', () => {
    const { c } = cache({ name: 'h', maxItems: 10 });
    c.set('k', v('a|b'));
    assert.deepEqual(
      [0, 1, 2].map(() => c.lookupRoute('k')?.hits),
      [0, 1, 2],
    );
    assert.equal(c.lookupRoute('nope'), undefined);
    assert.deepEqual([c.hits, c.miss], [3, 1]);
  });

  test("stats fields are uWSGI's, in its order", () => {
    const { c, clock } = cache({ name: 'st', maxItems: 20, lastModified: true, blocksize: 4096 });
    c.set('a', v('1'));
    c.get('a');
    c.get('b');
    assert.deepEqual(Object.entries(c.statsFields()), [
      ['name', 'st'],
      ['hash', 'djb33x'],
      ['hashsize', 65536],
      ['keysize', 2048],
      ['max_items', 20],
      ['blocks', 20],
      ['blocksize', 4096],
      ['items', 1],
      ['hits', 1],
      ['miss', 1],
      ['full', 0],
      ['last_modified_at', clock.now],
    ]);
  });
});
