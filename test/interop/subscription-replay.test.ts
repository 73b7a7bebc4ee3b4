/**
 * Issue item 0c with a real signed uWSGI node (SHA256, --subscribe2 sign=): its datagrams
 * pass through a relay that keeps copies. Every packet the node sends is accepted — the
 * announces, its unsubscribe on SIGINT, and those of the node restarted at once on the same
 * address — while the captured copies replayed by an attacker are refused: the announce
 * after the unsubscribe, the old unsubscribe after the restart, an announce with byte 3
 * flipped into an unsubscribe.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  REPO_ROOT,
  readStatsJson,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
} from './harness/index.ts';

const KEYS = resolve(REPO_ROOT, 'test/fixtures/keys');
const KEY = 'replay.example.com';

interface Stats {
  subscriptions: Array<{ key: string; nodes: Array<{ name: string }> }>;
  subscription_packets: {
    datagrams: number;
    accepted: Record<string, number>;
    rejected: Record<string, number>;
  };
}

const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.close();
});

/** A UDP relay to the router's subscription server that keeps every datagram. */
async function relay(to: number): Promise<{ port: number; seen: Buffer[] }> {
  const seen: Buffer[] = [];
  const s = createSocket('udp4');
  sockets.push(s);
  s.on('message', (m) => {
    seen.push(Buffer.from(m));
    s.send(m, to, '127.0.0.1');
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, seen };
}

test('a real signed node: all its packets pass, captured copies replayed do not', {
  timeout: 90000,
}, async () => {
  const dir = tmpDir('replay-keys');
  copyFileSync(join(KEYS, 'public.pem'), join(dir, `${KEY}.pem`));
  const [port, subPort, statsPort, nodePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const router = await startUwrouter([
    '--http',
    `127.0.0.1:${port}`,
    '--http-subscription-server',
    `127.0.0.1:${subPort}`,
    '--http-stats',
    `127.0.0.1:${statsPort}`,
    '--subscriptions-sign-check',
    `SHA256:${dir}`,
  ]);
  const r = await relay(subPort);
  const stats = () => readStatsJson<Stats>(statsPort);
  const nodesOfKey = async () =>
    (await stats()).subscriptions.find((p) => p.key === KEY)?.nodes.map((n) => n.name) ?? [];
  const routed = async (name: string) =>
    pollUntil(`${name} routable`, async () => {
      const res = await httpGet(`http://127.0.0.1:${port}/`, { headers: { host: KEY } });
      return res.text === name ? true : undefined;
    });
  const nodeArgs = [
    '--subscribe2',
    `server=127.0.0.1:${r.port},key=${KEY},sign=SHA256:${join(KEYS, 'private.pem')}`,
  ];
  const inject = async (b: Buffer, expect: string) => {
    const before = await stats();
    const u = createSocket('udp4');
    sockets.push(u);
    u.send(b, subPort, '127.0.0.1');
    const after = await pollUntil('injected datagram read', async () => {
      const s = await stats();
      return s.subscription_packets.datagrams > before.subscription_packets.datagrams ? s : undefined;
    });
    const grew = (o: Record<string, number>, p: Record<string, number>) =>
      Object.keys(o).filter((k) => o[k] !== p[k]);
    assert.deepEqual(
      [
        ...grew(after.subscription_packets.accepted, before.subscription_packets.accepted),
        ...grew(after.subscription_packets.rejected, before.subscription_packets.rejected),
      ],
      [expect],
    );
  };

  // 1. the node announces (twice at start), is routed; SIGINT sends its unsubscribe
  const a = await startUwsgiNode({ app: 'whoami.py', name: 'first', port: nodePort, args: nodeArgs });
  await routed('first');
  await sleep(1200); // its second announce (+1 s)
  await a.stop();
  await pollUntil('first unsubscribed', async () => ((await nodesOfKey()).length === 0 ? true : undefined));
  const firstRun = r.seen.splice(0).map((b) => ({ b, p: decodeSubscription(b)! }));
  const announces = firstRun.filter((x) => x.p.cmd === 'subscribe');
  const unsubscribe = firstRun.find((x) => x.p.cmd === 'unsubscribe');
  assert.ok(announces.length >= 2 && unsubscribe, `captured: ${firstRun.map((x) => x.p.cmd)}`);

  // 2. a captured announce does not bring the node back
  await inject(announces.at(-1)!.b, 'replay');
  assert.deepEqual(await nodesOfKey(), []);

  // 3. the node restarted at once on the same address is accepted (its first announce
  //    usually carries the unix of the first run's unsubscribe: observed in every run here)
  const b = await startUwsgiNode({ app: 'whoami.py', name: 'second', port: nodePort, args: nodeArgs });
  await routed('second');
  assert.deepEqual(await nodesOfKey(), [`127.0.0.1:${nodePort}`]);

  // 4. the first run's unsubscribe replayed does not remove it
  await inject(unsubscribe.b, 'replay');
  // 5. neither does its latest announce with byte 3 flipped (the header is not signed)
  await sleep(200);
  const latest = r.seen.filter((x) => decodeSubscription(x)!.cmd === 'subscribe').at(-1)!;
  const flipped = Buffer.from(latest);
  flipped[3] = 1;
  await inject(flipped, 'replay');
  assert.deepEqual(await nodesOfKey(), [`127.0.0.1:${nodePort}`]);
  assert.equal((await httpGet(`http://127.0.0.1:${port}/`, { headers: { host: KEY } })).text, 'second');

  // 6. the restarted node's own unsubscribe is accepted. Nothing it sent was refused, except
  //    what is byte for byte a packet accepted before: restarted within the same second as
  //    the first run's last announce, its first announce IS that announce (same fields, same
  //    unix, deterministic signature), which is refused as a replay; its next one (+1 s) passes.
  await b.stop();
  await pollUntil('second unsubscribed', async () => ((await nodesOfKey()).length === 0 ? true : undefined));
  const firstBytes = new Set(firstRun.map((x) => x.b.toString('hex')));
  const identical = r.seen.filter((x) => firstBytes.has(x.toString('hex'))).length;
  const s = await stats();
  assert.equal(
    s.subscription_packets.rejected.replay,
    3 + identical,
    'the three injected copies (+ identical ones)',
  );
  assert.equal(s.subscription_packets.accepted.unsubscribe, 2);
  assert.equal(s.subscription_packets.rejected['bad-signature'], 0);
  await router.stop();
});
