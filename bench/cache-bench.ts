/**
 * Cache benchmarks (one core): local set/get per second, sync packets decoded and applied
 * per second (plain and sealed, in process), sync packets applied per second over loopback
 * UDP, and set/get per second through Redis (a redis-server started here on 127.0.0.1).
 * Run: npx node bench/cache-bench.ts [--no-redis]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UwsgiCache } from '../src/cache/cache.ts';
import { defaultSettings } from '../src/cache/cache-spec.ts';
import { CacheSystem } from '../src/cache/index.ts';
import { SealedChannel } from '../src/cache/sealed-channel.ts';
import { loadConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/logger.ts';
import { decodeCacheSync, encodeCacheSync } from '../src/protocol/cache-sync.ts';
import { deriveSealingKeys } from '../src/protocol/cache-sync-sealed.ts';

const log = silentLogger();

function report(label: string, n: number, seconds: number): void {
  console.log(
    `${label.padEnd(56)} ${Math.round(n / seconds)
      .toLocaleString('en')
      .padStart(12)} /s`,
  );
}

function rate(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 5000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  report(label, n, Number(process.hrtime.bigint() - t0) / 1e9);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const N = 200_000;
const keys = Array.from({ length: N }, (_, i) => Buffer.from(`session-${i.toString(16).padStart(8, '0')}`));
const value = Buffer.alloc(1500, 7); // about a TLS 1.2 session's DER

// 1. local table
{
  const c = new UwsgiCache({ ...defaultSettings('bench', N + 1), blocksize: 4096 }, log);
  rate('local update (1.5 KB values, binary keys)', N, (i) => c.update(keys[i], value, 300));
  rate('local get (hit)', N, (i) => c.get(keys[i]));
  rate('local lookupRoute (mapper path, string key)', N, (i) =>
    c.lookupRoute(`session-${(i % N).toString(16).padStart(8, '0')}`),
  );
}

// 2. sync packets in process: decode + apply, plain and sealed
{
  const c = new UwsgiCache({ ...defaultSettings('bench', N + 1), blocksize: 4096 }, log);
  const packets = keys.map((k) => {
    const e = encodeCacheSync({ op: 'set', key: k, value, expires: 0 });
    if (!e.ok) throw new Error(e.error);
    return e.packet;
  });
  rate('sync packet decode + apply (plain)', N, (i) => {
    const d = decodeCacheSync(packets[i]);
    if (d.ok) c.applyDelta(d.delta);
  });
  const keysS = deriveSealingKeys(Buffer.from('0123456789abcdef0123456789abcdef'));
  for (const aead of ['aes-256-gcm', 'chacha20-poly1305'] as const) {
    const tx = new SealedChannel(keysS, aead);
    const rx = new SealedChannel(keysS, aead);
    const n = 50_000;
    const sealed = packets.slice(0, n + 5000).map((p) => tx.seal(p));
    rate(`seal (${aead})`, n, (i) => tx.seal(packets[i]));
    rate(`open + decode + apply (${aead})`, n, (i) => {
      const o = rx.open(sealed[i]);
      if (o.ok) {
        const d = decodeCacheSync(o.plain);
        if (d.ok) c.applyDelta(d.delta);
      }
    });
  }
}

// 3. over loopback UDP into a cache's udp= server
{
  const port = await freePort();
  const sys = CacheSystem.fromConfig(
    loadConfig(['--cache2', `name=b,items=${N + 1},blocksize=4096,udp=127.0.0.1:${port}`], {}).config,
    log,
  );
  await sys.start();
  const sync = sys.find('b')!.sync!;
  const tx = createSocket('udp4');
  await new Promise<void>((r) => tx.connect(port, '127.0.0.1', r));
  const packets = keys.slice(0, 100_000).map((k) => {
    const e = encodeCacheSync({ op: 'set', key: k, value: value.subarray(0, 200), expires: 0 });
    if (!e.ok) throw new Error(e.error);
    return e.packet;
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < packets.length; i += 200) {
    await Promise.all(packets.slice(i, i + 200).map((p) => new Promise<void>((r) => tx.send(p, () => r()))));
    // pace on what was applied, so the kernel buffer is not what is measured
    while (sync.counters.received < i + 150) await new Promise((r) => setImmediate(r));
  }
  while (sync.counters.received < packets.length) {
    const before = sync.counters.received;
    await sleep(20);
    if (sync.counters.received === before) break;
  }
  report(
    `UDP sync applied (sender in the same process; ${sync.counters.received} of ${packets.length} arrived)`,
    sync.counters.applied,
    Number(process.hrtime.bigint() - t0) / 1e9,
  );
  tx.close();
  await sys.close();
}

// 4. through Redis
if (!process.argv.includes('--no-redis')) {
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  try {
    const sys = CacheSystem.fromConfig(
      loadConfig(['--cache2', `name=r,items=1000,blocksize=4096,redis=redis://127.0.0.1:${port}/0`], {})
        .config,
      log,
    );
    await sys.start();
    const entry = sys.find('r')!;
    for (let i = 0; i < 100 && !entry.redis!.connected; i++) await sleep(50);
    const store = entry.store;
    for (const [label, concurrency] of [
      ['Redis set, one at a time', 1],
      ['Redis set, 64 in flight', 64],
    ] as const) {
      const n = 20_000;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i += concurrency) {
        await Promise.all(keys.slice(i, i + concurrency).map((k) => store.update(k, value, 300)));
      }
      report(label, n, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    for (const [label, concurrency] of [
      ['Redis get (hit), one at a time', 1],
      ['Redis get (hit), 64 in flight', 64],
    ] as const) {
      const n = 20_000;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i += concurrency) {
        await Promise.all(keys.slice(i, i + concurrency).map((k) => store.get(k)));
      }
      report(label, n, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    console.log(`Redis store stats: ${JSON.stringify(store.storeStats())}`);
    await sys.close();
  } finally {
    redis.kill();
  }
}
