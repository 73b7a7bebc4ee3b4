/**
 * Load lane: bad clients measured, not just survived (the functional checks are in
 * test/interop/http-bad-input.test.ts). A slowloris crowd must neither slow a normal
 * client down nor grow the router's memory; clients that do not read must not make the
 * router buffer what the node sends. Bounds and their reasons: margins.ts.
 */

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { npmStartNodeFlags } from '../../bench/lib/context.ts';
import { procRssBytes } from '../../bench/lib/proc.ts';
import { median } from '../../bench/lib/stats.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
} from '../interop/harness/index.ts';
import {
  SLOW_READERS_RSS_GROWTH_BYTES,
  SLOWLORIS_MIN_REQUESTS,
  SLOWLORIS_NORMAL_MEDIAN_MS,
  SLOWLORIS_RSS_GROWTH_BYTES,
} from './margins.ts';

interface Stats {
  active_sessions: number;
}

async function noSessions(statsPort: number): Promise<void> {
  await pollUntil(
    'active_sessions back to 0',
    async () => {
      const n = (await readStatsJson<Stats>(statsPort)).active_sessions;
      if (n !== 0) throw new Error(`active_sessions ${n}`);
      return true;
    },
    { timeoutMs: 10000, retryErrors: true, intervalMs: 50 },
  );
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const MiB = 1048576;

describe('uwrouter --http under bad-client load (measured)', () => {
  const started: ServerHandle[] = [];
  let main: ServerHandle; // → echo_vars
  let mainStats: number;
  let rEcho: ServerHandle; // → echo_body, 4 processes, npm start's memory flags

  before(async () => {
    const [vars, echo4] = await Promise.all([
      startUwsgiNode({ app: 'echo_vars.py', processes: 2 }),
      startUwsgiNode({ app: 'echo_body.py', processes: 4 }),
    ]);
    started.push(vars, echo4);
    const ports = await Promise.all(Array.from({ length: 3 }, () => freePort()));
    mainStats = ports[1]!;
    [main, rEcho] = await Promise.all([
      startUwrouter([
        '--http',
        `127.0.0.1:${ports[0]}`,
        '--http-to',
        vars.address,
        '--http-stats',
        `127.0.0.1:${mainStats}`,
      ]),
      // the memory flags npm start runs with (README "Operating it"): RSS is what it measures
      startUwrouter(['--http', `127.0.0.1:${ports[2]}`, '--http-to', echo4.address], {
        nodeArgs: npmStartNodeFlags(),
      }),
    ]);
    started.push(main, rEcho);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  test('slowloris: 300 trickling clients neither slow a normal client nor grow memory unbounded', async (t) => {
    await noSessions(mainStats);
    const rssBefore = procRssBytes(main.pid);
    const crowd: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = await openSocket(main.port!);
      s.on('error', () => undefined);
      s.write(`GET /slow/${i} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
      crowd.push(s);
    }
    const trickle = setInterval(() => {
      for (const s of crowd) if (!s.destroyed) s.write('a');
    }, 1000);
    try {
      await pollUntil(
        '300 sessions open',
        async () => ((await readStatsJson<Stats>(mainStats)).active_sessions >= 300 ? true : undefined),
        { retryErrors: true, intervalMs: 50 },
      );
      const latencies: number[] = [];
      const stopAt = Date.now() + 5000;
      while (Date.now() < stopAt) {
        const t0 = performance.now();
        const r = await httpGet(`http://127.0.0.1:${main.port}/normal`, { timeoutMs: 5000 });
        latencies.push(performance.now() - t0);
        assert.equal(r.status, 200);
        await sleep(50);
      }
      const rssDuring = procRssBytes(main.pid);
      const med = median(latencies);
      const grown = rssDuring - rssBefore;
      t.diagnostic(
        `normal client median ${med.toFixed(1)} ms over ${latencies.length} requests; ` +
          `router RSS +${(grown / MiB).toFixed(1)} MiB`,
      );
      assert.ok(
        latencies.length >= SLOWLORIS_MIN_REQUESTS,
        `only ${latencies.length} normal requests in 5 s`,
      );
      assert.ok(med < SLOWLORIS_NORMAL_MEDIAN_MS, `normal client median ${med.toFixed(1)} ms`);
      assert.ok(
        grown < SLOWLORIS_RSS_GROWTH_BYTES,
        `RSS grew by ${(grown / MiB).toFixed(1)} MiB for 300 clients`,
      );
    } finally {
      clearInterval(trickle);
      for (const s of crowd) s.destroy();
    }
    await noSessions(mainStats);
  });

  test('slow readers: 4 × 64 MB echoed to clients that do not read are not buffered in the router', async (t) => {
    // 256 MiB in flight: with backpressure the bytes wait in kernel socket buffers and the
    // router grows by its read churn only
    const size = 64 * MiB;
    const rssBefore = procRssBytes(rEcho.pid);
    const clients = await Promise.all(Array.from({ length: 4 }, () => openSocket(rEcho.port!)));
    const received = clients.map(() => 0);
    for (const [i, s] of clients.entries()) {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        received[i]! += d.length;
        s.pause();
      });
      s.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      s.write(Buffer.alloc(size, 0x62));
    }
    await pollUntil(
      'every client got its first bytes',
      () => (received.every((n) => n > 0) ? true : undefined),
      { retryErrors: true, intervalMs: 50 },
    );
    await sleep(1500); // everything that can flow has flowed
    const grown = procRssBytes(rEcho.pid) - rssBefore;
    t.diagnostic(`router RSS grew by ${(grown / MiB).toFixed(1)} MiB with 256 MiB in flight`);
    assert.ok(
      grown < SLOW_READERS_RSS_GROWTH_BYTES,
      `router RSS grew by ${(grown / MiB).toFixed(1)} MiB with 256 MiB in flight`,
    );
    // now read everything: all of it arrives
    for (const s of clients) {
      s.on('data', () => s.resume());
      s.resume();
    }
    await pollUntil('all echoes complete', () => (received.every((n) => n >= size) ? true : undefined), {
      timeoutMs: 30000,
      retryErrors: true,
      intervalMs: 50,
    });
    for (const s of clients) s.destroy();
  });
});
