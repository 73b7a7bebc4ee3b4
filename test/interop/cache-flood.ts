/**
 * The cache sync flood scenario, run by the functional test (cache-flood.test.ts: routing
 * goes on, every datagram counted once, the table stays within its capacity) and by the load
 * lane (test/load/cache-flood.load.test.ts: memory bounded): 100k datagrams — garbage,
 * truncated, wrong sizes, oversized, valid sets of random keys past the cache's capacity,
 * deletes — at a cache's UDP server while uwrouter's HTTP router keeps routing a key of that
 * cache to a real uWSGI node.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UdpSyncCounters } from '../../src/cache/udp-sync.ts';
import { encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import { type FloodCategory, sendPacedFlood, startRequestTrickle, vmRssBytes } from './harness/flood.ts';
import { freePort, readStatsJson, startUwrouter, startUwsgiNode } from './harness/index.ts';

export const FLOOD_DATAGRAMS = 100_000;
export const ITEMS = 1000;
export const KEY = 'flood.example';

/** the counters of the stats document's `caches[].uwrouter.sync` these tests read */
export type SyncCounters = Pick<
  UdpSyncCounters,
  'received' | 'applied' | 'deleted' | 'deleted_absent' | 'refused' | 'not_stored'
>;
export interface CacheFloodStats {
  caches: Array<{ name: string; items: number; uwrouter: { sync: SyncCounters } }>;
}

export interface CacheFloodRun {
  routerRunning: boolean;
  before: SyncCounters;
  after: SyncCounters;
  items: number;
  requests: number;
  failures: string[];
  rssBefore: number;
  rssMid: number;
  rssAfter: number;
  info: string;
}

function packet(delta: Parameters<typeof encodeCacheSync>[0]): Buffer {
  const e = encodeCacheSync(delta);
  assert.ok(e.ok);
  return e.packet;
}

export async function runCacheFlood(): Promise<CacheFloodRun> {
  const node = await startUwsgiNode({ app: 'whoami.py', name: 'flood-node' });
  const [httpPort, udpPort, statsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const router = await startUwrouter([
    '--http',
    `127.0.0.1:${httpPort}`,
    '--cache2',
    `name=routes,items=${ITEMS},blocksize=512,udp=127.0.0.1:${udpPort}`,
    '--add-cache-item',
    `routes ${KEY}=${node.address}`,
    '--http-use-cache=routes',
    '--stats',
    `127.0.0.1:${statsPort}`,
  ]);
  const url = `http://127.0.0.1:${httpPort}/`;
  const sync = async () => (await readStatsJson<CacheFloodStats>(statsPort)).caches[0];
  const before = (await sync()).uwrouter.sync;
  const rssBefore = vmRssBytes(router.pid);

  const valid = packet({ op: 'set', key: Buffer.from('k'), value: Buffer.from('127.0.0.1:1'), expires: 0 });
  const categories: FloodCategory[] = [
    { count: 20000, make: () => randomBytes(randomInt(0, 300)) },
    { count: 15000, make: () => valid.subarray(0, randomInt(0, valid.length - 1)) },
    {
      count: 10000,
      make: () => {
        const b = Buffer.from(valid);
        b.writeUInt16LE(randomInt(0, 0xffff), 1);
        return b;
      },
    },
    // a 60000-byte datagram now and then, and values past the blocksize
    {
      count: 5000,
      make: () =>
        randomInt(10) === 0
          ? randomBytes(60000)
          : packet({ op: 'set', key: randomBytes(8), value: randomBytes(600), expires: 0 }),
    },
    // valid sets of new keys: the first ~1000 fill the cache, the rest find it full
    {
      count: 40000,
      make: () => packet({ op: 'set', key: randomBytes(16), value: Buffer.from('127.0.0.1:1'), expires: 0 }),
    },
    { count: 10000, make: () => packet({ op: 'delete', key: randomBytes(16) }) },
  ];
  const total = categories.reduce((a, c) => a + c.count, 0);
  assert.equal(total, FLOOD_DATAGRAMS);

  const trickle = startRequestTrickle(url, KEY, 'flood-node');
  let rssMid = 0;
  const floodMs = await sendPacedFlood({
    port: udpPort,
    categories,
    readReceived: async () => (await sync()).uwrouter.sync.received - before.received,
    atHalf: () => {
      rssMid = vmRssBytes(router.pid);
    },
  });
  let last = -1;
  let after = await sync();
  while (after.uwrouter.sync.received !== last) {
    last = after.uwrouter.sync.received;
    await sleep(200);
    after = await sync();
  }
  const { requests, failures } = await trickle.stop();
  const rssAfter = vmRssBytes(router.pid);
  const routerRunning = router.isRunning();
  await router.stop();
  await node.stop();
  const info = JSON.stringify({
    floodMs,
    received: after.uwrouter.sync.received - before.received,
    requests,
    rssBefore,
    rssMid,
    rssAfter,
  });
  process.stderr.write(`# cache flood: ${info}\n`);
  return {
    routerRunning,
    before,
    after: after.uwrouter.sync,
    items: after.items,
    requests,
    failures,
    rssBefore,
    rssMid,
    rssAfter,
    info,
  };
}
