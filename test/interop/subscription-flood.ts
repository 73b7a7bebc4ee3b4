/**
 * The subscription flood scenario, run by the functional test (subscription-flood.test.ts:
 * routing goes on, every packet counted by reason) and by the load lane
 * (test/load/subscription-flood.load.test.ts: memory bounded): 100k bad datagrams at a
 * signed subscription server (spec: subscription.md §2, §4) while nginx → uwrouter
 * fastrouter keeps routing a key a real uWSGI node subscribed with a SHA256 signature.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, randomInt, sign } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  childPids,
  freePort,
  httpGet,
  nginxUwsgiPassConf,
  REPO_ROOT,
  readStatsJson,
  startNginx,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
} from './harness/index.ts';

const KEYS = resolve(REPO_ROOT, 'test/fixtures/keys');
const PRIVATE = join(KEYS, 'private.pem');
export const KEY = 'flood.example.com';
/** the real node's `--subscribe-freq`: it refreshes its subscription every this many seconds */
export const NODE_SUBSCRIBE_FREQ_S = 2;

export interface Stats {
  subscriptions: Array<{ key: string; nodes: Array<{ name: string }> }>;
  subscription_packets: {
    datagrams: number;
    rejected: Record<string, number>;
    accepted: Record<string, number>;
  };
}

/** The router's resident memory: the primary (which holds the table) and its workers (replicas). */
function vmRssBytes(pid: number): number {
  let bytes = 0;
  for (const p of [pid, ...childPids(pid)]) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'latin1'));
    assert.ok(m, 'VmRSS in /proc');
    bytes += Number(m[1]) * 1024;
  }
  return bytes;
}

function entry(k: string, v: Buffer | string): Buffer {
  const kb = Buffer.from(k, 'latin1');
  const vb = typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
  const out = Buffer.alloc(4 + kb.length + vb.length);
  out.writeUInt16LE(kb.length, 0);
  kb.copy(out, 2);
  out.writeUInt16LE(vb.length, 2 + kb.length);
  vb.copy(out, 4 + kb.length);
  return out;
}

/** A subscription datagram as a 2.0 node builds it, signed over the vars when `signUnix` is given. */
function subscriptionPacket(address: string, cmd: 0 | 1, signUnix?: number, key = KEY): Buffer {
  const vars = [
    entry('key', key),
    entry('address', address),
    entry('modifier1', '0'),
    entry('modifier2', '0'),
    entry('cores', '1'),
    entry('load', '0'),
    entry('weight', '0'),
  ];
  if (signUnix !== undefined) {
    vars.push(entry('unix', String(signUnix + cmd)));
    const base = Buffer.concat(vars);
    vars.push(entry('sign', sign('sha256', base, createPrivateKey(readFileSync(PRIVATE)))));
  }
  const body = Buffer.concat(vars);
  const head = Buffer.from([224, 0, 0, cmd]);
  head.writeUInt16LE(Math.min(body.length, 0xffff), 1);
  return Buffer.concat([head, body]);
}

/** 100k datagrams, and what the flood did to the router. */
export const FLOOD_DATAGRAMS = 100_000;

export interface FloodRun {
  /** the real node's address (the one node of KEY) */
  nodeAddress: string;
  routerRunning: boolean;
  /** stats before and after the flood, and the ms between the two reads */
  before: Stats;
  after: Stats;
  windowMs: number;
  /** requests through nginx during the flood, and those not answered by the node */
  requests: number;
  failures: string[];
  /** router VmRSS before, at half the flood, after */
  rssBefore: number;
  rssMid: number;
  rssAfter: number;
  /** one line with the figures, for assertion messages */
  info: string;
}

