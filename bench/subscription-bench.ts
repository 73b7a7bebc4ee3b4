/**
 * Subscription benchmarks (one core): unsigned packets applied/s, signed RSA-2048 SHA256
 * verified+applied/s, 1M keys × 2 nodes memory and lookup cost.
 * Run: npx node --expose-gc bench/subscription-bench.ts [--keys N]
 */

import { createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.ts';
import { encodeSubscription } from '../src/protocol/subscription.ts';
import { SubscriptionMapper } from '../src/subscription/mapper.ts';
import { SubscriptionReceiver } from '../src/subscription/receiver.ts';
import { PublicKeyStore } from '../src/subscription/signatures.ts';
import { SubscriptionTable } from '../src/subscription/table.ts';

const logger = silentLogger();
const keysArg = process.argv.indexOf('--keys');
const KEYS = keysArg > 0 ? Number(process.argv[keysArg + 1]) : 1_000_000;
const fixtures = new URL('../test/fixtures/', import.meta.url).pathname;
const gc = (globalThis as { gc?: () => void }).gc;

function table(): SubscriptionTable {
  return new SubscriptionTable({ logger, sweepIntervalMs: 0 });
}

function rate(label: string, n: number, fn: (i: number) => void, goal: number): void {
  for (let i = 0; i < Math.min(n, 5000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = n / s;
  console.log(
    `${label.padEnd(52)} ${Math.round(r).toLocaleString('en').padStart(12)} /s  (goal ≥ ${goal.toLocaleString('en')}) ${r >= goal ? 'OK' : 'BELOW'}`,
  );
}

// 1. 1M keys × 2 nodes: resident memory and lookup cost
{
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const t = table();
  const rx = new SubscriptionReceiver(t);
  const t0 = Date.now();
  for (let i = 0; i < KEYS; i++) {
    for (const port of [3031, 3032]) {
      const r = encodeSubscription('subscribe', {
        key: `app${i}.example.com`,
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${port}`,
      });
      if (r.ok) rx.handle(r.packet);
    }
  }
  const loadS = (Date.now() - t0) / 1000;
  gc?.();
  const mem = process.memoryUsage();
  const rssMiB = (mem.rss - rss0) / 2 ** 20;
  console.log(
    `${KEYS.toLocaleString('en')} keys × 2 nodes: ${t.size.toLocaleString('en')} nodes loaded in ${loadS.toFixed(1)} s; ` +
      `RSS +${rssMiB.toFixed(0)} MiB (total ${(mem.rss / 2 ** 20).toFixed(0)} MiB), heap +${((mem.heapUsed - heap0) / 2 ** 20).toFixed(0)} MiB (goal < 1024 MiB) ${mem.rss - rss0 < 2 ** 30 ? 'OK' : 'BELOW'}`,
  );
  const mapper = new SubscriptionMapper(t);
  const client = { address: '192.0.2.1', port: 40000 };
  const samples = 200_000;
  const times = new Float64Array(samples);
  const batch = 10;
  for (let s = 0; s < samples; s++) {
    const t1 = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) {
      const lease = mapper.pick(`app${(s * 7919 + b * 104729) % KEYS}.example.com`, client);
      lease?.connected();
      lease?.release(0, 0);
    }
    times[s] = Number(process.hrtime.bigint() - t1) / batch;
  }
  times.sort();
  console.log(
    `lookup (key string built per request + pick + connected + release), random key of ${KEYS.toLocaleString('en')}: median ${(times[samples >> 1] / 1000).toFixed(2)} µs, p99 ${(times[Math.floor(samples * 0.99)] / 1000).toFixed(2)} µs (goal < 2 µs median)`,
  );
  const prebuilt = Array.from({ length: 100_000 }, (_, i) => `app${(i * 7919) % KEYS}.example.com`);
  for (let s = 0; s < samples; s++) {
    const t1 = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) {
      const lease = mapper.pick(prebuilt[(s * batch + b) % prebuilt.length], client);
      lease?.connected();
      lease?.release(0, 0);
    }
    times[s] = Number(process.hrtime.bigint() - t1) / batch;
  }
  times.sort();
  console.log(
    `lookup (pick + connected + release), 100k distinct keys of ${KEYS.toLocaleString('en')}: median ${(times[samples >> 1] / 1000).toFixed(2)} µs, p99 ${(times[Math.floor(samples * 0.99)] / 1000).toFixed(2)} µs (goal < 2 µs median)`,
  );
}

// 1. unsigned refresh packets (the steady state: every node re-announces every 10 s)
{
  const rx = new SubscriptionReceiver(table());
  const pkts: Buffer[] = [];
  for (let i = 0; i < 10000; i++) {
    const r = encodeSubscription('subscribe', {
      key: `app${i}.example.com`,
      address: `127.0.0.1:${3000 + (i % 2)}`,
      cores: 4,
    });
    if (r.ok) pkts.push(r.packet);
  }
  rate(
    'unsigned packets applied (refresh, 20k nodes)',
    1_000_000,
    (i) => rx.handle(pkts[i % pkts.length]),
    200_000,
  );
  const fresh = new SubscriptionReceiver(table());
  rate(
    'unsigned packets applied (all new pools)',
    300_000,
    (i) => {
      const r = encodeSubscription('subscribe', { key: `n${i}.example.com`, address: '127.0.0.1:3000' });
      if (r.ok) fresh.handle(r.packet);
    },
    200_000,
  );
}

// 2. signed RSA-2048 SHA256 refreshes, verified then applied
{
  const dir = mkdtempSync(join(tmpdir(), 'uwr-bench-'));
  copyFileSync(join(fixtures, 'keys/public.pem'), join(dir, 'signed.example.com.pem'));
  const privateKey = createPrivateKey(readFileSync(join(fixtures, 'keys/private.pem')));
  let now = 1_800_000_000;
  const t = new SubscriptionTable({ logger, sweepIntervalMs: 0, clock: { now: () => now } });
  const rx = new SubscriptionReceiver(t, {
    signing: { store: new PublicKeyStore({ checks: [{ digest: 'sha256', dir }] }) },
  });
  const N = 60_000;
  const pkts: Buffer[] = [];
  for (let i = 0; i < N + 5000; i++) {
    // every refresh carries a larger unix (the replay rule compares with the creation unix)
    const r = encodeSubscription(
      'subscribe',
      { key: 'signed.example.com', address: `127.0.0.1:${3000 + (i % 100)}` },
      { digest: 'sha256', privateKey, now: now + i },
    );
    if (r.ok) pkts.push(r.packet);
  }
  now += N;
  rate('signed RSA-2048/SHA256 packets verified + applied', N, (i) => rx.handle(pkts[i]), 40_000);
  if (rx.counters.rejected['bad-signature'] > 0) console.log('  !! bad signatures', rx.counters.rejected);
}
