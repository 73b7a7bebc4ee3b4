/**
 * Issue item 6 — a burst of announcements for thousands of new keys (a fleet restart, a
 * router restart with 20,000 nodes re-announcing): every key must become known. The kernel
 * drops what does not fit the socket's receive buffer, and each lost announcement leaves its
 * key unknown until the node's next announce (10 s later). Run against the real CLI, whose
 * log lines go to a pipe the test process reads only when it is not busy sending.
 * (How fast they all land is measured in test/load/, not here.)
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import { freePort, readStatsJson, startUwrouter } from './harness/index.ts';

interface Stats {
  subscriptions: Array<{ key: string }>;
  subscription_packets: { datagrams: number; accepted: Record<string, number>; kernel_drops?: number };
}

function announce(i: number): Buffer {
  const r = encodeSubscription('subscribe', {
    key: `k${i}.burst.test`,
    address: `127.0.0.1:${20000 + (i % 10000)}`,
    cores: 4,
  });
  if (!r.ok) throw new Error('encode');
  return r.packet;
}

/** Sends the packets in groups of `group` as fast as the socket takes them, `gapMs` apart. */
async function burst(udp: Socket, packets: Buffer[], group: number, gapMs: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < packets.length; i += group) {
    if (i > 0) await sleep(gapMs);
    const part = packets.slice(i, i + group);
    let pending = part.length;
    await new Promise<void>((resolve) => {
      for (const p of part) {
        udp.send(p, () => {
          if (--pending === 0) resolve();
        });
      }
    });
  }
  return Date.now() - t0;
}

/** The stats after the router stopped counting new datagrams for a while. */
async function settled(statsPort: number, quietMs = 1500, maxMs = 30000): Promise<Stats> {
  const end = Date.now() + maxMs;
  let s = await readStatsJson<Stats>(statsPort, 20000);
  let since = Date.now();
  for (;;) {
    await sleep(200);
    const next = await readStatsJson<Stats>(statsPort, 20000);
    if (next.subscription_packets.datagrams !== s.subscription_packets.datagrams) since = Date.now();
    s = next;
    if (Date.now() - since >= quietMs || Date.now() > end) return s;
  }
}

// 2,000 at once (within ~30 ms; they fit a 4 MiB buffer even if nothing read them), 20,000
// as 20 bursts of 1,000 within ~0.5 s (twice what the kernel queues at 832 bytes a datagram:
// the router must read while they come). The load lane sends 20,000 at full speed.
const BURSTS: Array<[number, number, number]> = [
  [2000, 2000, 0],
  [20000, 1000, 25],
];

for (const [n, group, gapMs] of BURSTS) {
  test(`a burst of ${n} announcements for new keys: every key becomes known`, {
    timeout: 90000,
  }, async () => {
    const [port, subPort, statsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const router = await startUwrouter(
      [
        '--http',
        `127.0.0.1:${port}`,
        '--http-subscription-server',
        `127.0.0.1:${subPort}`,
        '--http-stats',
        `127.0.0.1:${statsPort}`,
      ],
      // the HTTP listener is up before the subscription server: wait for the latter
      { readyPattern: /subscription server bound on/ },
    );
    const packets = Array.from({ length: n }, (_, i) => announce(i));
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.connect(subPort, '127.0.0.1', r));
    const sendMs = await burst(udp, packets, group, gapMs);
    udp.close();
    const s = await settled(statsPort);
    const known = new Set(s.subscriptions.map((p) => p.key));
    const missing = packets.length - packets.filter((_, i) => known.has(`k${i}.burst.test`)).length;
    const info = `sent ${n} in ${sendMs} ms; datagrams read ${s.subscription_packets.datagrams}, new pools ${s.subscription_packets.accepted['new-pool']}, kernel drops ${s.subscription_packets.kernel_drops}`;
    process.stderr.write(`# burst: ${info}\n`);
    assert.equal(missing, 0, `${missing} keys unknown: ${info}`);
    assert.equal(s.subscription_packets.accepted['new-pool'], n, info);
    // the log is not one line per new key (the burst is summarised), and says what happened
    const newPoolLines = router.logs().match(/new pool: k\d+\.burst\.test/g)?.length ?? 0;
    assert.ok(newPoolLines < 100, `${newPoolLines} "new pool" lines for ${n} keys`);
    assert.match(router.logs(), /more new pools/);
    await router.stop();
  });
}