export async function runSubscriptionFlood(): Promise<FloodRun> {
  const dir = tmpDir('flood-keys');
  copyFileSync(join(KEYS, 'public.pem'), join(dir, `${KEY}.pem`));
  const [port, subPort, statsPort, nginxPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const router = await startUwrouter([
    '--fastrouter',
    `127.0.0.1:${port}`,
    '--fastrouter-subscription-server',
    `127.0.0.1:${subPort}`,
    '--fastrouter-stats',
    `127.0.0.1:${statsPort}`,
    '--subscriptions-sign-check',
    `SHA256:${dir}`,
  ]);
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'flood-node',
    args: [
      '--subscribe2',
      `server=127.0.0.1:${subPort},key=${KEY},sign=SHA256:${PRIVATE}`,
      '--subscribe-freq',
      String(NODE_SUBSCRIBE_FREQ_S),
    ],
  });
  const nginx = await startNginx(nginxUwsgiPassConf(nginxPort, router.address));
  const url = `http://127.0.0.1:${nginx.port}/`;
  const deadline = Date.now() + 5000;
  while ((await httpGet(url, { headers: { host: KEY } })).text !== 'flood-node') {
    assert.ok(Date.now() < deadline, 'the signed node became routable');
    await sleep(20);
  }
  const windowStart = Date.now();
  const before = await readStatsJson<Stats>(statsPort);
  const rssBefore = vmRssBytes(router.pid);

  // the packets: templates built once, mutated cheaply
  const now = Math.floor(Date.now() / 1000);
  const valid = subscriptionPacket('127.0.0.1:1', 0, now); // a new node, correctly signed
  const replay = subscriptionPacket(node.address, 0, now - 3600); // the real node, older than its creation
  const unsignedSub = subscriptionPacket('127.0.0.1:2', 0);
  const unsignedUnsub = subscriptionPacket(node.address, 1); // would remove the real node if accepted
  const badSig = Buffer.from(valid);
  badSig[badSig.length - 10]! ^= 0xff;
  const categories: Array<{ name: string; count: number; make: (i: number) => Buffer; reasons: string[] }> = [
    { name: 'random', count: 30000, make: () => randomBytes(randomInt(0, 700)), reasons: [] },
    {
      name: 'truncated',
      count: 15000,
      make: () => valid.subarray(0, randomInt(0, valid.length - 1)),
      reasons: [],
    },
    {
      name: 'huge',
      count: 5000,
      make: (i) => {
        if (i % 10 === 0) return randomBytes(60000); // over the 4096-byte receive buffer
        const b = Buffer.from(unsignedSub);
        b.writeUInt16LE(0xffff, 1); // announces 65535 bytes of vars
        return b;
      },
      reasons: [],
    },
    { name: 'bad-signature', count: 20000, make: () => badSig, reasons: ['bad-signature'] },
    { name: 'replay', count: 15000, make: () => replay, reasons: ['replay'] },
    { name: 'unsigned', count: 10000, make: () => unsignedSub, reasons: ['unsigned'] },
    { name: 'unsigned-unsubscribe', count: 5000, make: () => unsignedUnsub, reasons: ['unsigned'] },
  ];
  const total = categories.reduce((a, c) => a + c.count, 0);
  assert.equal(total, FLOOD_DATAGRAMS);

  // requests through nginx while the flood runs: sequential, every one must be answered
  let flooding = true;
  let requests = 0;
  const failures: string[] = [];
  const requestLoop = (async () => {
    while (flooding || requests < 50) {
      const res = await httpGet(url, { headers: { host: KEY }, timeoutMs: 5000 }).catch((e: Error) => ({
        status: 0,
        text: e.message,
      }));
      requests++;
      if (res.status !== 200 || res.text !== 'flood-node')
        failures.push(`${res.status} ${res.text.slice(0, 80)}`);
      await sleep(5); // a steady trickle, not a benchmark: the flood is what should hurt
    }
  })();

  // the flood: interleaved categories, bounded in flight, paced so the kernel keeps (nearly) all
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.connect(subPort, '127.0.0.1', r));
  const sendOne = (b: Buffer) =>
    new Promise<void>((r) => {
      udp.send(b, () => r());
    });
  const left = categories.map((c) => c.count);
  let sent = 0;
  let rssMid = 0;
  const t0 = Date.now();
  while (sent < total) {
    const batch: Promise<void>[] = [];
    for (let j = 0; j < 300 && sent < total; j++) {
      let ci = sent % categories.length;
      while (left[ci] === 0) ci = (ci + 1) % categories.length;
      left[ci]!--;
      batch.push(sendOne(categories[ci]!.make(sent)));
      sent++;
    }
    await Promise.all(batch);
    if (rssMid === 0 && sent >= total / 2) rssMid = vmRssBytes(router.pid);
    // pace: a socket buffer holds only a few hundred small datagrams (and four 60000-byte
    // ones), so wait until the router has read nearly all; go on if it stops advancing for
    // 50 ms (what is left was dropped by the kernel)
    let seen = -1;
    let still = 0;
    for (;;) {
      const got =
        (await readStatsJson<Stats>(statsPort)).subscription_packets.datagrams -
        before.subscription_packets.datagrams;
      if (got >= sent - 50) break;
      still = got === seen ? still + 1 : 0;
      if (still >= 10) break;
      seen = got;
      await sleep(5);
    }
  }
  udp.close();
  const floodMs = Date.now() - t0;
  // the router has read what the kernel kept
  let after = await readStatsJson<Stats>(statsPort);
  const settle = Date.now() + 10000;
  let last = -1;
  while (after.subscription_packets.datagrams !== last && Date.now() < settle) {
    last = after.subscription_packets.datagrams;
    await sleep(200);
    after = await readStatsJson<Stats>(statsPort);
  }
  const windowMs = Date.now() - windowStart;
  flooding = false;
  await requestLoop;
  const rssAfter = vmRssBytes(router.pid);

  const received = after.subscription_packets.datagrams - before.subscription_packets.datagrams;
  const info = JSON.stringify({ floodMs, windowMs, received, requests, rssBefore, rssMid, rssAfter });
  process.stderr.write(`# flood: ${info}\n`);
  return {
    nodeAddress: node.address,
    routerRunning: router.isRunning(),
    before,
    after,
    windowMs,
    requests,
    failures,
    rssBefore,
    rssMid,
    rssAfter,
    info,
  };
}
