/**
 * The parts of a UDP flood scenario (test/interop/cache-flood.ts) that are not about what is
 * flooded: the router's RSS from /proc, a steady trickle of requests that must all be answered
 * while the flood runs, and the flood itself — categories of datagrams interleaved, at most 300
 * in flight, paced on what the router has read so the kernel keeps (nearly) all of them.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet } from './http-client.ts';

/** The resident set size of process `pid`, in bytes. */
export function vmRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  assert.ok(m, 'VmRSS in /proc');
  return Number(m[1]) * 1024;
}

export interface RequestTrickle {
  /** stops after the request under way (and at least 50 in all); what was asked and what failed */
  stop(): Promise<{ requests: number; failures: string[] }>;
}

/**
 * GETs `url` with `Host: host` one after another, 5 ms apart (a trickle, not a benchmark:
 * the flood is what should hurt); every answer that is not a 200 with body `expect` is a
 * failure.
 */
export function startRequestTrickle(url: string, host: string, expect: string): RequestTrickle {
  let running = true;
  let requests = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running || requests < 50) {
      const res = await httpGet(url, { headers: { host }, timeoutMs: 5000 }).catch((e: Error) => ({
        status: 0,
        text: e.message,
      }));
      requests++;
      if (res.status !== 200 || res.text !== expect) failures.push(`${res.status} ${res.text.slice(0, 80)}`);
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { requests, failures };
    },
  };
}

export interface FloodCategory {
  count: number;
  /** the datagram to send; `i`: how many were sent before it */
  make: (i: number) => Buffer;
}

export interface PacedFlood {
  /** the UDP port on 127.0.0.1 flooded */
  port: number;
  categories: readonly FloodCategory[];
  /** datagrams the router has read since the flood began (from its stats) */
  readReceived: () => Promise<number>;
  /** called once, when half the datagrams are sent */
  atHalf?: () => void;
}

/** Sends every category's datagrams, interleaved; returns how long it took (ms). */
export async function sendPacedFlood(f: PacedFlood): Promise<number> {
  const total = f.categories.reduce((a, c) => a + c.count, 0);
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.connect(f.port, '127.0.0.1', r));
  const left = f.categories.map((c) => c.count);
  let sent = 0;
  let halfDone = false;
  const t0 = Date.now();
  while (sent < total) {
    const batch: Promise<void>[] = [];
    for (let j = 0; j < 300 && sent < total; j++) {
      let ci = sent % f.categories.length;
      while (left[ci] === 0) ci = (ci + 1) % f.categories.length;
      left[ci]!--;
      const b = f.categories[ci]!.make(sent);
      batch.push(new Promise<void>((r) => udp.send(b, () => r())));
      sent++;
    }
    await Promise.all(batch);
    if (!halfDone && sent >= total / 2) {
      halfDone = true;
      f.atHalf?.();
    }
    // pace: a socket buffer holds only a few hundred small datagrams, so wait until the
    // router has read nearly all; go on if it stops advancing for 50 ms (what is left was
    // dropped by the kernel)
    let seen = -1;
    let still = 0;
    for (;;) {
      const got = await f.readReceived();
      if (got >= sent - 50) break;
      still = got === seen ? still + 1 : 0;
      if (still >= 10) break;
      seen = got;
      await sleep(5);
    }
  }
  udp.close();
  return Date.now() - t0;
}
