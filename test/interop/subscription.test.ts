/**
 * Issue 3 — subscriptions with real uWSGI nodes (spec: subscription.md): nginx → uwrouter
 * fastrouter routes by key to nodes that announce themselves with `--subscribe-to` /
 * `--subscribe2` (unsigned, SHA1- and SHA256-signed); load sharing, SIGINT unsubscribe,
 * SIGKILL (retry, then the node leaves), tolerance expiry, a wrong key cannot join; the real
 * uWSGI fastrouter accepts uwrouter's own signed announcements; the programmatic
 * `subscribe()` announces a uWSGI node.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { subscribe } from '../../src/subscription/index.ts';
import {
  freePort,
  httpGet,
  nginxUwsgiPassConf,
  parseRawHttpResponse,
  pollUntil,
  REPO_ROOT,
  rawRequest,
  readStatsJson,
  type ServerHandle,
  startNginx,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
  tmpDir,
  uwsgiGet,
} from './harness/index.ts';

const KEYS = resolve(REPO_ROOT, 'test/fixtures/keys');
const PRIVATE = join(KEYS, 'private.pem');
const PUBLIC = join(KEYS, 'public.pem');

interface NodeStats {
  name: string;
  weight: number;
  modifier1: number;
  death_mark: number;
}
interface RouterStats {
  subscriptions?: Array<{ key: string; nodes: NodeStats[] }>;
  subscription_packets?: { rejected: Record<string, number>; accepted: Record<string, number> };
}

/** Addresses of the live nodes of `key` in a router's stats. */
async function poolNodes(statsPort: number, key: string): Promise<string[]> {
  const s = await readStatsJson<RouterStats>(statsPort);
  const pool = s.subscriptions?.find((p) => p.key === key);
  return (pool?.nodes ?? []).filter((n) => n.death_mark === 0).map((n) => n.name);
}

/** A directory holding `<key>.pem` = the fixture public key for each key. */
function signDir(keys: string[]): string {
  const dir = tmpDir('sign-keys');
  for (const k of keys) copyFileSync(PUBLIC, join(dir, `${k}.pem`));
  return dir;
}

interface Routed {
  statsPort: number;
  subPort: number;
  router: ServerHandle;
  /** nginx in front */
  url: string;
}

/** uwrouter fastrouter with a subscription server and stats, and nginx in front of it. */
async function routerWithNginx(extra: string[]): Promise<Routed> {
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
    ...extra,
  ]);
  const conf = nginxUwsgiPassConf(nginxPort, router.address);
  await startNginx(conf);
  return { statsPort, subPort, router, url: `http://127.0.0.1:${nginxPort}/` };
}

async function get(r: Routed, host: string): Promise<{ status: number; text: string }> {
  const res = await httpGet(r.url, { headers: { host } });
  return { status: res.status, text: res.text };
}

/** Poll until a request for `host` is answered by `name`; returns the ms it took. */
async function untilRouted(r: Routed, host: string, name: string, ms = 5000): Promise<number> {
  const t0 = Date.now();
  await pollUntil(
    `${host} → ${name}`,
    async () => {
      const res = await get(r, host);
      return res.status === 200 && res.text === name ? true : undefined;
    },
    { timeoutMs: ms },
  );
  return Date.now() - t0;
}

