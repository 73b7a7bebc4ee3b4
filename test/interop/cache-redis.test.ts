/**
 * Redis-backed caches (`redis=`, uwrouter extension) against a real redis-server: binary
 * keys and values, per-item TTL in Redis, set-if-absent vs update, the blocksize bound, two
 * routers sharing one Redis; then Redis hanging (SIGSTOP) and stopped mid-test: every
 * operation still answers within the timeout (a miss, a write not done), and at once once
 * the hang is detected or the connection is gone; one log line per outage and one when
 * Redis is back, and the store works again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CacheStore, CacheSystem } from '../../src/cache/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { recordingLogger } from '../cache/cache-settings.ts';
import { pollUntil, startRedis } from './harness/index.ts';

const TIMEOUT_MS = 100;

async function redisCache(port: number, name = 'sessions') {
  const { lines, log } = recordingLogger();
  const sys = CacheSystem.fromConfig(
    loadConfig(
      [
        '--cache2',
        `name=${name},items=100,blocksize=4096,redis=redis://127.0.0.1:${port}/2,redis_timeout=${TIMEOUT_MS}`,
      ],
      {},
    ).config,
    log,
  );
  await sys.start();
  const store = sys.store(name) as CacheStore;
  return { sys, store, lines };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

describe('Redis-backed cache', () => {
  test('binary keys and values, TTL, set-if-absent, the blocksize bound, shared between two routers', async (t) => {
    const redis = await startRedis();
    const a = await redisCache(redis.port!);
    const b = await redisCache(redis.port!);
    t.after(async () => {
      await a.sys.close();
      await b.sys.close();
      await redis.stop();
    });
    await pollUntil('connected', () =>
      a.sys.find('sessions')!.redis!.connected && b.sys.find('sessions')!.redis!.connected ? true : undefined,
    );
    assert.equal(a.store.kind, 'redis');
    const id = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0d, 0x0a]);
    const der = Buffer.from([0x30, 0x82, 0x00, 0x00, 0xff]);
    assert.equal(await a.store.set(id, der, 300), true);
    assert.equal(await a.store.set(id, Buffer.from('other'), 300), false, 'set leaves an existing id alone');
    assert.deepEqual(await b.store.get(id), der, 'the other router reads it');
    assert.equal(await b.store.update(id, Buffer.from('replaced'), 0), true);
    assert.equal((await a.store.get(id))?.toString(), 'replaced');
    assert.equal(await a.store.set(Buffer.from('big'), Buffer.alloc(4097), 300), false);
    assert.equal(await a.store.set(Buffer.from('ttl'), Buffer.from('v'), 1), true);
    await pollUntil(
      'expired in Redis',
      async () => ((await a.store.get(Buffer.from('ttl'))) === undefined ? true : undefined),
      {
        timeoutMs: 5000,
        intervalMs: 200,
      },
    );
    assert.equal(await a.store.delete(id), true);
    assert.equal(await b.store.get(id), undefined);
    const st = b.store.storeStats();
    assert.ok(st.hits >= 1 && st.miss >= 1, JSON.stringify(st));
    assert.equal(st.errors, 0);
  });

  test('Redis hanging, then stopped, then back: bounded answers, a line per outage and per recovery, the store recovers', async (t) => {
    let redis = await startRedis();
    const port = redis.port!;
    const a = await redisCache(port);
    t.after(async () => {
      await a.sys.close();
      if (redis.isRunning()) {
        process.kill(redis.pid, 'SIGCONT');
        await redis.stop();
      }
    });
    const redisSide = a.sys.find('sessions')!.redis!;
    await pollUntil('connected', () => (redisSide.connected ? true : undefined));
    const key = Buffer.from('k');
    assert.equal(await a.store.set(key, Buffer.from('v'), 300), true);

    // hanging: every command gives up after the timeout
    process.kill(redis.pid, 'SIGSTOP');
    const slow = await timed(a.store.get(key));
    assert.equal(slow.value, undefined);
    assert.ok(slow.ms >= TIMEOUT_MS * 0.8 && slow.ms < TIMEOUT_MS + 400, `get took ${slow.ms} ms`);
    const w = await timed(a.store.update(key, Buffer.from('w'), 300));
    assert.equal(w.value, false);
    assert.ok(w.ms < TIMEOUT_MS + 400, `update took ${w.ms} ms`);
    // the third timeout in a row: Redis counts as hanging, and is no longer waited for
    assert.equal(await a.store.delete(key), false);
    assert.equal(a.store.storeStats().timeouts, 3, JSON.stringify(a.store.storeStats()));
    assert.equal(redisSide.connected, false);
    const quick = await timed(a.store.get(key));
    assert.equal(quick.value, undefined);
    assert.ok(quick.ms < 50, `answered in ${quick.ms} ms while hanging`);
    process.kill(redis.pid, 'SIGCONT');
    // a probe (one PING a second, sent by an operation) finds it answering again. (Redis
    // then applies the writes the store gave up waiting for: the key is 'w', then deleted.)
    await pollUntil(
      'answering again',
      async () => ((await a.store.update(key, Buffer.from('v2'), 300)) ? true : undefined),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );

    // stopped: once the client saw it go, operations answer at once
    await redis.stop();
    await pollUntil('seen down', () => (redisSide.connected ? undefined : true));
    const down = await timed(
      Promise.all([a.store.get(key), a.store.set(Buffer.from('x'), Buffer.from('y'), 60)]),
    );
    assert.deepEqual(down.value, [undefined, false]);
    assert.ok(down.ms < 50, `answered in ${down.ms} ms while down`);
    await pollUntil('outage logged', () =>
      a.lines.some((l) => /Redis redis:\/\/127\.0\.0\.1:\d+\/2 unreachable/.test(l)) ? true : undefined,
    );

    // back on the same port: the client reconnects by itself
    redis = await startRedis(port);
    await pollUntil('reconnected', () => (redisSide.connected ? true : undefined), { timeoutMs: 10000 });
    assert.equal(await a.store.set(key, Buffer.from('again'), 300), true);
    assert.equal((await a.store.get(key))?.toString(), 'again');
    // one line per outage (the hang, then the stop), each followed by one line when it ended
    assert.deepEqual(
      a.lines
        .filter((l) => /unreachable|is back/.test(l))
        .map((l) => (l.includes('unreachable') ? 'down' : 'back')),
      ['down', 'back', 'down', 'back'],
      a.lines.join('\n'),
    );
    assert.match(
      a.lines.find((l) => l.includes('unreachable')) ?? '',
      /no answer within 100 ms, 3 times in a row/,
    );
  });
});