describe('subscriptions: real uWSGI nodes → uwrouter fastrouter, nginx in front', () => {
  let plain: Routed;
  let sha1: Routed;
  let sha256: Routed;
  let wrongKey = '';

  before(async () => {
    const dir1 = signDir(['test.example.com']);
    const dir256 = signDir(['sig.example.com', 'fresh.example.com']);
    const kp = generateKeyPairSync('rsa', { modulusLength: 2048 });
    wrongKey = join(tmpDir('wrong-key'), 'wrong.pem');
    writeFileSync(wrongKey, kp.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    [plain, sha1, sha256] = await Promise.all([
      routerWithNginx(['--subscription-tolerance', '3']),
      routerWithNginx(['--subscriptions-sign-check', `SHA1:${dir1}`]),
      routerWithNginx(['--subscriptions-sign-check', `SHA256:${dir256}`]),
    ]);
  });

  const subscribeTo = (r: Routed, key: string, suffix = '') => [
    '--subscribe-to',
    `127.0.0.1:${r.subPort}:${key}${suffix}`,
    '--subscribe-freq',
    '1',
  ];

  test('--subscribe-to: routable within a second; a second node on the key shares the load; SIGINT removes it', async () => {
    const unknown = await get(plain, 'example.com');
    assert.equal(unknown.status, 502, 'no node yet: the router closes, nginx says 502');

    const a = await startUwsgiNode({
      app: 'whoami.py',
      name: 'sub-a',
      args: subscribeTo(plain, 'example.com'),
    });
    const took = await untilRouted(plain, 'example.com', 'sub-a', 3000);
    assert.ok(took < 1000, `routable after ${took} ms`);

    const b = await startUwsgiNode({
      app: 'whoami.py',
      name: 'sub-b',
      args: subscribeTo(plain, 'example.com'),
    });
    await untilRouted(plain, 'example.com', 'sub-b', 3000);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await get(plain, 'example.com');
      assert.equal(res.status, 200);
      seen.add(res.text);
    }
    assert.deepEqual([...seen].sort(), ['sub-a', 'sub-b']);
    assert.deepEqual((await poolNodes(plain.statsPort, 'example.com')).sort(), [a.address, b.address].sort());

    const t0 = Date.now();
    const stopping = b.stop(); // SIGINT: the node sends its unsubscribe packet
    await pollUntil('b gone from stats', async () =>
      (await poolNodes(plain.statsPort, 'example.com')).includes(b.address) ? undefined : true,
    );
    assert.ok(Date.now() - t0 < 1000, `removed after ${Date.now() - t0} ms`);
    await stopping;
    assert.match(plain.router.logs(), new RegExp(`example\\.com => marking ${b.address} as failed`));
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await get(plain, 'example.com'), { status: 200, text: 'sub-a' });
  });

  test('SIGKILL on a node: requests keep succeeding on the other one, the dead node leaves the pool', async () => {
    const [a, b] = await Promise.all([
      startUwsgiNode({ app: 'whoami.py', name: 'kill-a', args: subscribeTo(plain, 'kill.example.com') }),
      startUwsgiNode({ app: 'whoami.py', name: 'kill-b', args: subscribeTo(plain, 'kill.example.com') }),
    ]);
    await untilRouted(plain, 'kill.example.com', 'kill-a');
    await untilRouted(plain, 'kill.example.com', 'kill-b');
    await b.kill();
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(await get(plain, 'kill.example.com'), { status: 200, text: 'kill-a' }, `request ${i}`);
    }
    // a failed connect marks the node at once; the tolerance (3 s) would remove it anyway
    await pollUntil(
      'kill-b gone',
      async () =>
        (await poolNodes(plain.statsPort, 'kill.example.com')).includes(b.address) ? undefined : true,
      { timeoutMs: 6000 },
    );
    assert.deepEqual(await poolNodes(plain.statsPort, 'kill.example.com'), [a.address]);
  });

  test('a SIGKILLed node nobody asks for leaves after --subscription-tolerance 3', async () => {
    const t = await startUwsgiNode({
      app: 'whoami.py',
      name: 'tol',
      args: subscribeTo(plain, 'tol.example.com'),
    });
    await untilRouted(plain, 'tol.example.com', 'tol');
    await t.kill();
    const t0 = Date.now();
    assert.deepEqual(
      await poolNodes(plain.statsPort, 'tol.example.com'),
      [t.address],
      'still there at first',
    );
    await pollUntil(
      'tol gone after the tolerance',
      async () => ((await poolNodes(plain.statsPort, 'tol.example.com')).length === 0 ? true : undefined),
      { timeoutMs: 8000 },
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1500, `gone after ${elapsed} ms, not before the tolerance`);
    assert.match(
      plain.router.logs(),
      /tol\.example\.com => marking \S+ as failed \(no announce received in 3 seconds\)/,
    );
  });

  test('--subscribe2 with weight=3 and modifier1=0: the node is routed and stats show its weight', async () => {
    const n = await startUwsgiNode({
      app: 'whoami.py',
      name: 'w3',
      args: [
        '--subscribe2',
        `server=127.0.0.1:${plain.subPort},key=w3.example.com,weight=3,modifier1=0`,
        '--subscribe-freq',
        '1',
      ],
    });
    await untilRouted(plain, 'w3.example.com', 'w3', 2000);
    const s = await readStatsJson<RouterStats>(plain.statsPort);
    const node = s.subscriptions!.find((p) => p.key === 'w3.example.com')!.nodes[0]!;
    assert.equal(node.name, n.address);
    assert.equal(node.weight, 3);
    assert.equal(node.modifier1, 0);
  });

  test('SHA1-signed --subscribe-to is accepted by --subscriptions-sign-check SHA1:DIR', async () => {
    await startUwsgiNode({
      app: 'whoami.py',
      name: 'signed-sha1',
      args: ['--subscribe-to', `127.0.0.1:${sha1.subPort}:test.example.com,0,SHA1:${PRIVATE}`],
    });
    const took = await untilRouted(sha1, 'test.example.com', 'signed-sha1', 3000);
    assert.ok(took < 1000, `routable after ${took} ms`);
    const s = await readStatsJson<RouterStats>(sha1.statsPort);
    assert.equal(s.subscription_packets!.rejected['bad-signature'], 0);
  });

  test('SHA256-signed --subscribe2 is accepted; a node signing with another key cannot join', async () => {
    const good = await startUwsgiNode({
      app: 'whoami.py',
      name: 'signed-256',
      args: ['--subscribe2', `server=127.0.0.1:${sha256.subPort},key=sig.example.com,sign=SHA256:${PRIVATE}`],
    });
    await untilRouted(sha256, 'sig.example.com', 'signed-256', 2000);
    const intruders = await Promise.all([
      // an existing pool and a pool that does not exist yet (its public key is in DIR)
      startUwsgiNode({
        app: 'whoami.py',
        name: 'intruder',
        args: [
          '--subscribe2',
          `server=127.0.0.1:${sha256.subPort},key=sig.example.com,sign=SHA256:${wrongKey}`,
        ],
      }),
      startUwsgiNode({
        app: 'whoami.py',
        name: 'intruder-fresh',
        args: [
          '--subscribe2',
          `server=127.0.0.1:${sha256.subPort},key=fresh.example.com,sign=SHA256:${wrongKey}`,
        ],
      }),
    ]);
    // both intruders announce twice at start (0 s, 1 s)
    await pollUntil('4 bad signatures counted', async () => {
      const s = await readStatsJson<RouterStats>(sha256.statsPort);
      return s.subscription_packets!.rejected['bad-signature']! >= 4 ? true : undefined;
    });
    assert.deepEqual(await poolNodes(sha256.statsPort, 'sig.example.com'), [good.address]);
    assert.deepEqual(await poolNodes(sha256.statsPort, 'fresh.example.com'), []);
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(await get(sha256, 'sig.example.com'), { status: 200, text: 'signed-256' });
    }
    assert.equal((await get(sha256, 'fresh.example.com')).status, 502);
    for (const n of intruders) assert.ok(n.isRunning());
  });

  test('the real uWSGI fastrouter accepts uwrouter’s signed --subscribe2 (and refuses a wrong key)', async () => {
    const node = await startUwsgiNode({ app: 'whoami.py', name: 'fed-node' });
    const dir = signDir(['fed.example.com', 'fed-wrong.example.com']);
    const [frPort, subPort, dummyPort, dummyPort2] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const uwsgiFr = await startUwsgiRouter('fastrouter', [
      '--fastrouter',
      `127.0.0.1:${frPort}`,
      '--fastrouter-subscription-server',
      `127.0.0.1:${subPort}`,
      '--subscriptions-sign-check',
      `SHA256:${dir}`,
    ]);
    // uwrouter only announces here: its own fastrouter listener is never used
    await Promise.all([
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${dummyPort}`,
        '--fastrouter-to',
        node.address,
        '--subscribe2',
        `server=127.0.0.1:${subPort},key=fed.example.com,addr=${node.address},sign=SHA256:${PRIVATE}`,
      ]),
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${dummyPort2}`,
        '--fastrouter-to',
        node.address,
        '--subscribe2',
        `server=127.0.0.1:${subPort},key=fed-wrong.example.com,addr=${node.address},sign=SHA256:${wrongKey}`,
      ]),
    ]);
    const request = (host: string) => uwsgiGet(host);
    const res = await pollUntil(
      'fed.example.com routed by uWSGI',
      async () => {
        const r = parseRawHttpResponse(
          await rawRequest(uwsgiFr.port!, request('fed.example.com'), { timeoutMs: 3000 }),
        );
        return r?.status === 200 ? r : undefined;
      },
      { timeoutMs: 3000 },
    );
    assert.equal(res.body.toString(), 'fed-node');
    assert.match(uwsgiFr.logs(), new RegExp(`fed\\.example\\.com => new node: ${node.address}`));
    // the same announcement signed with another key is refused by uWSGI: the check is real
    await sleep(1200); // uwrouter announces at 0 s and 1 s
    assert.equal(
      (await rawRequest(uwsgiFr.port!, request('fed-wrong.example.com'), { timeoutMs: 3000 })).length,
      0,
    );
    assert.doesNotMatch(uwsgiFr.logs(), /fed-wrong\.example\.com => new node/);
  });

  test('programmatic subscribe() announces a uWSGI node; stop() unsubscribes it', async () => {
    const node = await startUwsgiNode({ app: 'whoami.py', name: 'api-node' });
    const sub = subscribe({
      server: `127.0.0.1:${plain.subPort}`,
      key: 'api.example.com',
      address: node.address,
      freq: 1,
    });
    try {
      const took = await untilRouted(plain, 'api.example.com', 'api-node', 3000);
      assert.ok(took < 1000, `routable after ${took} ms`);
    } finally {
      await sub.stop();
    }
    await pollUntil(
      'api node gone',
      async () => ((await poolNodes(plain.statsPort, 'api.example.com')).length === 0 ? true : undefined),
      { timeoutMs: 1000 },
    );
    assert.equal((await get(plain, 'api.example.com')).status, 502);
  });

  test('the routers are still up and counted no bad packet from real nodes', async () => {
    for (const r of [plain, sha1]) {
      assert.ok(r.router.isRunning());
      const s = await readStatsJson<RouterStats>(r.statsPort);
      const rejected = Object.values(s.subscription_packets!.rejected).reduce((a, b) => a + b, 0);
      assert.equal(rejected, 0, JSON.stringify(s.subscription_packets));
    }
    assert.ok(sha256.router.isRunning());
  });
});
